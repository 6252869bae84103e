"""Message template writes, and rendering a template for one contact (the engine's entry)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import connection, transaction
from django.db.models import ProtectedError
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.models import ApiKey, User, Workspace
from accounts.services import audit_record, notify
from core.asyncrun import run_sync
from messaging.campaigns.models import Campaign
from messaging.contacts.models import Contact
from messaging.contacts.selectors import contact_attribute_keys
from messaging.content import rendering, whatsapp
from messaging.content.models import MessageTemplate, WhatsAppTemplate
from messaging.content.signals import whatsapp_template_status_changed
from messaging.engine.adapters import cloud_adapter
from messaging.gateways import cloud_api
from messaging.gateways.base import TemplateEvent
from messaging.numbers.models import Sender

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


class TemplateInUse(ValidationError):
    """The template is used by campaigns (names: up to four of them)."""

    def __init__(self, names: list[str]) -> None:
        self.names = names
        super().__init__(
            _(
                "Campaigns use this template (%(names)s): it stays while they exist. Copy it "
                "to make a new version."
            )
            % {"names": ", ".join(f"“{name}”" for name in names)},
            code="in_use",
        )


@transaction.atomic
def template_delete(
    *,
    workspace: Workspace,
    template: MessageTemplate,
    actor: User | None = None,
    api_key: ApiKey | None = None,
) -> None:
    """Delete a template no campaign uses. Campaigns keep their template (what was sent must
    stay readable), so one in use is refused with the campaigns' names, not a 500."""
    assert template.workspace_id == workspace.pk
    in_use = list(template.campaigns.order_by("-created_at").values_list("name", flat=True)[:4])
    if in_use:
        raise TemplateInUse(in_use)
    audit_record(
        workspace=workspace,
        action="template.delete",
        actor=actor,
        api_key=api_key,
        target=template,
    )
    try:
        with transaction.atomic():
            template.delete()
    except ProtectedError as exc:  # a campaign chose it since the check above
        raise TemplateInUse([str(obj) for obj in list(exc.protected_objects)[:4]]) from exc


def contact_render_values(contact: Contact) -> dict[str, str]:
    return rendering.contact_values_of(contact)


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


# --- WhatsApp (Meta) templates -----------------------------------------------------------------
#
# Network calls to Meta happen outside database transactions; every write happens in one
# transaction with row locks (sync, webhook and create can meet on the same template), and each
# status change sends `whatsapp_template_status_changed` inside that transaction.

#: Campaign statuses during which a template may still be sent: deleting it is refused.
CAMPAIGN_UNFINISHED = ("scheduled", "launching", "running", "paused")
#: Status events that move a template to a status of the same name.
_STATUS_EVENTS = frozenset(WhatsAppTemplate.Status.values)
#: Status events that put a template back in service.
_REINSTATING_EVENTS = frozenset({"REINSTATED", "UNARCHIVED", "UNPAUSED"})


@dataclass(frozen=True)
class TemplateSyncResult:
    created: int
    updated: int
    removed: int  # deleted rows, or rows marked DELETED because something refers to them
    total: int  # templates Meta listed


def _templates_sender_check(*, workspace: Workspace, sender: Sender) -> None:
    if sender.workspace_id != workspace.pk or not sender.is_live:
        raise ValidationError(_("This number is not connected."))
    if sender.provider not in (Sender.Provider.CLOUD_API, Sender.Provider.SANDBOX):
        raise ValidationError(
            _("WhatsApp templates belong to Cloud API numbers; this number uses WhatsApp Web.")
        )
    if not sender.waba_id:
        raise ValidationError(_("This number has no WhatsApp Business Account id."))


def _graph_call(sender: Sender, call: Any) -> Any:
    """Run one Graph management call for `sender` (outside any transaction)."""

    async def main() -> Any:
        async with cloud_adapter(sender) as adapter:
            return await call(adapter)

    return run_sync(main)


def _graph_refusal(error: cloud_api.GraphRequestError) -> str:
    code = f" (#{error.error.code})" if error.error.code is not None else ""
    return _("Meta refused the request%(code)s: %(message)s") % {
        "code": code,
        "message": error.user_message or str(error),
    }


def _status_changed(
    template: WhatsAppTemplate, *, old_status: str, new_status: str, reason: str = ""
) -> None:
    if old_status != new_status:
        whatsapp_template_status_changed.send(
            sender=WhatsAppTemplate,
            template=template,
            old_status=old_status,
            new_status=new_status,
            reason=reason,
        )


def _referenced_ids(template_ids: Sequence[int]) -> set[int]:
    """The templates among `template_ids` that another row refers to (a campaign, a message...):
    those are kept as DELETED instead of being deleted, so history keeps its meaning."""
    found: set[int] = set()
    for relation in WhatsAppTemplate._meta.related_objects:
        column = relation.field.name
        found |= set(
            relation.related_model._default_manager.filter(**{f"{column}__in": template_ids})
            .values_list(column, flat=True)
            .distinct()
        )
    return found


def whatsapp_templates_sync(*, workspace: Workspace, sender: Sender) -> TemplateSyncResult:
    """Make our copy of the number's WABA templates match Meta's: every page of
    `GET /{waba_id}/message_templates` is read, new templates are created, changed ones
    updated (status changes signalled), and templates Meta no longer lists are deleted, or
    marked DELETED when something refers to them. Raises ValidationError when Meta refuses."""
    _templates_sender_check(workspace=workspace, sender=sender)
    asked_at = timezone.now()
    try:
        listed: list[cloud_api.GraphTemplate] = _graph_call(
            sender, lambda adapter: adapter.list_templates(sender.waba_id)
        )
    except cloud_api.GraphRequestError as error:
        raise ValidationError(_graph_refusal(error)) from error
    now = timezone.now()
    by_key = {(t.name, t.language): t for t in listed}
    created = updated = removed = 0
    with transaction.atomic():
        # One sync of a WABA's templates at a time per workspace (the button, the API, the
        # daily job and a webhook's catch-up can meet): the second waits here, then sees the
        # first's rows and only updates them, instead of inserting the same templates twice.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                [f"whatsapp-templates-sync:{workspace.pk}:{sender.waba_id}"],
            )
        existing = {
            (row.name, row.language): row
            for row in WhatsAppTemplate.objects.for_workspace(workspace)
            .filter(waba_id=sender.waba_id)
            .select_for_update()
            .order_by("pk")
        }
        to_create: list[WhatsAppTemplate] = []
        to_update: list[WhatsAppTemplate] = []
        changes: list[tuple[WhatsAppTemplate, str, str, str]] = []
        for key, remote in by_key.items():
            row = existing.get(key)
            fields = {
                "meta_id": remote.id,
                "category": _choice(remote.category, WhatsAppTemplate.Category, "MARKETING"),
                "status": _choice(remote.status, WhatsAppTemplate.Status, "PENDING"),
                "quality": _choice(remote.quality, WhatsAppTemplate.Quality, "UNKNOWN"),
                "parameter_format": _choice(
                    remote.parameter_format, WhatsAppTemplate.ParameterFormat, "POSITIONAL"
                ),
                "components": remote.components,
                "rejected_reason": remote.rejected_reason[:255],
            }
            if row is None:
                to_create.append(
                    WhatsAppTemplate(
                        workspace=workspace,
                        waba_id=sender.waba_id,
                        name=remote.name,
                        language=remote.language,
                        synced_at=now,
                        created_at=now,
                        updated_at=now,
                        **fields,
                    )
                )
                continue
            if row.updated_at > asked_at:
                # A webhook changed it after Meta answered this listing: the webhook is newer.
                continue
            old_status = row.status
            if any(getattr(row, name) != value for name, value in fields.items()):
                row.updated_at = now
                updated += 1
            for name, value in fields.items():
                setattr(row, name, value)
            row.synced_at = now
            to_update.append(row)
            if old_status != row.status:
                changes.append((row, old_status, row.status, row.rejected_reason))
        WhatsAppTemplate.objects.bulk_create(to_create, batch_size=500)
        created = len(to_create)
        WhatsAppTemplate.objects.bulk_update(
            to_update,
            ["meta_id", "category", "status", "quality", "parameter_format", "components"]
            + ["rejected_reason", "synced_at", "updated_at"],
            batch_size=500,
        )
        # Not listed by Meta, and not touched since we asked (a template submitted meanwhile is
        # not in that listing yet, and must not be taken for one deleted at Meta).
        gone = [
            row for key, row in existing.items() if key not in by_key and row.updated_at <= asked_at
        ]
        if gone:
            kept = _referenced_ids([row.pk for row in gone])
            deletable = [row.pk for row in gone if row.pk not in kept]
            if deletable:
                WhatsAppTemplate.objects.filter(pk__in=deletable).delete()
            marked = [
                row
                for row in gone
                if row.pk in kept and row.status != WhatsAppTemplate.Status.DELETED
            ]
            for row in marked:
                changes.append((row, row.status, WhatsAppTemplate.Status.DELETED, ""))
                row.status, row.updated_at, row.synced_at = (
                    WhatsAppTemplate.Status.DELETED,
                    now,
                    now,
                )
            WhatsAppTemplate.objects.bulk_update(marked, ["status", "updated_at", "synced_at"])
            removed = len(deletable) + len(marked)
        for row, old, new, reason in changes:
            _status_changed(row, old_status=old, new_status=new, reason=reason)
            _status_notify(row, workspace=workspace, reason=reason)
    return TemplateSyncResult(created=created, updated=updated, removed=removed, total=len(listed))


def _choice(value: str, choices: Any, default: str) -> str:
    return value if value in choices.values else default


def whatsapp_templates_sync_due_numbers() -> list[int]:
    """The numbers the daily sync covers: one live Cloud API or sandbox number per WABA and
    workspace (a WABA's numbers share its templates)."""
    return list(
        Sender.objects.filter(
            provider__in=[Sender.Provider.CLOUD_API, Sender.Provider.SANDBOX],
            removed_at__isnull=True,
        )
        .exclude(waba_id="")
        .order_by("workspace_id", "waba_id", "pk")
        .distinct("workspace_id", "waba_id")
        .values_list("pk", flat=True)
    )


def whatsapp_template_create(
    *,
    workspace: Workspace,
    sender: Sender,
    name: str,
    language: str,
    category: str,
    components: Sequence[Mapping[str, Any]],
    parameter_format: str = WhatsAppTemplate.ParameterFormat.POSITIONAL,
    actor: User | None = None,
    api_key: ApiKey | None = None,
) -> WhatsAppTemplate:
    """Check Meta's rules, submit the template to Meta for review and keep it (PENDING, or
    whatever Meta answered). Every rule broken is a field error and nothing is submitted; a
    refusal by Meta is an error with Meta's words and nothing is kept."""
    _templates_sender_check(workspace=workspace, sender=sender)
    name, language = (name or "").strip(), (language or "").strip()
    errors = whatsapp.template_validate(
        name=name,
        language=language,
        category=category,
        parameter_format=parameter_format,
        components=components,
    )
    if (
        not errors
        and WhatsAppTemplate.objects.for_workspace(workspace)
        .filter(waba_id=sender.waba_id, name=name, language=language)
        .exclude(status=WhatsAppTemplate.Status.DELETED)
        .exists()
    ):
        errors["name"] = [_("This account already has a template with this name and language.")]
    if errors:
        raise ValidationError(errors)
    try:
        answer = _graph_call(
            sender,
            lambda adapter: adapter.create_template(
                sender.waba_id,
                name=name,
                language=language,
                category=category,
                components=components,
                parameter_format=parameter_format,
            ),
        )
    except cloud_api.GraphRequestError as error:
        raise ValidationError({"components": [_graph_refusal(error)]}) from error
    now = timezone.now()
    status = _choice(str(answer.get("status", "")).upper(), WhatsAppTemplate.Status, "PENDING")
    with transaction.atomic():
        # A sync may have stored it already (Meta lists it at once): one row either way.
        template, _created = WhatsAppTemplate.objects.update_or_create(
            workspace=workspace,
            waba_id=sender.waba_id,
            name=name,
            language=language,
            defaults={
                "meta_id": str(answer["id"]),
                "category": _choice(
                    str(answer.get("category") or category).upper(),
                    WhatsAppTemplate.Category,
                    category,
                ),
                "status": status,
                "parameter_format": parameter_format,
                "components": list(components),
                "rejected_reason": "",
                "quality": WhatsAppTemplate.Quality.UNKNOWN,
                "synced_at": now,
                "updated_at": now,
            },
        )
        audit_record(
            workspace=workspace,
            action="whatsapp_template.submitted",
            actor=actor,
            api_key=api_key,
            target=template,
            details={"name": name, "language": language, "waba_id": sender.waba_id},
        )
    return template


def whatsapp_template_in_use(*, template: WhatsAppTemplate) -> bool:
    """Whether an unfinished campaign (scheduled, launching, running or paused) uses it."""
    for relation in WhatsAppTemplate._meta.related_objects:
        model = relation.related_model
        if model is Campaign and (
            Campaign.objects.filter(**{relation.field.name: template})
            .filter(status__in=CAMPAIGN_UNFINISHED)
            .exists()
        ):
            return True
    return False


def whatsapp_template_delete(
    *,
    workspace: Workspace,
    template: WhatsAppTemplate,
    actor: User | None = None,
    api_key: ApiKey | None = None,
) -> None:
    """Delete the template at Meta (this language only) and here. Refused while an unfinished
    campaign uses it. Kept as DELETED when history refers to it."""
    if template.workspace_id != workspace.pk:
        raise ValidationError(_("This template is not in this workspace."))
    if whatsapp_template_in_use(template=template):
        raise ValidationError(
            _(
                "A campaign that is not finished uses this template. Cancel or finish the "
                "campaign first, then delete the template."
            )
        )
    sender = (
        Sender.objects.for_workspace(workspace)
        .filter(
            waba_id=template.waba_id,
            removed_at__isnull=True,
            provider__in=[Sender.Provider.CLOUD_API, Sender.Provider.SANDBOX],
        )
        .order_by("pk")
        .first()
    )
    if sender is not None and template.status != WhatsAppTemplate.Status.DELETED:
        try:
            _graph_call(
                sender,
                lambda adapter: adapter.delete_template(
                    template.waba_id, name=template.name, meta_id=template.meta_id
                ),
            )
        except cloud_api.GraphRequestError as error:
            # Already gone at Meta (deleted in Meta's tools): delete here too. Meta answers
            # code 100 "Message Template Not Found" / "... does not exist".
            words = f"{error.user_message} {error.error.title} {error.error.details}".lower()
            gone = "not found" in words or "does not exist" in words
            if error.error.code != 100 or not gone:
                raise ValidationError(_graph_refusal(error)) from error
    with transaction.atomic():
        row = (
            WhatsAppTemplate.objects.for_workspace(workspace)
            .select_for_update()
            .filter(pk=template.pk)
            .first()
        )
        if row is None:
            return
        audit_record(
            workspace=workspace,
            action="whatsapp_template.deleted",
            actor=actor,
            api_key=api_key,
            target=row,
            details={"name": row.name, "language": row.language, "waba_id": row.waba_id},
        )
        if _referenced_ids([row.pk]):
            old = row.status
            row.status, row.updated_at = WhatsAppTemplate.Status.DELETED, timezone.now()
            row.save(update_fields=["status", "updated_at"])
            _status_changed(row, old_status=old, new_status=row.status)
        else:
            row.delete()


def whatsapp_template_apply_event(*, sender: Sender, event: TemplateEvent) -> bool:
    """Apply one template webhook change (status, category, quality) to our copy at once,
    under the row's lock; returns False when the template is unknown here (a sync of the
    number is then queued, so a template made in Meta's own tools appears too)."""
    from messaging.content.tasks import whatsapp_templates_sync_task

    rows = (
        WhatsAppTemplate.objects.filter(workspace_id=sender.workspace_id, waba_id=sender.waba_id)
        .select_related("workspace")
        .select_for_update(of=("self",))
    )
    row = rows.filter(meta_id=event.template_id).first() if event.template_id else None
    if row is None and event.name:
        row = rows.filter(name=event.name, language=event.language).first()
    if row is None:
        transaction.on_commit(
            lambda: whatsapp_templates_sync_task.delay(sender_id=sender.pk), robust=True
        )
        return False
    old_status = row.status
    changed: list[str] = []
    if event.field == "message_template_status_update":
        new_status = event.event
        if new_status in _REINSTATING_EVENTS:
            new_status = WhatsAppTemplate.Status.APPROVED
        if new_status in _STATUS_EVENTS and new_status != row.status:
            row.status = new_status
            changed.append("status")
        if new_status == WhatsAppTemplate.Status.REJECTED:
            row.rejected_reason = (event.reason or "")[:255]
            changed.append("rejected_reason")
        elif new_status == WhatsAppTemplate.Status.APPROVED and row.rejected_reason:
            row.rejected_reason = ""
            changed.append("rejected_reason")
    elif event.field == "template_category_update" and event.category:
        category = event.category.upper()
        if category in WhatsAppTemplate.Category.values and category != row.category:
            row.category = category
            changed.append("category")
    elif event.field == "message_template_quality_update" and event.quality:
        quality = event.quality if event.quality in WhatsAppTemplate.Quality.values else "UNKNOWN"
        if quality != row.quality:
            row.quality = quality
            changed.append("quality")
    if changed:
        row.updated_at = timezone.now()
        row.save(update_fields=[*changed, "updated_at"])
        _status_changed(row, old_status=old_status, new_status=row.status, reason=event.reason)
        if "status" in changed:
            _status_notify(row, workspace=row.workspace, reason=event.reason)
    return True


#: Meta's decisions a workspace hears about (in the app and by e-mail).
_NOTIFIED_STATUSES = {
    WhatsAppTemplate.Status.APPROVED: gettext_noop(
        "Meta approved your WhatsApp template %(name)s."
    ),
    WhatsAppTemplate.Status.REJECTED: gettext_noop(
        "Meta rejected your WhatsApp template %(name)s (%(reason)s)."
    ),
    WhatsAppTemplate.Status.PAUSED: gettext_noop(
        "Meta paused your WhatsApp template %(name)s for low quality; campaigns using it pause."
    ),
    WhatsAppTemplate.Status.DISABLED: gettext_noop(
        "Meta disabled your WhatsApp template %(name)s; create a new one to keep sending."
    ),
}


def _status_notify(template: WhatsAppTemplate, *, workspace: Workspace, reason: str) -> None:
    text = _NOTIFIED_STATUSES.get(WhatsAppTemplate.Status(template.status))
    if text is None:
        return
    notify(
        workspace=workspace,
        kind="whatsapp_template.status",
        text=text,
        params={"name": f"{template.name} ({template.language})", "reason": reason or "—"},
        link=reverse(
            "messaging:whatsapp_template_detail",
            args=[workspace.slug, template.public_id],
        ),
    )


#: Meta's media header samples: what each header format accepts (checked by content) and
#: the largest size (Meta's media limits: image 5 MB, video 16 MB, document 100 MB).
_EXAMPLE_KINDS = {
    "IMAGE": ((b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png")),
    "DOCUMENT": ((b"%PDF-", "application/pdf"),),
}
_EXAMPLE_MAX_BYTES = {"IMAGE": 5 * 2**20, "VIDEO": 16 * 2**20, "DOCUMENT": 100 * 2**20}


def _example_mime(header_format: str, data: bytes) -> str | None:
    if header_format == "VIDEO":
        return "video/mp4" if data[4:8] == b"ftyp" else None
    for magic, mime in _EXAMPLE_KINDS.get(header_format, ()):
        if data.startswith(magic):
            return mime
    return None


def whatsapp_template_example_upload(
    *, workspace: Workspace, sender: Sender, header_format: str, data: bytes, file_name: str
) -> str:
    """Upload a media header's sample to Meta (Resumable Upload API) and return its handle.
    The file is checked by its content: a JPEG or PNG image, an MP4 video, a PDF document."""
    _templates_sender_check(workspace=workspace, sender=sender)
    header_format = header_format.upper()
    mime = _example_mime(header_format, data)
    if mime is None:
        raise ValidationError(
            {
                "header_file": [
                    _(
                        "Upload a JPEG or PNG image, an MP4 video or a PDF document that matches "
                        "the header."
                    )
                ]
            }
        )
    if len(data) > _EXAMPLE_MAX_BYTES[header_format]:
        raise ValidationError({"header_file": [_("This file is larger than Meta accepts.")]})
    try:
        return str(
            _graph_call(
                sender,
                lambda adapter: adapter.upload_example(
                    data, mime_type=mime, file_name=file_name[:200] or "example"
                ),
            )
        )
    except cloud_api.GraphRequestError as error:
        message = _graph_refusal(error)
        if sender.provider == Sender.Provider.CLOUD_API:
            # A handle uploaded in Meta's own tools is the way round a refused upload; a
            # sandbox number's handles come from the sandbox's upload, so there is no other.
            message += " " + _("You can paste the handle of an example uploaded to Meta instead.")
        raise ValidationError({"header_file": [message]}) from error
