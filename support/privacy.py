"""The support desk's privacy door: what the privacy app may do with support's data.

Privacy finds this module at start-up (`privacy.registry`) and calls these functions; they
follow `privacy.registry.PrivacyDoor` without importing privacy (support imports privacy's
services, never the other way). Support holds what customers wrote to iSend (privacy policy
§2.5): tickets, their messages and attachments. They belong to a workspace and go with it;
a person's own tickets go with their account; closed tickets are purged after
SUPPORT_TICKET_RETENTION_DAYS (`support.services.tickets_purge_expired`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

from django.apps import apps
from django.db import transaction
from django.db.models import F, Q
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from accounts.models import User, Workspace
from accounts.tenancy import workspace_rows_delete
from support.files import attachment_files_of, stored_files_delete
from support.models import Ticket, TicketAttachment, TicketMessage

ExportRows = Callable[[], Iterable[Mapping[str, Any]]]

TICKET_FIELDS = [
    "number",
    "workspace_slug",
    "subject",
    "category",
    "status",
    "opened_by_email",
    "created_at",
    "closed_at",
]
MESSAGE_FIELDS = ["ticket_number", "from", "author_email", "body", "created_at"]
ATTACHMENT_FIELDS = ["ticket_number", "original_name", "content_type", "size_bytes", "created_at"]
ERASED_BODY = "[erased with the author's account]"
#: Rows fetched per round trip: memory stays flat however long the threads are.
EXPORT_CHUNK = 2000


def _tickets(workspace_ids: list[int]) -> ExportRows:
    # The number is the ticket's number as its pages show it ("#42"), which support asks for.
    def rows() -> Iterator[dict[str, Any]]:
        return (
            Ticket.objects.filter(workspace_id__in=workspace_ids)
            .order_by("pk")
            .annotate(
                number=F("pk"),
                opened_by_email=F("opened_by__email"),
                workspace_slug=F("workspace__slug"),
            )
            .values(*TICKET_FIELDS)
            .iterator(chunk_size=EXPORT_CHUNK)
        )

    return rows


def _messages(workspace_ids: list[int]) -> ExportRows:
    # Staff's internal notes are staff's working notes, not what the customer and iSend
    # exchanged: they are not part of the export (as they are not shown to the customer).
    def rows() -> Iterator[dict[str, Any]]:
        return (
            {
                "ticket_number": m["ticket_id"],
                "from": "iSend support" if m["from_staff"] else "customer",
                "author_email": "" if m["from_staff"] else m["author__email"],
                "body": m["body"],
                "created_at": m["created_at"],
            }
            for m in TicketMessage.objects.filter(workspace_id__in=workspace_ids, internal=False)
            .order_by("ticket_id", "created_at", "pk")
            .values("ticket_id", "from_staff", "author__email", "body", "created_at")
            .iterator(chunk_size=EXPORT_CHUNK)
        )

    return rows


def _attachments(workspace_ids: list[int]) -> ExportRows:
    def rows() -> Iterator[dict[str, Any]]:
        return (
            TicketAttachment.objects.filter(workspace_id__in=workspace_ids, message__internal=False)
            .order_by("pk")
            .annotate(ticket_number=F("ticket_id"))
            .values(*ATTACHMENT_FIELDS)
            .iterator(chunk_size=EXPORT_CHUNK)
        )

    return rows


def export_for_workspaces(*, workspace_ids: list[int]) -> list[tuple[str, ExportRows, list[str]]]:
    return [
        ("support_tickets", _tickets(workspace_ids), TICKET_FIELDS),
        ("support_messages", _messages(workspace_ids), MESSAGE_FIELDS),
        ("support_attachments", _attachments(workspace_ids), ATTACHMENT_FIELDS),
    ]


def export_descriptions() -> dict[str, tuple[str | Promise, dict[str, str | Promise]]]:
    """Optional door function: what each export file holds and what its columns mean, for
    the archive's README (columns every file shares are described by privacy)."""
    ticket = _("The ticket's number, as its page shows it (#number).")
    return {
        "support_tickets": (
            _("Support tickets opened in the workspace."),
            {
                "number": ticket,
                "subject": _("Subject."),
                "category": _("Category."),
                "status": _("The ticket's status."),
                "opened_by_email": _("E-mail address of the person who opened it."),
                "closed_at": _("When it was closed."),
            },
        ),
        "support_messages": (
            _("The messages of each ticket (iSend staff's internal notes are not included)."),
            {
                "ticket_number": ticket,
                "from": _("customer or iSend support."),
                "author_email": _("E-mail address of the customer who wrote it."),
                "body": _("The text."),
            },
        ),
        "support_attachments": (
            _("Files attached to ticket messages (their names and sizes)."),
            {
                "ticket_number": ticket,
                "original_name": _("File name."),
                "content_type": _("The file's type."),
                "size_bytes": _("File size in bytes."),
            },
        ),
    }


def summary_for_workspaces(*, workspace_ids: list[int]) -> list[tuple[str, int]]:
    return [("support_tickets", Ticket.objects.filter(workspace_id__in=workspace_ids).count())]


def workspace_keeps_records(*, workspace: Workspace) -> bool:
    return False  # no law keeps support tickets


def erase_workspace(*, workspace: Workspace) -> dict[str, int]:
    """Every ticket of the workspace with its messages and attachments, and the files (deleted
    from storage once the erasure commits, so a rolled-back erasure keeps them)."""
    files = attachment_files_of(Q(workspace=workspace))
    counts = workspace_rows_delete(
        workspace=workspace, model_classes=apps.get_app_config("support").get_models()
    )
    if files:
        transaction.on_commit(lambda: stored_files_delete(files))
    return counts


def pseudonymise_person(
    *, user_id: int, workspace_ids: list[int], identifiers: list[str], pseudonym: str
) -> int:
    """An account is erased: the tickets the person opened go (with their threads and files:
    what they asked is theirs, not the workspace's), and what they wrote on other tickets of
    their workspaces is blanked. Staff's replies on remaining tickets stay, authorless once
    the user row is gone. Returns the rows changed or deleted."""
    opened = Q(opened_by_id=user_id)
    files = attachment_files_of(opened)
    deleted, _per_model = Ticket.objects.filter(opened).delete()
    blanked = TicketMessage.objects.filter(author_id=user_id, from_staff=False).update(
        body=ERASED_BODY
    )
    attachments = TicketAttachment.objects.filter(
        message__author_id=user_id, message__from_staff=False
    )
    files += list(attachments.exclude(file="").values_list("file", flat=True))
    removed, _per_model = attachments.delete()
    if files:
        transaction.on_commit(lambda: stored_files_delete(files))
    return deleted + blanked + removed


def recipient_phone(*, workspace: Workspace | None, phone: str) -> str | None:
    return None  # support keeps no recipients' numbers


def erase_recipient(
    *, workspace: Workspace | None, phone_e164: str, reason: str, actor: User | None
) -> dict[str, int]:
    return {}


def purge_message_bodies(*, now: datetime, batch: int) -> int:
    return 0  # tickets have their own retention: support.services.tickets_purge_expired
