"""Messaging's privacy door: what the privacy app may do with messaging's personal data.

Privacy finds this module at start-up (`privacy.registry`) and calls these functions; they
follow `privacy.registry.PrivacyDoor` without importing privacy (messaging sits below it).
Messaging holds the recipients: contacts, messages, replies, import reports, and the
suppression list that keeps an erased number out. Writes run inside privacy's transaction."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

from django.apps import apps
from django.contrib.postgres.expressions import ArraySubquery
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import models, transaction
from django.db.models import Count, F, OuterRef
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from accounts.hashing import subject_hash
from accounts.models import User, Workspace
from accounts.selectors import message_retention_cutoff
from accounts.tenancy import workspace_rows_delete
from core.phones import parse_phone
from messaging.campaigns.models import Campaign, InboundMessage, Message
from messaging.contacts.models import Contact, ContactList, ContactListMembership, Segment
from messaging.contacts.services import contact_vocabulary_prune
from messaging.contacts.suppression import SuppressedPhone
from messaging.content.models import MessageTemplate
from messaging.imports.models import ContactImport, ContactImportRejection
from messaging.inbox.models import CannedReply, Conversation, ConversationNote
from messaging.numbers.models import CustomerWindow, Sender

logger = logging.getLogger(__name__)

# Columns of each export section. No credentials, tokens or secrets: for numbers, only what
# identifies the number. Workspaces are named by their slug (the /w/<slug>/ of their pages) and
# records by their public ids (the ids of the API and the pages, which the audiences and the
# campaign files refer to), never by internal integer keys.
NUMBER_FIELDS = ["workspace_slug", "provider", "label", "phone_number", "status", "created_at"]
CONTACT_FIELDS = [
    "workspace_slug",
    "public_id",
    "phone",
    "first_name",
    "last_name",
    "language",
    "country",
    "time_zone",
    "attributes",
    "tags",
    "consent_source",
    "consent_at",
    "opted_out_at",
    "opt_out_source",
    "whatsapp_status",
    "created_at",
    "updated_at",
]
CONTACT_LIST_FIELDS = ["workspace_slug", "public_id", "name", "description", "created_at"]
#: Which contacts are in which list.
CONTACT_LIST_MEMBER_FIELDS = [
    "workspace_slug",
    "list_public_id",
    "list_name",
    "contact_public_id",
    "phone",
    "added_at",
]
SEGMENT_FIELDS = ["workspace_slug", "public_id", "name", "filters", "created_at", "updated_at"]
TEMPLATE_FIELDS = [
    "workspace_slug",
    "public_id",
    "name",
    "variants",
    "media_type",
    "media_url",
    "footer",
    "wa_template_name",
    "wa_language",
    "wa_category",
    "wa_status",
    "created_at",
    "updated_at",
]
#: Campaigns: what was sent to whom, when, from which numbers, and how it went.
CAMPAIGN_FIELDS = [
    "workspace_slug",
    "public_id",
    "name",
    "status",
    "pause_reason",
    "template_name",
    "whatsapp_template_name",
    "template_language",
    "template_variables",
    "header_media_type",
    "header_media_url",
    "audience",
    "numbers",
    "send_window",
    "pacing",
    "scheduled_at",
    "expires_at",
    "recipients",
    "skipped_opted_out",
    "skipped_invalid",
    "count_sent",
    "count_delivered",
    "count_read",
    "count_failed",
    "count_replied",
    "count_opted_out",
    "count_credits_used",
    "created_by_email",
    "created_at",
    "launched_at",
    "finished_at",
]
#: Contact imports: the file's name and columns, the choices made, and what the import did.
#: Not the preview rows (the file's first rows; the contacts themselves are exported).
CONTACT_IMPORT_FIELDS = [
    "workspace_slug",
    "public_id",
    "status",
    "original_name",
    "file_format",
    "size_bytes",
    "columns",
    "mapping",
    "default_country",
    "on_existing",
    "contact_list_name",
    "tags",
    "consent_source",
    "consent_confirmed_at",
    "total_rows",
    "created_count",
    "updated_count",
    "unchanged_count",
    "duplicate_count",
    "invalid_count",
    "opted_out_count",
    "error",
    "created_by_email",
    "created_at",
    "started_at",
    "finished_at",
]


ExportRows = Callable[[], Iterable[Mapping[str, Any]]]

#: Messages sent: to whom, from which number and campaign, what became of it and when, and
#: the text while it is still kept (the retention period blanks it).
MESSAGE_FIELDS = [
    "workspace_slug",
    "public_id",
    "campaign_name",
    "number",
    "phone",
    "status",
    "created_at",
    "accepted_at",
    "delivered_at",
    "read_at",
    "error_title",
    "body",
]
#: Replies received (the text and a button's payload while still kept).
REPLY_FIELDS = [
    "workspace_slug",
    "received_at",
    "number",
    "phone",
    "kind",
    "text",
    "payload",
    "campaign_name",
    "is_opt_out",
]
#: Campaign header files: a row per file, the file itself under `file` in the archive.
CAMPAIGN_MEDIA_FIELDS = [
    "workspace_slug",
    "campaign_id",
    "campaign_name",
    "file",
    "media_type",
    "size_bytes",
    "uploaded_to_numbers",
    "created_at",
]
#: Inbox conversations: one per contact and number, with its state (the messages themselves
#: are in messages and replies).
CONVERSATION_FIELDS = [
    "workspace_slug",
    "public_id",
    "number",
    "phone",
    "profile_name",
    "status",
    "assignee_email",
    "labels",
    "last_message_at",
    "last_inbound_at",
    "created_at",
    "updated_at",
]
#: The team's internal notes in conversations (never sent to the contact).
CONVERSATION_NOTE_FIELDS = [
    "workspace_slug",
    "conversation_public_id",
    "phone",
    "author_email",
    "text",
    "created_at",
]
#: Saved replies the team inserts in conversations.
CANNED_REPLY_FIELDS = ["workspace_slug", "public_id", "name", "text", "created_at", "updated_at"]
#: Where campaign header files go in the archive.
CAMPAIGN_MEDIA_FOLDER = "campaign_media"
#: Rows fetched per round trip for every section (memory stays flat at any size).
EXPORT_CHUNK = 2000

_WORKSPACE = {"workspace_slug": F("workspace__slug")}


def _rows_of(
    model: type[models.Model],
    workspace_ids: list[int],
    fields: list[str],
    computed: Mapping[str, Any] = _WORKSPACE,
) -> ExportRows:
    """The section's rows, read when the export builds that section, from a server-side
    cursor in chunks (one query, never one per row). `computed` names the columns read
    through a relation (the workspace's slug, a template's name)."""

    def rows() -> Iterator[dict[str, Any]]:
        plain = [f for f in fields if f not in computed]
        return (
            model._default_manager.filter(workspace_id__in=workspace_ids)
            .order_by("pk")
            .values(*plain, **computed)
            .iterator(chunk_size=EXPORT_CHUNK)
        )

    return rows


def _campaign_rows(workspace_ids: list[int]) -> ExportRows:
    numbers = ArraySubquery(
        Sender._base_manager.filter(campaigns=OuterRef("pk"))
        .order_by("phone_number")
        .values("phone_number")
    )
    return _rows_of(
        Campaign,
        workspace_ids,
        CAMPAIGN_FIELDS,
        {
            **_WORKSPACE,
            "template_name": F("template__name"),
            "whatsapp_template_name": F("whatsapp_template__name"),
            "numbers": numbers,
            "created_by_email": F("created_by__email"),
        },
    )


def _message_rows(workspace_ids: list[int]) -> ExportRows:
    """Every message of the workspaces (campaign and single sends: the privacy centre's count),
    streamed from a server-side cursor in chunks."""

    def rows() -> Iterator[Mapping[str, Any]]:
        return (
            Message._base_manager.filter(workspace_id__in=workspace_ids)
            .order_by("pk")
            .values(
                "public_id",
                "phone",
                "status",
                "created_at",
                "accepted_at",
                "delivered_at",
                "read_at",
                "error_title",
                "body",
                campaign_name=F("campaign__name"),
                number=F("sender__phone_number"),
                workspace_slug=F("workspace__slug"),
            )
            .iterator(chunk_size=EXPORT_CHUNK)
        )

    return rows


def _reply_rows(workspace_ids: list[int]) -> ExportRows:
    def rows() -> Iterator[Mapping[str, Any]]:
        return (
            InboundMessage._base_manager.filter(workspace_id__in=workspace_ids)
            .order_by("pk")
            .values(
                "received_at",
                "phone",
                "kind",
                "text",
                "payload",
                "is_opt_out",
                campaign_name=F("campaign__name"),
                number=F("sender__phone_number"),
                workspace_slug=F("workspace__slug"),
            )
            .iterator(chunk_size=EXPORT_CHUNK)
        )

    return rows


def _campaigns_with_media(workspace_ids: list[int]) -> models.QuerySet[Campaign]:
    return (
        Campaign._base_manager.filter(workspace_id__in=workspace_ids)
        .exclude(header_media_file="")
        .order_by("pk")
    )


def _media_archive_name(campaign: Campaign) -> str:
    base = (campaign.header_media_file.name or "file").rsplit("/", 1)[-1]
    return f"{CAMPAIGN_MEDIA_FOLDER}/{campaign.public_id}/{base}"


def _stored_size(name: str) -> int | None:
    try:
        return int(default_storage.size(name))
    except OSError:
        return None  # listed, but the file is gone from storage


def _campaign_media_rows(workspace_ids: list[int]) -> ExportRows:
    def rows() -> Iterator[dict[str, Any]]:
        campaigns = _campaigns_with_media(workspace_ids).annotate(
            uploaded_to_numbers=Count("media_uploads"), workspace_slug=F("workspace__slug")
        )
        for campaign in campaigns.iterator(chunk_size=EXPORT_CHUNK):
            yield {
                "workspace_slug": campaign.workspace_slug,
                "campaign_id": str(campaign.public_id),
                "campaign_name": campaign.name,
                "file": _media_archive_name(campaign),
                "media_type": campaign.header_media_type,
                "size_bytes": _stored_size(campaign.header_media_file.name or ""),
                "uploaded_to_numbers": campaign.uploaded_to_numbers,
                "created_at": campaign.created_at,
            }

    return rows


def export_files_for_workspaces(*, workspace_ids: list[int]) -> Iterator[tuple[str, str]]:
    """Optional door function: (name in the archive, name in storage) of every file the
    export carries, the campaigns' header files; each is described by a row of the
    `campaign_media` section. Files missing from storage are left out (their row says so
    with an empty size)."""
    for campaign in _campaigns_with_media(workspace_ids).iterator(chunk_size=EXPORT_CHUNK):
        stored = campaign.header_media_file.name or ""
        if stored and default_storage.exists(stored):
            yield _media_archive_name(campaign), stored


def export_for_workspaces(*, workspace_ids: list[int]) -> list[tuple[str, ExportRows, list[str]]]:
    return [
        ("numbers", _rows_of(Sender, workspace_ids, NUMBER_FIELDS), NUMBER_FIELDS),
        ("contacts", _rows_of(Contact, workspace_ids, CONTACT_FIELDS), CONTACT_FIELDS),
        (
            "contact_lists",
            _rows_of(ContactList, workspace_ids, CONTACT_LIST_FIELDS),
            CONTACT_LIST_FIELDS,
        ),
        (
            "contact_list_members",
            _rows_of(
                ContactListMembership,
                workspace_ids,
                CONTACT_LIST_MEMBER_FIELDS,
                {
                    **_WORKSPACE,
                    "list_public_id": F("contact_list__public_id"),
                    "list_name": F("contact_list__name"),
                    "contact_public_id": F("contact__public_id"),
                    "phone": F("contact__phone"),
                },
            ),
            CONTACT_LIST_MEMBER_FIELDS,
        ),
        ("segments", _rows_of(Segment, workspace_ids, SEGMENT_FIELDS), SEGMENT_FIELDS),
        (
            "contact_imports",
            _rows_of(
                ContactImport,
                workspace_ids,
                CONTACT_IMPORT_FIELDS,
                {
                    **_WORKSPACE,
                    "contact_list_name": F("contact_list__name"),
                    "created_by_email": F("created_by__email"),
                },
            ),
            CONTACT_IMPORT_FIELDS,
        ),
        ("templates", _rows_of(MessageTemplate, workspace_ids, TEMPLATE_FIELDS), TEMPLATE_FIELDS),
        ("campaigns", _campaign_rows(workspace_ids), CAMPAIGN_FIELDS),
        ("messages", _message_rows(workspace_ids), MESSAGE_FIELDS),
        ("replies", _reply_rows(workspace_ids), REPLY_FIELDS),
        ("campaign_media", _campaign_media_rows(workspace_ids), CAMPAIGN_MEDIA_FIELDS),
        (
            "conversations",
            _rows_of(
                Conversation,
                workspace_ids,
                CONVERSATION_FIELDS,
                {
                    **_WORKSPACE,
                    "number": F("sender__phone_number"),
                    "assignee_email": F("assignee__email"),
                },
            ),
            CONVERSATION_FIELDS,
        ),
        (
            "conversation_notes",
            _rows_of(
                ConversationNote,
                workspace_ids,
                CONVERSATION_NOTE_FIELDS,
                {
                    **_WORKSPACE,
                    "conversation_public_id": F("conversation__public_id"),
                    "phone": F("conversation__phone"),
                    "author_email": F("author__email"),
                },
            ),
            CONVERSATION_NOTE_FIELDS,
        ),
        (
            "canned_replies",
            _rows_of(CannedReply, workspace_ids, CANNED_REPLY_FIELDS),
            CANNED_REPLY_FIELDS,
        ),
    ]


def export_descriptions() -> dict[str, tuple[str | Promise, dict[str, str | Promise]]]:
    """Optional door function: what each export file holds and what its columns mean, for
    the archive's README (columns every file shares are described by privacy)."""
    phone = _("Phone number in international format (E.164).")
    return {
        "numbers": (
            _("The WhatsApp numbers connected to the workspace (no access tokens)."),
            {
                "provider": _("How the number is connected."),
                "label": _("The name given to the number."),
                "phone_number": phone,
                "status": _("The number's connection status."),
            },
        ),
        "contacts": (
            _("The workspace's contacts (the people messages are sent to)."),
            {
                "phone": phone,
                "first_name": _("First name."),
                "last_name": _("Last name."),
                "language": _("Language messages to the contact are written in."),
                "country": _("Country (ISO 3166 code)."),
                "time_zone": _("Time zone."),
                "attributes": _("Custom fields (JSON object: name to value)."),
                "tags": _("Tags (JSON list)."),
                "consent_source": _("Where the contact's consent to messages came from."),
                "consent_at": _("When the consent was given."),
                "opted_out_at": _("When the contact unsubscribed (empty: subscribed)."),
                "opt_out_source": _("How the contact unsubscribed."),
                "whatsapp_status": _("Whether the number is on WhatsApp, as last checked."),
            },
        ),
        "contact_lists": (
            _("The workspace's contact lists."),
            {"name": _("List name."), "description": _("List description.")},
        ),
        "contact_list_members": (
            _("Which contacts are in which list."),
            {
                "list_public_id": _("The list (public_id in contact_lists)."),
                "list_name": _("List name."),
                "contact_public_id": _("The contact (public_id in contacts)."),
                "phone": phone,
                "added_at": _("When the contact was added to the list."),
            },
        ),
        "segments": (
            _("Saved contact filters (segments)."),
            {
                "name": _("Segment name."),
                "filters": _(
                    "The filter (JSON: tags, custom fields, list, dates and search text)."
                ),
            },
        ),
        "contact_imports": (
            _("Contact files imported (CSV or Excel) and what each import did."),
            {
                "status": _("The import's status."),
                "original_name": _("Name of the file uploaded."),
                "file_format": _("csv or xlsx."),
                "size_bytes": _("File size in bytes."),
                "columns": _("The file's column headings (JSON list)."),
                "mapping": _("Which column filled which contact field (JSON object)."),
                "default_country": _("Country assumed for numbers without a country code."),
                "on_existing": _("update or skip contacts already in the workspace."),
                "contact_list_name": _("List the imported contacts were added to."),
                "tags": _("Tags given to the imported contacts (JSON list)."),
                "consent_source": _("Where the consent of the imported contacts came from."),
                "consent_confirmed_at": _("When the importer confirmed the consent."),
                "total_rows": _("Rows in the file."),
                "created_count": _("Contacts created."),
                "updated_count": _("Contacts updated."),
                "unchanged_count": _("Rows that changed nothing."),
                "duplicate_count": _("Rows repeating an earlier row of the file."),
                "invalid_count": _("Rows rejected (for example, an unreadable number)."),
                "opted_out_count": _("Rows of contacts who had unsubscribed."),
                "error": _("Why the import failed, if it did."),
                "created_by_email": _("E-mail address of the person who imported it."),
                "started_at": _("When the import started."),
                "finished_at": _("When the import finished."),
            },
        ),
        "templates": (
            _("Message templates."),
            {
                "name": _("Template name."),
                "variants": _("The text variants, rotated across recipients (JSON list)."),
                "media_type": _("Attached media: image, document or none."),
                "media_url": _("Link to the attached media."),
                "footer": _("Footer text."),
                "wa_template_name": _("Name of the WhatsApp (Meta) template it maps to."),
                "wa_language": _("Language of the WhatsApp template."),
                "wa_category": _("Category of the WhatsApp template."),
                "wa_status": _("Meta's review status of the WhatsApp template."),
            },
        ),
        "campaigns": (
            _("Campaigns: what was sent, to whom, when, and how it went."),
            {
                "name": _("Campaign name."),
                "status": _("The campaign's status."),
                "pause_reason": _("Why the campaign was paused, if it was."),
                "template_name": _("Message template sent."),
                "whatsapp_template_name": _("WhatsApp (Meta) template sent."),
                "template_language": _(
                    "Language sent when the template has no translation in the contact's language."
                ),
                "template_variables": _("What fills each template variable (JSON object)."),
                "header_media_type": _("Type of the header file (see campaign_media)."),
                "header_media_url": _("Link to the header media."),
                "audience": _("Who it was sent to (JSON: the same filter as segments)."),
                "numbers": _("The numbers it was sent from (JSON list)."),
                "send_window": _("Hours and days sending was allowed (JSON object)."),
                "pacing": _("Sending pace (JSON object; empty: the numbers' own)."),
                "scheduled_at": _("When it was scheduled to start."),
                "expires_at": _("After when unsent messages are dropped."),
                "recipients": _("Recipients."),
                "skipped_opted_out": _("Recipients skipped: unsubscribed."),
                "skipped_invalid": _("Recipients skipped: invalid number."),
                "count_sent": _("Messages sent."),
                "count_delivered": _("Messages delivered."),
                "count_read": _("Messages read."),
                "count_failed": _("Messages failed."),
                "count_replied": _("Recipients who replied."),
                "count_opted_out": _("Recipients who unsubscribed."),
                "count_credits_used": _("Message credits used."),
                "created_by_email": _("E-mail address of the person who created it."),
                "launched_at": _("When it was launched."),
                "finished_at": _("When it finished."),
            },
        ),
        "messages": (
            _("Messages sent (from campaigns and one by one)."),
            {
                "campaign_name": _("Campaign it belongs to (empty: sent on its own)."),
                "number": _("The workspace's number it was sent from."),
                "phone": _("Recipient's number (E.164)."),
                "status": _("queued, sending, sent, delivered, read, failed and so on."),
                "accepted_at": _("When WhatsApp accepted it."),
                "delivered_at": _("When it was delivered."),
                "read_at": _("When it was read."),
                "error_title": _("Why it failed, if it did."),
                "body": _("The text (empty once the retention period has passed)."),
            },
        ),
        "replies": (
            _("Messages received from contacts."),
            {
                "received_at": _("When it was received."),
                "number": _("The workspace's number it was sent to."),
                "phone": _("Sender's number (E.164)."),
                "kind": _("text, button, image and so on."),
                "text": _("The text (empty once the retention period has passed)."),
                "payload": _("The button's payload, for a button reply."),
                "campaign_name": _("Campaign it answered, if known."),
                "is_opt_out": _("Whether it unsubscribed the contact."),
            },
        ),
        "campaign_media": (
            _("Campaign header files; each file is in the archive under the path in file."),
            {
                "campaign_id": _("The campaign (public_id in campaigns)."),
                "campaign_name": _("Campaign name."),
                "file": _("Path of the file in this archive."),
                "media_type": _("The file's type."),
                "size_bytes": _("File size in bytes (empty: the file is missing)."),
                "uploaded_to_numbers": _("Numbers it was uploaded to."),
            },
        ),
        "conversations": (
            _(
                "Inbox conversations: one per contact and number (the messages are in messages "
                "and replies)."
            ),
            {
                "number": _("The workspace's number the conversation is on."),
                "phone": phone,
                "profile_name": _("The contact's WhatsApp profile name."),
                "status": _("open, pending or closed."),
                "assignee_email": _("E-mail of the team member it is assigned to."),
                "labels": _("Labels (JSON list)."),
                "last_message_at": _("When the last message was sent or received."),
                "last_inbound_at": _("When the contact last wrote."),
            },
        ),
        "conversation_notes": (
            _("The team's internal notes in conversations (never sent to the contact)."),
            {
                "conversation_public_id": _("The conversation (public_id in conversations)."),
                "phone": _("The conversation's contact number (E.164)."),
                "author_email": _("E-mail of the team member who wrote it."),
                "text": _("The note."),
            },
        ),
        "canned_replies": (
            _("Saved replies the team inserts in conversations."),
            {"name": _("Name of the saved reply."), "text": _("Its text.")},
        ),
    }


def summary_for_workspaces(*, workspace_ids: list[int]) -> list[tuple[str, int]]:
    return [
        (category, model._base_manager.filter(workspace_id__in=workspace_ids).count())
        for category, model in (
            ("numbers", Sender),
            ("contacts", Contact),
            ("templates", MessageTemplate),
            ("messages", Message),
            ("replies", InboundMessage),
        )
    ]


def workspace_keeps_records(*, workspace: Workspace) -> bool:
    return False  # nothing of messaging must outlive the workspace


def erase_workspace(*, workspace: Workspace) -> dict[str, int]:
    """Every messaging row of the workspace, the suppression entries of the workspace included
    (the workspace they protect is gone), and the files those rows point at: uploaded import
    spreadsheets and campaign header media (deleted from storage once the erasure commits, so
    a rolled-back erasure keeps them)."""
    files = [
        *Campaign.objects.filter(workspace=workspace)
        .exclude(header_media_file="")
        .values_list("header_media_file", flat=True),
        *ContactImport.objects.filter(workspace=workspace, file_deleted_at__isnull=True)
        .exclude(file="")
        .values_list("file", flat=True),
    ]
    counts = workspace_rows_delete(
        workspace=workspace, model_classes=apps.get_app_config("messaging").get_models()
    )
    if files:
        transaction.on_commit(lambda: _stored_files_delete(files))
    return counts


def _stored_files_delete(names: list[str]) -> None:
    for name in names:
        try:
            default_storage.delete(name)
        except OSError:
            logger.exception("could not delete an erased workspace's file %s", name)


def pseudonymise_person(
    *, user_id: int, workspace_ids: list[int], identifiers: list[str], pseudonym: str
) -> int:
    return 0  # an account holder's identifiers are not kept in messaging's records


# The platform's home country: what a new workspace gets as its default country. A
# platform-wide erasure has no workspace to take the default from.
def _platform_default_country() -> str:
    return str(Workspace._meta.get_field("default_country").get_default())


def recipient_phone(*, workspace: Workspace | None, phone: str) -> str | None:
    """The number as contacts store it (E.164), read like every other number the workspace
    types: national forms ("050 123 45 67") in the workspace's default country."""
    region = workspace.default_country if workspace is not None else _platform_default_country()
    result = parse_phone(phone, default_country=region)
    if result.e164 is None:
        raise ValidationError(result.message, code=result.reason)
    return result.e164


def erase_recipient(
    *, workspace: Workspace | None, phone_e164: str, reason: str, actor: User | None
) -> dict[str, int]:
    """Contact rows deleted (and the tags or attribute names only they had), phone and text
    removed from messages, replies and import reports deleted, and the salted hash of the
    number put on the suppression list so a re-import needs fresh consent."""
    ws_filter: dict[str, Workspace] = {"workspace": workspace} if workspace else {}
    variants = [phone_e164, phone_e164[1:]]
    counts: dict[str, int] = {}

    erased_contacts = Contact._base_manager.filter(phone__in=variants, **ws_filter)
    workspace_ids = set(erased_contacts.values_list("workspace_id", flat=True))
    _n, per_model = erased_contacts.delete()
    counts.update({k: v for k, v in per_model.items() if v})
    if workspace_ids:
        # A tag or attribute name only this person had (it may name them) goes with them.
        pruned = sum(
            contact_vocabulary_prune(workspace=erased_in)
            for erased_in in Workspace.objects.filter(pk__in=workspace_ids)
        )
        counts["messaging.ContactVocabulary"] = pruned

    counts["messaging.Message(redacted)"] = Message._base_manager.filter(
        phone__in=variants, **ws_filter
    ).update(phone="", body="", content=None)
    counts["messaging.InboundMessage"] = InboundMessage._base_manager.filter(
        phone__in=variants, **ws_filter
    ).delete()[0]
    # The inbox's conversations with the number (their notes go with them).
    counts["messaging.Conversation"] = Conversation._base_manager.filter(
        phone__in=variants, **ws_filter
    ).delete()[0]
    counts["messaging.CustomerWindow"] = CustomerWindow._base_manager.filter(
        phone__in=variants, **ws_filter
    ).delete()[0]
    counts["messaging.ContactImportRejection"] = ContactImportRejection._base_manager.filter(
        row__icontains=phone_e164[1:], **ws_filter
    ).delete()[0]
    _suppress(workspace=workspace, phone_e164=phone_e164, reason=reason, actor=actor)
    return counts


def _suppress(
    *, workspace: Workspace | None, phone_e164: str, reason: str, actor: User | None
) -> SuppressedPhone:
    """Put the number on the suppression list of the workspace, or of the whole platform when
    `workspace` is None. Idempotent: erasing the same number twice keeps one entry."""
    scope = SuppressedPhone.Scope.WORKSPACE if workspace else SuppressedPhone.Scope.PLATFORM
    entry, _created = SuppressedPhone.objects.get_or_create(
        phone_hash=subject_hash(phone_e164),
        scope=scope,
        workspace=workspace,
        defaults={"reason": reason[:200], "created_by": actor},
    )
    return entry


def purge_message_bodies(*, now: datetime, batch: int) -> int:
    """Remove the texts of messages sent (body, media or interactive content) and received
    (reply text, button payload) that are older than their workspace's retention period, a
    batch at a time (no statement locks the whole table); the delivery records stay. Each
    batch is one SELECT and one UPDATE over every workspace at once: the cutoff is computed in
    SQL from the workspace's own period."""
    # The inbox list's previews are message text too (one statement: only conversations
    # whose last message is that old still show one).
    Conversation._base_manager.filter(
        last_message_at__lt=message_retention_cutoff(now=now)
    ).exclude(last_preview="").update(last_preview="")
    total = 0
    sent_due = Message._base_manager.filter(
        created_at__lt=message_retention_cutoff(now=now)
    ).exclude(body="", content__isnull=True)
    total += _blank_in_batches(sent_due, batch=batch, blank={"body": "", "content": None})
    received_due = InboundMessage._base_manager.filter(
        received_at__lt=message_retention_cutoff(now=now)
    ).exclude(text="", payload="")
    total += _blank_in_batches(received_due, batch=batch, blank={"text": "", "payload": ""})
    return total


def _blank_in_batches(due: models.QuerySet[Any], *, batch: int, blank: dict[str, Any]) -> int:
    total = 0
    while True:
        ids = list(due.values_list("pk", flat=True)[:batch])
        if not ids:
            return total
        total += due.model._base_manager.filter(pk__in=ids).update(**blank)
