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
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import models, transaction
from django.db.models import Count, F

from accounts.hashing import subject_hash
from accounts.models import User, Workspace
from accounts.selectors import message_retention_cutoff
from accounts.tenancy import workspace_rows_delete
from core.phones import parse_phone
from messaging.campaigns.models import Campaign, InboundMessage, Message
from messaging.contacts.models import Contact, ContactList
from messaging.contacts.services import contact_vocabulary_prune
from messaging.contacts.suppression import SuppressedPhone
from messaging.content.models import MessageTemplate
from messaging.imports.models import ContactImport, ContactImportRejection
from messaging.inbox.models import Conversation
from messaging.numbers.models import CustomerWindow, Sender

logger = logging.getLogger(__name__)

# Columns of each export section. No credentials, tokens or secrets: for numbers, only what
# identifies the number.
NUMBER_FIELDS = ["workspace_id", "provider", "label", "phone_number", "status", "created_at"]
CONTACT_FIELDS = [
    "workspace_id",
    "phone",
    "first_name",
    "last_name",
    "language",
    "country",
    "attributes",
    "tags",
    "consent_source",
    "created_at",
]
CONTACT_LIST_FIELDS = ["workspace_id", "name", "description"]
TEMPLATE_FIELDS = ["workspace_id", "name", "variants", "footer", "wa_template_name", "wa_status"]


ExportRows = Callable[[], Iterable[Mapping[str, Any]]]

#: Messages sent: to whom, from which number and campaign, what became of it and when, and
#: the text while it is still kept (the retention period blanks it).
MESSAGE_FIELDS = [
    "workspace_id",
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
    "workspace_id",
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
    "workspace_id",
    "campaign_id",
    "campaign_name",
    "file",
    "media_type",
    "size_bytes",
    "uploaded_to_numbers",
    "created_at",
]
#: Where campaign header files go in the archive.
CAMPAIGN_MEDIA_FOLDER = "campaign_media"
#: Rows fetched per round trip for the large sections (memory stays flat at any size).
EXPORT_CHUNK = 2000


def _rows_of(model: type[models.Model], workspace_ids: list[int], fields: list[str]) -> ExportRows:
    """The section's rows, read when the export builds that section."""

    def rows() -> list[dict[str, Any]]:
        return list(
            model._default_manager.filter(workspace_id__in=workspace_ids)
            .order_by("pk")
            .values(*fields)
        )

    return rows


def _message_rows(workspace_ids: list[int]) -> ExportRows:
    """Every message of the workspaces (campaign and single sends: the privacy centre's count),
    streamed from a server-side cursor in chunks."""

    def rows() -> Iterator[Mapping[str, Any]]:
        return (
            Message._base_manager.filter(workspace_id__in=workspace_ids)
            .order_by("pk")
            .values(
                "workspace_id",
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
                "workspace_id",
                "received_at",
                "phone",
                "kind",
                "text",
                "payload",
                "is_opt_out",
                campaign_name=F("campaign__name"),
                number=F("sender__phone_number"),
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
            uploaded_to_numbers=Count("media_uploads")
        )
        for campaign in campaigns.iterator(chunk_size=EXPORT_CHUNK):
            yield {
                "workspace_id": campaign.workspace_id,
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
        ("templates", _rows_of(MessageTemplate, workspace_ids, TEMPLATE_FIELDS), TEMPLATE_FIELDS),
        ("messages", _message_rows(workspace_ids), MESSAGE_FIELDS),
        ("replies", _reply_rows(workspace_ids), REPLY_FIELDS),
        ("campaign_media", _campaign_media_rows(workspace_ids), CAMPAIGN_MEDIA_FIELDS),
    ]


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
