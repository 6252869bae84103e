"""What each claimed message says, prepared per batch: the contact's text from our message
template (WhatsApp-Web and sandbox numbers), or the Meta WhatsApp template filled for the
contact, in the contact's language, with the header media (Cloud API and sandbox numbers;
WhatsApp-Web numbers get the template's text with the image or file as caption's carrier).

Queries are per batch, never per message: the batch's contacts, campaigns, the approved
translations of their WhatsApp templates and this number's media uploads. A campaign's header
file is uploaded once per campaign and number (`CampaignMedia`), reused by id, uploaded again
after `MEDIA_REUPLOAD_AFTER` (Meta keeps uploads 30 days) or when a send says the id is
unknown (the drainer then drops the row)."""

from __future__ import annotations

import dataclasses
import json
import logging
import mimetypes
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson
from django.db import connection, models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from core.queries import binary_array_cursor
from messaging.campaigns.models import Campaign, CampaignMedia
from messaging.contacts.models import Contact
from messaging.content.models import WhatsAppTemplate
from messaging.content.rendering import TemplateError, contact_values_of, render_message
from messaging.content.template_send import (
    TemplateContent,
    TemplateShape,
    is_template_content,
    language_pick,
    template_render,
    template_shape,
)
from messaging.gateways import freeform
from messaging.gateways.base import (
    MediaAttachment,
    OutboundMessage,
    Outcome,
    OutcomeKind,
    ProviderError,
)
from messaging.numbers.models import Sender

log = logging.getLogger(__name__)

#: Meta keeps an uploaded file 30 days; upload again a day before.
MEDIA_REUPLOAD_AFTER = timedelta(days=29)
#: Send errors that say an uploaded media id is unknown or unusable (upload again, then retry):
#: media download/upload errors, and an invalid parameter that names the media id (Meta answers
#: "Param image['id'] is not a valid whatsapp business account media attachment ID").
MEDIA_ID_ERROR_CODES = frozenset({131052, 131053})
_INVALID_PARAMETER_CODES = frozenset({100, 131009})


def media_id_refused(error: ProviderError | None) -> bool:
    """Whether a send error says the uploaded media id is not (or no longer) known."""
    if error is None or error.code is None:
        return False
    if error.code in MEDIA_ID_ERROR_CODES:
        return True
    text = f"{error.title} {error.details}".lower()
    return error.code in _INVALID_PARAMETER_CODES and "['id']" in text and "media" in text


#: Send errors that say the template is paused (132015) or disabled (132016): the campaign
#: pauses until Meta reinstates it; the message waits, uncharged.
TEMPLATE_PAUSE_CODES = frozenset({132015, 132016})


@dataclass
class Claim:
    """What preparation needs of a claimed message (the drainer's `Claimed`)."""

    id: int
    public_id: uuid.UUID
    phone: str
    campaign_id: int | None
    contact_id: int | None
    attempts: int
    body: str
    content: Any = None  # a single send's media or interactive content (JSON), else None


@dataclass
class Prepared:
    """A batch ready to send: a message per id to send, the text to record per id, the ids
    skipped with their reason (error kind, title), local outcomes (not sent: e.g. the media
    upload failed) and the campaigns whose sends used an uploaded media id."""

    messages: dict[int, OutboundMessage] = field(default_factory=dict)
    bodies: dict[int, str] = field(default_factory=dict)
    skip: dict[int, tuple[str, str]] = field(default_factory=dict)
    local: dict[int, Outcome] = field(default_factory=dict)
    media_id_campaigns: set[int] = field(default_factory=set)


Uploader = Callable[[bytes, str, str], Any]  # (data, mime type, file name) -> MediaUpload


@dataclass
class _CampaignContent:
    campaign: Campaign
    translations: dict[str, WhatsAppTemplate] = field(default_factory=dict)
    media_kind: str = ""
    file_bytes: bytes | None = None
    file_name: str = ""
    file_mime: str = ""
    shapes: dict[int, TemplateShape] = field(default_factory=dict)  # template pk -> its shape

    def shape_of(self, template: WhatsAppTemplate) -> TemplateShape:
        if template.pk not in self.shapes:
            self.shapes[template.pk] = template_shape(
                template.components, template.parameter_format
            )
        return self.shapes[template.pk]


def _uses_templates(sender: Sender) -> bool:
    """Cloud API and sandbox numbers speak Meta's dialect and send WhatsApp templates."""
    return sender.provider != Sender.Provider.WEB_GATEWAY


def _campaign_contents(campaign_ids: set[int]) -> dict[int, _CampaignContent]:
    campaigns = Campaign.objects.filter(pk__in=campaign_ids).select_related(
        "template", "whatsapp_template"
    )
    contents = {c.pk: _CampaignContent(campaign=c) for c in campaigns}
    names = {
        (c.workspace_id, c.whatsapp_template.waba_id, c.whatsapp_template.name)
        for c in campaigns
        if c.whatsapp_template is not None
    }
    if names:
        query = Q()
        for workspace_id, waba_id, name in names:
            query |= Q(workspace_id=workspace_id, waba_id=waba_id, name=name)
        approved = WhatsAppTemplate.objects.filter(query, status=WhatsAppTemplate.Status.APPROVED)
        for template in approved:
            for content in contents.values():
                chosen = content.campaign.whatsapp_template
                if (
                    chosen is not None
                    and content.campaign.workspace_id == template.workspace_id
                    and chosen.waba_id == template.waba_id
                    and chosen.name == template.name
                ):
                    content.translations[template.language] = template
    for content in contents.values():
        campaign = content.campaign
        if campaign.whatsapp_template is not None:
            content.media_kind = _header_media_kind(campaign.whatsapp_template.components)
        elif campaign.template is not None and campaign.template.media_type:
            content.media_kind = campaign.template.media_type
    return contents


def _header_media_kind(components: Any) -> str:
    for component in components or ():
        if isinstance(component, dict) and str(component.get("type", "")).upper() == "HEADER":
            kind = str(component.get("format", "")).lower()
            return kind if kind in ("image", "video", "document") else ""
    return ""


def _load_file(content: _CampaignContent) -> bytes | None:
    """The campaign's header file, read once per batch (only when a send needs the bytes)."""
    campaign = content.campaign
    if content.file_bytes is None and campaign.header_media_file:
        with campaign.header_media_file.open("rb") as handle:
            content.file_bytes = handle.read()
        content.file_name = (campaign.header_media_file.name or "file").rsplit("/", 1)[-1]
        content.file_mime = (
            campaign.header_media_type
            or mimetypes.guess_type(content.file_name)[0]
            or "application/octet-stream"
        )
    return content.file_bytes


def _uploads_for(sender: Sender, campaign_ids: set[int]) -> dict[int, str]:
    """This number's usable media ids for the campaigns (one query)."""
    fresh_after = timezone.now() - MEDIA_REUPLOAD_AFTER
    return dict(
        CampaignMedia.objects.filter(
            sender=sender, campaign_id__in=campaign_ids, uploaded_at__gt=fresh_after
        ).values_list("campaign_id", "media_id")
    )


def media_upload_record(*, campaign_id: int, sender_id: int, media_id: str) -> None:
    """Keep the id Meta gave (insert, or replace an expired or refused one; counts uploads)."""
    table = CampaignMedia._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {table} (campaign_id, sender_id, media_id, uploaded_at, uploads)
            VALUES (%s, %s, %s, now(), 1)
            ON CONFLICT (campaign_id, sender_id) DO UPDATE
               SET media_id = EXCLUDED.media_id, uploaded_at = now(),
                   uploads = {table}.uploads + 1
            """,  # noqa: S608 - our own table name  # nosec B608 # own table names, values are parameters
            [campaign_id, sender_id, media_id],
        )


def media_forget(*, sender_id: int, campaign_ids: set[int]) -> None:
    """A send said the id is unknown: the next batch uploads the file again."""
    if campaign_ids:
        CampaignMedia.objects.filter(sender_id=sender_id, campaign_id__in=campaign_ids).update(
            uploaded_at=timezone.now() - MEDIA_REUPLOAD_AFTER - timedelta(days=1)
        )


def _media_for(
    *,
    sender: Sender,
    content: _CampaignContent,
    uploads: dict[int, str],
    upload: Uploader,
) -> tuple[MediaAttachment | None, str]:
    """The header media for this number's sends of the campaign, or why there is none now
    ("" and None: no media; None and a note: the upload failed, retry later)."""
    campaign = content.campaign
    kind = content.media_kind
    if not kind:
        return None, ""
    if campaign.header_media_url and not campaign.header_media_file:
        return MediaAttachment(kind=kind, link=campaign.header_media_url), ""
    if (
        campaign.template is not None
        and campaign.template.media_url
        and not campaign.has_header_media
    ):
        return MediaAttachment(kind=kind, link=campaign.template.media_url), ""
    if not campaign.header_media_file:
        return None, ""
    data = _load_file(content)
    if data is None:
        return None, ""
    if not _uses_templates(sender):  # WAHA takes the file inline
        return (
            MediaAttachment(
                kind=kind, data=data, mime_type=content.file_mime, filename=content.file_name
            ),
            "",
        )
    media_id = uploads.get(campaign.pk)
    if media_id is None:
        result = upload(data, content.file_mime, content.file_name)
        if not result.ok or not result.media_id:
            return None, result.note or "media upload failed"
        media_upload_record(campaign_id=campaign.pk, sender_id=sender.pk, media_id=result.media_id)
        uploads[campaign.pk] = media_id = result.media_id
    return (
        MediaAttachment(
            kind=kind,
            media_id=media_id,
            filename=content.file_name if kind == "document" else "",
        ),
        "",
    )


@dataclass(slots=True)
class _RenderedContact:
    """The contact fields a message is rendered from (`contact_values_of`, the variant's seed,
    the template's language) and the opt-out checked at send time, as plain values: building
    model instances (their init signals included) was a tenth of the drainer's CPU."""

    id: int
    public_id: uuid.UUID
    phone: str
    first_name: str
    last_name: str
    language: str
    country: str
    attributes: Any
    opted_out_at: datetime | None


_RENDERED_FIELDS = tuple(item.name for item in dataclasses.fields(_RenderedContact))


def _contact_column(name: str) -> str:
    field = Contact._meta.get_field(name)
    if not isinstance(field, models.Field) or not field.column:
        raise TypeError(f"{name} is not a column of contacts")
    return field.column


_RENDERED_SELECT = (
    "SELECT "  # noqa: S608 # nosec B608: column and table names from the model, no input
    + ", ".join(_contact_column(name) for name in _RENDERED_FIELDS)
    + f" FROM {Contact._meta.db_table} WHERE id = ANY(%b::bigint[])"
)
_ATTRIBUTES_AT = _RENDERED_FIELDS.index("attributes")


def _rendered_contacts(contact_ids: set[int]) -> dict[int, _RenderedContact]:
    """The batch's contacts, by id, in one statement with the ids as one binary array.
    py-spy: `filter(pk__in=...)` prepared each of 500 ids through the field's conversions and
    quoted them into the query text, 12% of the drainer's CPU. Contacts are found by the ids
    of messages already claimed on this workspace's number."""
    if not contact_ids:
        return {}
    with binary_array_cursor() as cursor:
        cursor.execute(_RENDERED_SELECT, [list(contact_ids)])
        rows = cursor.fetchall()
    contacts = {}
    for row in rows:
        values = list(row)
        attributes = values[_ATTRIBUTES_AT]
        # Django's connection reads jsonb as text (JSONField parses it).
        if isinstance(attributes, str | bytes):
            values[_ATTRIBUTES_AT] = orjson.loads(attributes)
        contacts[row[0]] = _RenderedContact(*values)
    return contacts


def prepare(*, sender: Sender, claimed: list[Claim], upload: Uploader) -> Prepared:
    """Every claimed message as an `OutboundMessage`, rendered from the contact's current data
    (suppression at send time: a contact opted out since launch is skipped)."""
    plan = Prepared()
    contact_ids = {c.contact_id for c in claimed if c.contact_id}
    # Only what rendering reads (py-spy: building whole contacts, consent proof and search
    # text included, was a tenth of the drainer's CPU). A new field read here belongs here.
    contacts = _rendered_contacts(contact_ids)
    # Single sends that are a filled WhatsApp template (a campaign's test send) carry the
    # campaign's header media: their campaigns are loaded with the batch's.
    filled = {
        item.id: TemplateContent.from_json(raw)
        for item in claimed
        if item.campaign_id is None and is_template_content(raw := _raw_content(item))
    }
    campaign_ids = {c.campaign_id for c in claimed if c.campaign_id} | {
        t.campaign_id for t in filled.values() if t.campaign_id
    }
    contents = _campaign_contents(campaign_ids) if campaign_ids else {}
    uploads = _uploads_for(sender, campaign_ids) if campaign_ids else {}
    media: dict[int, tuple[MediaAttachment | None, str]] = {}

    def media_of(campaign_id: int) -> tuple[MediaAttachment | None, str]:
        if campaign_id not in media:
            media[campaign_id] = _media_for(
                sender=sender, content=contents[campaign_id], uploads=uploads, upload=upload
            )
        return media[campaign_id]

    for item in claimed:
        if item.campaign_id is None:
            plan.bodies[item.id] = item.body
            if item.id in filled:
                _prepare_filled(plan, sender, item, filled[item.id], contents, media_of)
            elif item.content:
                plan.messages[item.id] = _content_message(item)
            else:
                plan.messages[item.id] = _text_message(item, item.body, None)
            continue
        contact = contacts.get(item.contact_id or 0)
        if contact is None or contact.opted_out_at is not None:
            plan.skip[item.id] = ("opted_out", "opted out before sending")
            continue
        content = contents[item.campaign_id]
        attachment, problem = media_of(item.campaign_id)
        if problem:
            plan.local[item.id] = Outcome.local(
                str(item.public_id), OutcomeKind.RETRY_LATER, problem, attempt=item.attempts - 1
            )
            continue
        values = contact_values_of(contact)
        if content.campaign.whatsapp_template is not None:
            _prepare_whatsapp(plan, sender, item, content, contact, values, attachment)
        else:
            _prepare_text(plan, item, content, contact, values, attachment)
    return plan


def _raw_content(item: Claim) -> Any:
    """A single send's content column (it comes back as JSON text from the claim's raw
    cursor)."""
    return json.loads(item.content) if isinstance(item.content, str) else item.content


def _prepare_filled(
    plan: Prepared,
    sender: Sender,
    item: Claim,
    filled: TemplateContent,
    contents: dict[int, _CampaignContent],
    media_of: Callable[[int], tuple[MediaAttachment | None, str]],
) -> None:
    """A filled template queued as a single message (a campaign's test send): the same
    `type: template` message the campaign sends, with the campaign's header media (by the id
    uploaded to this number, uploading it first if needed, exactly as its campaign sends do)."""
    attachment: MediaAttachment | None = None
    campaign_id = filled.campaign_id
    if campaign_id is not None and campaign_id in contents:
        attachment, problem = media_of(campaign_id)
        if problem:
            plan.local[item.id] = Outcome.local(
                str(item.public_id), OutcomeKind.RETRY_LATER, problem, attempt=item.attempts - 1
            )
            return
    if not _uses_templates(sender):
        # WhatsApp-Web numbers have no Meta templates: the filled text (and the media).
        plan.messages[item.id] = _text_message(item, item.body, attachment)
        return
    if attachment is not None and attachment.media_id and campaign_id is not None:
        plan.media_id_campaigns.add(campaign_id)
    plan.messages[item.id] = OutboundMessage(
        public_id=str(item.public_id),
        to=item.phone,
        template_name=filled.name,
        template_language=filled.language,
        header_parameters=filled.header_parameters,
        header_media=attachment,
        body_parameters=filled.body_parameters,
        button_parameters=filled.button_parameters,
        attempt=item.attempts - 1,
    )


def _content_message(item: Claim) -> OutboundMessage:
    """A single send's media or interactive message."""
    raw = _raw_content(item)
    return OutboundMessage(
        public_id=str(item.public_id),
        to=item.phone,
        content=freeform.from_json(raw),
        attempt=item.attempts - 1,
    )


def _text_message(item: Claim, text: str, media: MediaAttachment | None) -> OutboundMessage:
    return OutboundMessage(
        public_id=str(item.public_id),
        to=item.phone,
        text=text,
        media=media,
        attempt=item.attempts - 1,
    )


def _prepare_text(
    plan: Prepared,
    item: Claim,
    content: _CampaignContent,
    contact: _RenderedContact,
    values: dict[str, str],
    attachment: MediaAttachment | None,
) -> None:
    template = content.campaign.template
    if template is None:
        plan.skip[item.id] = ("fix_request", "the campaign has no message")
        return
    try:
        rendered = render_message(
            variants=template.variants,
            values=values,
            seed=str(contact.public_id),
            footer=template.footer,
        )
    except TemplateError:
        plan.skip[item.id] = ("fix_request", "the template could not be rendered")
        return
    text = rendered.text + (f"\n\n{template.footer}" if template.footer else "")
    plan.bodies[item.id] = text
    plan.messages[item.id] = _text_message(item, text, attachment)


def _prepare_whatsapp(
    plan: Prepared,
    sender: Sender,
    item: Claim,
    content: _CampaignContent,
    contact: _RenderedContact,
    values: dict[str, str],
    attachment: MediaAttachment | None,
) -> None:
    campaign = content.campaign
    chosen = campaign.whatsapp_template
    assert chosen is not None
    default = campaign.template_language or chosen.language
    language = language_pick(
        contact_language=contact.language,
        contact_country=contact.country,
        available=content.translations,
        default=default,
    )
    version = content.translations.get(language) or content.translations.get(default) or chosen
    rendered = template_render(
        components=version.components,
        parameter_format=version.parameter_format,
        language=version.language,
        mapping=campaign.template_variables,
        values=values,
        shape=content.shape_of(version),
    )
    if rendered.empty:
        plan.skip[item.id] = (
            "missing_value",
            _("no value and no fallback for %(slots)s") % {"slots": ", ".join(rendered.empty)},
        )
        return
    plan.bodies[item.id] = rendered.text
    if not _uses_templates(sender):
        # WhatsApp-Web numbers have no Meta templates: they send the filled text (and media).
        plan.messages[item.id] = _text_message(item, rendered.text, attachment)
        return
    if attachment is not None and attachment.media_id:
        plan.media_id_campaigns.add(campaign.pk)
    plan.messages[item.id] = OutboundMessage(
        public_id=str(item.public_id),
        to=item.phone,
        template_name=version.name,
        template_language=version.language,
        header_parameters=rendered.header_parameters,
        header_media=attachment,
        body_parameters=rendered.body_parameters,
        button_parameters=rendered.button_parameters,
        attempt=item.attempts - 1,
    )
