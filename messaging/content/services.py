"""Message template writes, and rendering a template for one contact (the engine's entry)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import ApiKey, User, Workspace
from accounts.services import audit_record
from messaging.contacts.models import Contact
from messaging.contacts.selectors import contact_attribute_keys
from messaging.content import rendering
from messaging.content.models import MessageTemplate

TEMPLATE_FIELDS = (
    "name",
    "variants",
    "media_type",
    "media_url",
    "footer",
    "wa_template_name",
    "wa_language",
    "wa_category",
    "wa_parameters",
    "wa_status",
    "wa_rejection_reason",
)
MAX_VARIANTS = 10


def template_clean(
    *,
    workspace: Workspace,
    data: Mapping[str, Any],
    instance: MessageTemplate | None = None,
    known_attributes: set[str] | None = None,
) -> dict[str, Any]:
    """Validate template input; every problem is reported under its field, and variable
    problems name the variable."""
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    get = data.get
    fields = {k for k in TEMPLATE_FIELDS if k in data}
    if instance is None:
        fields |= {"name", "variants"}
    known = (
        known_attributes
        if known_attributes is not None
        else contact_attribute_keys(workspace=workspace, limit=1000)
    )

    if "name" in fields:
        name = str(get("name") or "").strip()
        if not name:
            errors["name"] = [_("Enter a name.")]
        else:
            taken = MessageTemplate.objects.for_workspace(workspace).filter(name__iexact=name)
            if instance is not None:
                taken = taken.exclude(pk=instance.pk)
            if taken.exists():
                errors["name"] = [_("A template with this name already exists.")]
        cleaned["name"] = name[:120]
    if "variants" in fields:
        raw = get("variants")
        variants = [raw] if isinstance(raw, str) else list(raw or [])
        variants = [str(v).strip() for v in variants if str(v).strip()]
        if not variants:
            errors["variants"] = [_("Write the message text.")]
        elif len(variants) > MAX_VARIANTS:
            errors["variants"] = [_("At most 10 variants.")]
        else:
            messages: list[str] = []
            for index, text in enumerate(variants, start=1):
                for problem in rendering.validate(text, known_attributes=known):
                    prefix = _("Variant %(n)d: ") % {"n": index} if len(variants) > 1 else ""
                    messages.append(prefix + problem.message)
            if messages:
                errors["variants"] = messages
        cleaned["variants"] = variants
    if "footer" in fields:
        footer = str(get("footer") or "").strip()
        if len(footer) > rendering.MAX_FOOTER_CHARS:
            errors["footer"] = [_("The footer is limited to 60 characters.")]
        else:
            problems = rendering.validate(footer, known_attributes=known) if footer else []
            if problems:
                errors["footer"] = [p.message for p in problems]
        cleaned["footer"] = footer
    if "media_type" in fields:
        media_type = str(get("media_type") or "")
        if media_type not in MessageTemplate.MediaType.values:
            errors["media_type"] = [_("Choose image, document or none.")]
        cleaned["media_type"] = media_type
    if "media_url" in fields:
        url = str(get("media_url") or "").strip()
        if url:
            try:
                URLValidator(schemes=["https"])(url)
            except ValidationError:
                errors["media_url"] = [_("Enter an https:// address of the file.")]
        cleaned["media_url"] = url
    media_type = cleaned.get("media_type", instance.media_type if instance else "")
    media_url = cleaned.get("media_url", instance.media_url if instance else "")
    if media_type and not media_url:
        errors.setdefault("media_url", []).append(_("Give the address of the media file."))
    for name, limit in (("wa_template_name", 512), ("wa_language", 16)):
        if name in fields:
            cleaned[name] = str(get(name) or "").strip()[:limit]
    if "wa_category" in fields:
        category = str(get("wa_category") or "")
        if category and category not in MessageTemplate.Category.values:
            errors["wa_category"] = [_("Choose marketing, utility or authentication.")]
        cleaned["wa_category"] = category
    if "wa_status" in fields:
        status = str(get("wa_status") or MessageTemplate.ApprovalStatus.NOT_SUBMITTED)
        if status not in MessageTemplate.ApprovalStatus.values:
            errors["wa_status"] = [_("Unknown approval status.")]
        cleaned["wa_status"] = status
    if "wa_rejection_reason" in fields:
        cleaned["wa_rejection_reason"] = str(get("wa_rejection_reason") or "")[:255]
    if "wa_parameters" in fields:
        params = get("wa_parameters") or []
        if isinstance(params, str):
            params = [p.strip() for p in params.split(",") if p.strip()]
        if not isinstance(params, Sequence):
            errors["wa_parameters"] = [_("List our variables in the order of {{1}}, {{2}}, ...")]
        else:
            problems = []
            for expression in params:
                problems += rendering.validate(
                    "{{" + str(expression) + "}}", known_attributes=known
                )
            if problems:
                errors["wa_parameters"] = [p.message for p in problems]
        cleaned["wa_parameters"] = [str(p) for p in params] if isinstance(params, Sequence) else []
    wa_name = cleaned.get("wa_template_name", instance.wa_template_name if instance else "")
    wa_language = cleaned.get("wa_language", instance.wa_language if instance else "")
    if wa_name and not wa_language:
        errors.setdefault("wa_language", []).append(
            _("Give the Meta template's language code, e.g. az or en_US.")
        )
    if errors:
        raise ValidationError(errors)
    return cleaned


@transaction.atomic
def template_create(
    *,
    workspace: Workspace,
    data: Mapping[str, Any],
    actor: User | None = None,
    api_key: ApiKey | None = None,
) -> MessageTemplate:
    cleaned = template_clean(workspace=workspace, data=data)
    template = MessageTemplate.objects.create(workspace=workspace, **cleaned)
    audit_record(
        workspace=workspace,
        action="template.create",
        actor=actor,
        api_key=api_key,
        target=template,
    )
    return template


@transaction.atomic
def template_update(
    *,
    workspace: Workspace,
    template: MessageTemplate,
    data: Mapping[str, Any],
    actor: User | None = None,
    api_key: ApiKey | None = None,
) -> MessageTemplate:
    """Change the given fields. Editing the text of an approved Meta mapping sends it back to
    "not submitted": what Meta approved is no longer what we would send."""
    assert template.workspace_id == workspace.pk
    cleaned = template_clean(workspace=workspace, data=data, instance=template)
    text_changed = "variants" in cleaned and cleaned["variants"] != template.variants
    for name, value in cleaned.items():
        setattr(template, name, value)
    if text_changed and template.wa_template_name and "wa_status" not in data:
        template.wa_status = MessageTemplate.ApprovalStatus.NOT_SUBMITTED
    template.updated_at = timezone.now()
    template.save()
    audit_record(
        workspace=workspace,
        action="template.update",
        actor=actor,
        api_key=api_key,
        target=template,
        details={"fields": sorted(cleaned)},
    )
    return template


@transaction.atomic
def template_delete(
    *,
    workspace: Workspace,
    template: MessageTemplate,
    actor: User | None = None,
    api_key: ApiKey | None = None,
) -> None:
    assert template.workspace_id == workspace.pk
    audit_record(
        workspace=workspace,
        action="template.delete",
        actor=actor,
        api_key=api_key,
        target=template,
    )
    template.delete()


def contact_render_values(contact: Contact) -> dict[str, str]:
    return rendering.contact_values(
        first_name=contact.first_name,
        last_name=contact.last_name,
        phone=contact.phone,
        country=contact.country,
        language=contact.language,
        attributes=contact.attributes,
    )


def template_render_for_contact(
    *,
    workspace: Workspace,
    variants: Sequence[str],
    contact: Contact | None,
    footer: str = "",
) -> rendering.Rendered:
    """What `contact` would receive (variant and alternatives seeded by the contact's id, so
    a preview matches the send). Without a contact, sample values are used."""
    if contact is not None:
        assert contact.workspace_id == workspace.pk
        values = contact_render_values(contact)
        seed = str(contact.public_id)
    else:
        values = rendering.contact_values(
            first_name=_("Aysel"), last_name=_("Məmmədova"), phone="+994501234567", country="AZ"
        )
        seed = "preview"
    rendered = rendering.render_message(variants=variants, values=values, seed=seed)
    if footer:
        rendered.footer = rendering.render(footer, values=values, seed=seed).text
    return rendered
