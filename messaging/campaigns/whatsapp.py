"""Campaigns that send a Meta WhatsApp template: checking the builder's (or the API's) choice
of template, variables, header media and default language; the pre-flight's view of what each
contact will get; and pausing and resuming campaigns when Meta pauses, disables or reinstates
their template (the content wing's `whatsapp_template_status_changed` signal)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Count, Q, QuerySet, TextField, Value
from django.db.models.fields.json import KT
from django.db.models.functions import Coalesce, Trim
from django.utils.translation import gettext as _

from accounts.models import Workspace
from messaging.campaigns.models import Campaign
from messaging.contacts.audience import audience_recipients, audience_sample
from messaging.contacts.models import Contact
from messaging.content.models import WhatsAppTemplate
from messaging.content.rendering import contact_values_of
from messaging.content.template_send import (
    ATTRIBUTE_PREFIX,
    TemplateContent,
    language_pick,
    source_of,
    template_render,
    variables_clean,
)
from messaging.content.whatsapp import header_format, template_slots
from messaging.engine.fanout import campaign_audience
from messaging.numbers.models import Sender

log = logging.getLogger(__name__)

#: Meta's media limits for template headers (type -> accepted MIME types, max bytes).
MEDIA_RULES: Mapping[str, tuple[tuple[str, ...], int]] = {
    "image": (("image/jpeg", "image/png"), 5 * 1024 * 1024),
    "video": (("video/mp4", "video/3gpp"), 16 * 1024 * 1024),
    "document": (("application/pdf",), 100 * 1024 * 1024),
}


#: The suffix of a stored upload, from the type its bytes have (see `media_file_name`).
MEDIA_SUFFIXES: Mapping[str, str] = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "application/pdf": ".pdf",
    "video/mp4": ".mp4",
    "video/3gpp": ".3gp",
}


def media_file_name(name: str | None, mime: str, *, limit: int = 80) -> str:
    """The name to store an upload under: the posted name's stem (no folders) and the suffix
    of `mime`, the type sniffed from its bytes. Never the posted suffix: MEDIA_URL is served
    publicly from our origin, where a PNG posted as "page.html" would be served as a page."""
    suffix = MEDIA_SUFFIXES.get(mime, ".bin")
    stem = PurePath((name or "").replace("\\", "/")).stem.strip(". ") or "file"
    return f"{stem[-(limit - len(suffix)) :]}{suffix}"


def sniff_mime(head: bytes) -> str:
    """The file's type from its first bytes (uploads are checked by content, not by name)."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        return "video/3gpp" if brand.startswith(b"3gp") else "video/mp4"
    return ""


@dataclass
class WhatsAppContent:
    """The cleaned choice: what `campaign_create` stores."""

    template: WhatsAppTemplate
    variables: dict[str, dict[str, str]]
    language: str
    media_file: UploadedFile | None = None
    media_url: str = ""
    media_type: str = ""


def translations_of(template: WhatsAppTemplate, *, approved_only: bool = True) -> list[str]:
    """The languages the template's name exists in (in its WABA)."""
    qs = WhatsAppTemplate.objects.filter(
        workspace_id=template.workspace_id, waba_id=template.waba_id, name=template.name
    )
    if approved_only:
        qs = qs.filter(status=WhatsAppTemplate.Status.APPROVED)
    return sorted(qs.values_list("language", flat=True))


def whatsapp_content_clean(
    *,
    workspace: Workspace,
    template: WhatsAppTemplate,
    variables: Mapping[str, Any] | None,
    language: str = "",
    media_file: UploadedFile | None = None,
    media_url: str = "",
    kept_media_type: str = "",
) -> WhatsAppContent:
    """Check a campaign's WhatsApp template choice; a ValidationError keyed by field
    (`whatsapp_template`, `template_variables`, `template_language`, `header_media_file`,
    `header_media_url`) says what is wrong, nothing is stored. `kept_media_type` is the type
    of the header file an edited draft already has: it stands for an upload if it fits."""
    errors: dict[str, list[str]] = {}
    if template.workspace_id != workspace.pk:
        raise ValidationError({"whatsapp_template": _("Unknown WhatsApp template.")})
    slots = template_slots(template.components, template.parameter_format)
    if variables is not None and not isinstance(variables, Mapping):
        raise ValidationError(
            {
                "template_variables": _(
                    "Give an object: each variable's name to a contact field or a text."
                )
            }
        )
    mapping, variable_errors = variables_clean(variables, slots)
    if variable_errors:
        errors["template_variables"] = [
            f"{key}: {message}" for key, messages in variable_errors.items() for message in messages
        ]
    language = (language or template.language).strip()
    if language != template.language and language not in translations_of(
        template, approved_only=False
    ):
        errors["template_language"] = [
            _("The template %(name)s has no translation in %(language)s.")
            % {"name": template.name, "language": language}
        ]
    kind = header_format(template.components).lower()
    media_type = ""
    if kind in MEDIA_RULES:
        if media_file and media_url:
            errors["header_media_url"] = [_("Give a file or a link, not both.")]
        elif not media_file and not media_url and kept_media_type in MEDIA_RULES[kind][0]:
            media_type = kept_media_type
        elif not media_file and not media_url:
            errors["header_media_file"] = [
                _("The template's header is a %(kind)s: upload the file or give its link.")
                % {"kind": kind}
            ]
        elif media_file:
            media_type, problem = _media_file_check(media_file, kind)
            if problem:
                errors["header_media_file"] = [problem]
        elif not media_url.lower().startswith(("https://", "http://")):
            errors["header_media_url"] = [_("Give an http(s) link.")]
    elif media_file or media_url:
        errors["header_media_file"] = [_("This template's header takes no media.")]
    if errors:
        raise ValidationError(errors)
    return WhatsAppContent(
        template=template,
        variables=mapping,
        language=language,
        media_file=media_file,
        media_url=media_url,
        media_type=media_type,
    )


def _media_file_check(media_file: UploadedFile, kind: str) -> tuple[str, str]:
    accepted, limit = MEDIA_RULES[kind]
    head = media_file.read(16)
    media_file.seek(0)
    mime = sniff_mime(head)
    if mime not in accepted:
        return "", _("A %(kind)s header takes %(types)s files; this file is not one.") % {
            "kind": kind,
            "types": ", ".join(t.split("/")[1].upper() for t in accepted),
        }
    if (media_file.size or 0) > limit:
        return "", _("The file is larger than WhatsApp accepts (%(mb)d MB).") % {
            "mb": limit // (1024 * 1024)
        }
    return mime, ""


# --------------------------------------------------------------------------------------------
# Pre-flight
# --------------------------------------------------------------------------------------------


def cloud_numbers(senders: list[Sender]) -> list[Sender]:
    return [s for s in senders if s.provider == Sender.Provider.CLOUD_API]


def launch_blockers(*, campaign: Campaign, senders: list[Sender]) -> list[str]:
    """Why the campaign may not launch (empty: it may): a free-form message on Cloud API
    numbers, or a WhatsApp template Meta has not approved."""
    reasons = []
    template = campaign.whatsapp_template
    if template is None and cloud_numbers(senders):
        reasons.append(
            _(
                "Cloud API numbers can only start conversations with a WhatsApp template Meta "
                "approved (a free-form message fails with 131047 for anyone who has not written "
                "in the last 24 hours). Choose an approved WhatsApp template for this campaign, "
                "or send from WhatsApp Web or sandbox numbers."
            )
        )
    if template is not None:
        template.refresh_from_db(fields=["status"])
        if template.status != WhatsAppTemplate.Status.APPROVED:
            reasons.append(
                _(
                    "The WhatsApp template %(name)s is %(status)s: it can be sent once Meta "
                    "approves it."
                )
                % {"name": template.name, "status": template.get_status_display()}
            )
    return reasons


def waba_warnings(*, campaign: Campaign, senders: list[Sender]) -> list[str]:
    """Numbers of another business account whose templates (as last synced) lack this one:
    Meta would answer 132001 for their messages."""
    template = campaign.whatsapp_template
    if template is None:
        return []
    others = {
        s.waba_id: s
        for s in senders
        if s.provider != Sender.Provider.WEB_GATEWAY and s.waba_id and s.waba_id != template.waba_id
    }
    if not others:
        return []
    present = set(
        WhatsAppTemplate.objects.filter(
            workspace_id=campaign.workspace_id,
            waba_id__in=list(others),
            name=template.name,
            status=WhatsAppTemplate.Status.APPROVED,
        ).values_list("waba_id", flat=True)
    )
    return [
        _(
            "The number %(number)s belongs to another WhatsApp Business Account, where no "
            "approved template named %(name)s is known: sync its templates, or its messages "
            "will fail (132001)."
        )
        % {"number": sender.phone_number or sender.label, "name": template.name}
        for waba_id, sender in others.items()
        if waba_id not in present
    ]


def _field_value_expression(field: str) -> Any:
    if field.startswith(ATTRIBUTE_PREFIX):
        return Coalesce(
            Trim(KT(f"attributes__{field[len(ATTRIBUTE_PREFIX) :]}")),
            Value(""),
            output_field=TextField(),
        )
    if field == "full_name":
        return None  # lacking only when both names are
    return Trim(field)


def lacking_counts(*, recipients: QuerySet[Contact], mapping: Mapping[str, Any]) -> dict[str, int]:
    """For each slot mapped to a field: how many recipients have no value (one query)."""
    aggregates: dict[str, Any] = {}
    for key in mapping:
        source = source_of(mapping, key)
        if source is None or not source.field:
            continue
        alias = f"lack_{len(aggregates)}"
        if source.field == "full_name":
            condition = Q(first_name="") & Q(last_name="")
        else:
            expression = _field_value_expression(source.field)
            recipients = recipients.annotate(**{f"{alias}_v": expression})
            condition = Q(**{f"{alias}_v": ""})
        aggregates[key] = (alias, condition)
    if not aggregates:
        return {}
    row = recipients.aggregate(
        **{alias: Count("pk", filter=condition) for alias, condition in aggregates.values()}
    )
    return {key: int(row[alias] or 0) for key, (alias, _c) in aggregates.items()}


def template_test_fill(
    *, campaign: Campaign, values: Mapping[str, str], language: str, country: str
) -> tuple[TemplateContent, str]:
    """The campaign's WhatsApp template filled for one test recipient, exactly as a contact
    with these values gets it (their language among the approved translations, the mapping's
    fallbacks): the message to queue and the text a person reads. ValidationError when Meta
    has not approved the template or a variable would be left empty (Meta refuses both)."""
    template = campaign.whatsapp_template
    assert template is not None
    translations = {
        t.language: t
        for t in WhatsAppTemplate.objects.filter(
            workspace_id=campaign.workspace_id,
            waba_id=template.waba_id,
            name=template.name,
            status=WhatsAppTemplate.Status.APPROVED,
        )
    }
    if not translations:
        template.refresh_from_db(fields=["status"])
        raise ValidationError(
            _("The WhatsApp template %(name)s is %(status)s: it can be sent once Meta approves it.")
            % {"name": template.name, "status": template.get_status_display()}
        )
    default = campaign.template_language or template.language
    code = language_pick(
        contact_language=language, contact_country=country, available=translations, default=default
    )
    version = (
        translations.get(code) or translations.get(default) or next(iter(translations.values()))
    )
    rendered = template_render(
        components=version.components,
        parameter_format=version.parameter_format,
        language=version.language,
        mapping=campaign.template_variables,
        values=values,
    )
    if rendered.empty:
        raise ValidationError(
            {
                "to": _(
                    "The test recipient has no value for %(slots)s and the campaign gives no "
                    "fallback: map a fallback, or send the test to a contact who has the value."
                )
                % {"slots": ", ".join(rendered.empty)}
            }
        )
    filled = TemplateContent.of(rendered, name=version.name, campaign_id=campaign.pk)
    return filled, rendered.text


def whatsapp_preflight(*, campaign: Campaign, sample_size: int = 5) -> dict[str, Any]:
    """What each contact will get: the template, its approved languages and how many contacts
    get each, the rendered message for sample contacts, and per variable how many contacts
    lack the value (the fallback is used; with no fallback, their message cannot be sent)."""
    template = campaign.whatsapp_template
    if template is None:
        return {}
    workspace = campaign.workspace
    audience = campaign_audience(campaign)
    recipients = audience_recipients(workspace=workspace, audience=audience)
    translations = {
        t.language: t
        for t in WhatsAppTemplate.objects.filter(
            workspace=workspace,
            waba_id=template.waba_id,
            name=template.name,
            status=WhatsAppTemplate.Status.APPROVED,
        )
    }
    default = campaign.template_language or template.language
    languages: dict[str, int] = {}
    for row in recipients.order_by().values("language", "country").annotate(n=Count("pk")):
        code = language_pick(
            contact_language=row["language"],
            contact_country=row["country"],
            available=translations,
            default=default,
        )
        languages[code] = languages.get(code, 0) + row["n"]
    samples = []
    for contact in audience_sample(workspace=workspace, audience=audience, size=sample_size):
        code = language_pick(
            contact_language=contact.language,
            contact_country=contact.country,
            available=translations,
            default=default,
        )
        version = translations.get(code) or template
        rendered = template_render(
            components=version.components,
            parameter_format=version.parameter_format,
            language=version.language,
            mapping=campaign.template_variables,
            values=contact_values_of(contact),
        )
        samples.append(
            {
                "id": str(contact.public_id),
                "phone": contact.phone,
                "name": contact.full_name,
                "language": version.language,
                "text": rendered.text,
                "media": rendered.media_format,
                "lacking": rendered.lacking,
                "empty": rendered.empty,
            }
        )
    lacking = lacking_counts(recipients=recipients, mapping=campaign.template_variables)
    variables = []
    for slot in template_slots(template.components, template.parameter_format):
        if slot.media_format:
            continue
        source = source_of(campaign.template_variables, slot.key)
        missing = lacking.get(slot.key, 0)
        variables.append(
            {
                "slot": slot.key,
                "label": slot.label,
                "source": source.as_json() if source else None,
                "lacking": missing,
                "fallback_used": missing if source and source.fallback else 0,
                "empty": 0 if source and (source.fallback or source.text) else missing,
            }
        )
    return {
        "id": str(template.public_id),
        "name": template.name,
        "status": template.status,
        "default_language": default,
        "languages": languages,
        "approved_languages": sorted(translations),
        "header_media": header_format(template.components).lower()
        if campaign.has_header_media
        else "",
        "samples": samples,
        "variables": variables,
    }


# --------------------------------------------------------------------------------------------
# Meta pauses, disables and reinstates templates
# --------------------------------------------------------------------------------------------

_PAUSING: dict[str, str] = {
    WhatsAppTemplate.Status.PAUSED: Campaign.PauseReason.TEMPLATE_PAUSED,
    WhatsAppTemplate.Status.DISABLED: Campaign.PauseReason.TEMPLATE_DISABLED,
}
_TEMPLATE_REASONS = (Campaign.PauseReason.TEMPLATE_PAUSED, Campaign.PauseReason.TEMPLATE_DISABLED)


def _campaigns_of(template: WhatsAppTemplate) -> QuerySet[Campaign]:
    """Campaigns sending this template's name (any of its translations) in its WABA."""
    return Campaign.objects.filter(
        workspace_id=template.workspace_id,
        whatsapp_template__waba_id=template.waba_id,
        whatsapp_template__name=template.name,
    )


def on_template_status_changed(
    *, template: WhatsAppTemplate, old_status: str, new_status: str, reason: str = ""
) -> None:
    """PAUSED or DISABLED: the running campaigns sending it pause with that reason.
    APPROVED again: the campaigns it paused resume (after the change commits)."""
    from messaging.engine.reactions import campaigns_pause

    if new_status in _PAUSING:
        ids = list(
            _campaigns_of(template)
            .filter(
                status__in=[
                    Campaign.Status.RUNNING,
                    Campaign.Status.LAUNCHING,
                    Campaign.Status.SCHEDULED,
                ]
            )
            .values_list("pk", flat=True)
        )
        detail = _("Meta set %(name)s (%(language)s) to %(status)s.") % {
            "name": template.name,
            "language": template.language,
            "status": new_status,
        }
        if reason:
            detail = f"{detail} {reason}"
        campaigns_pause(campaign_ids=ids, reason=_PAUSING[new_status], detail=detail)
    elif new_status == WhatsAppTemplate.Status.APPROVED and old_status in _PAUSING:
        ids = list(
            _campaigns_of(template)
            .filter(status=Campaign.Status.PAUSED, pause_reason__in=_TEMPLATE_REASONS)
            .values_list("pk", flat=True)
        )
        if ids:
            transaction.on_commit(lambda: campaigns_resume_for_template(campaign_ids=ids))


def campaigns_resume_for_template(*, campaign_ids: list[int]) -> None:
    """Resume the campaigns a template pause stopped, once no translation they send is still
    paused or disabled (a campaign the user paused meanwhile stays paused)."""
    from messaging.campaigns.services import campaign_resume

    for campaign in Campaign.objects.filter(
        pk__in=campaign_ids, status=Campaign.Status.PAUSED, pause_reason__in=_TEMPLATE_REASONS
    ).select_related("workspace", "whatsapp_template"):
        template = campaign.whatsapp_template
        if template is None:
            continue
        still_off = WhatsAppTemplate.objects.filter(
            workspace_id=template.workspace_id,
            waba_id=template.waba_id,
            name=template.name,
            status__in=list(_PAUSING),
        ).exists()
        if still_off:
            continue
        try:
            campaign_resume(workspace=campaign.workspace, campaign=campaign, actor=None)
        except ValidationError:
            log.warning("campaign %s not resumed after its template was reinstated", campaign.pk)
