"""Ticket texts and attachments are personal data (privacy policy §2.5): in the account's
export, gone with the account that wrote them, gone with the workspace, and purged by the
retention job SUPPORT_TICKET_RETENTION_DAYS after a ticket is closed."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import User, Workspace
from accounts.permissions import Role
from privacy import services as privacy_services
from privacy.models import DataExport
from support import services
from support.models import Ticket, TicketAttachment, TicketMessage
from support.tasks import tickets_purge_expired_task
from tests.privacy.conftest import find_everywhere

from .conftest import PNG

pytestmark = pytest.mark.django_db


def _stored(media: Path) -> list[str]:
    return (
        sorted(p.name for p in (media / "support").glob("*"))
        if (media / "support").exists()
        else []
    )


def test_export_contains_the_workspaces_tickets_without_staffs_internal_notes(
    workspace: Workspace,
    owner: User,
    member_client: Client,
    agent: User,
    open_ticket: Callable[..., Ticket],
    django_capture_on_commit_callbacks: Any,
) -> None:
    ticket = open_ticket(
        owner,
        subject="Invoice address",
        body="Please put Nizami 5 on the invoice.",
        files=[SimpleUploadedFile("card.png", PNG)],
    )
    services.ticket_staff_reply(ticket=ticket, actor=agent, body="Done, see the new invoice.")
    services.ticket_staff_reply(ticket=ticket, actor=agent, body="Staff-only remark", internal=True)

    with django_capture_on_commit_callbacks(execute=True):
        member_client.post(reverse("privacy:centre_export"))
    export = DataExport.objects.get()
    response = member_client.get(reverse("privacy:export_download", args=[export.public_id]))
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))

    tickets = json.loads(archive.read("support_tickets.json"))
    assert [(t["number"], t["subject"], t["opened_by_email"]) for t in tickets] == [
        (ticket.pk, "Invoice address", owner.email)
    ]
    messages = json.loads(archive.read("support_messages.json"))
    assert [(m["from"], m["body"]) for m in messages] == [
        ("customer", "Please put Nizami 5 on the invoice."),
        ("iSend support", "Done, see the new invoice."),
    ]
    attachments = json.loads(archive.read("support_attachments.json"))
    assert [(a["original_name"], a["content_type"]) for a in attachments] == [
        ("card.png", "image/png")
    ]
    assert "Staff-only remark" not in "".join(archive.read(n).decode() for n in archive.namelist())


def test_erasing_an_account_removes_the_tickets_it_opened_and_blanks_what_it_wrote(
    workspace: Workspace,
    owner: User,
    member_of: Callable[..., User],
    agent: User,
    open_ticket: Callable[..., Ticket],
    media_root: Path,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given: a member (who leaves) opened a ticket with a file and wrote on the owner's one
    leaver = member_of(Role.MEMBER, email="leaver@example.az")
    theirs = open_ticket(
        leaver, body="Qvarzbek's private question", files=[SimpleUploadedFile("a.png", PNG)]
    )
    owners = open_ticket(owner, subject="Shared", body="Owner's question")
    services.ticket_customer_reply(
        workspace=workspace,
        ticket=owners,
        user=leaver,
        body="Qvarzbek adds: the same here",
        files=[SimpleUploadedFile("b.png", PNG)],
    )
    services.ticket_staff_reply(ticket=owners, actor=agent, body="Answer to both")
    assert len(_stored(media_root)) == 2

    # when
    with django_capture_on_commit_callbacks(execute=True):
        privacy_services.account_erase(user=leaver, actor=None, reason="test")

    # then: their ticket is gone with its file; on the owner's ticket their words are blanked
    assert not Ticket.objects.filter(pk=theirs.pk).exists()
    assert list(TicketMessage.objects.filter(ticket=owners).values_list("body", flat=True)) == [
        "Owner's question",
        "[erased with the author's account]",
        "Answer to both",
    ]
    assert not TicketAttachment.objects.exists()
    assert _stored(media_root) == []
    assert find_everywhere("Qvarzbek") == []
    assert find_everywhere("leaver@example.az") == []


def test_erasing_a_workspace_removes_its_tickets_and_files(
    workspace: Workspace,
    owner: User,
    open_ticket: Callable[..., Ticket],
    media_root: Path,
    django_capture_on_commit_callbacks: Any,
) -> None:
    open_ticket(owner, files=[SimpleUploadedFile("c.png", PNG)])

    with django_capture_on_commit_callbacks(execute=True):
        privacy_services.account_erase(user=owner, actor=None, reason="test")

    assert not Ticket.objects.exists()
    assert not TicketMessage.objects.exists()
    assert _stored(media_root) == []


def test_retention_purges_tickets_closed_longer_than_the_period_only(
    workspace: Workspace,
    owner: User,
    agent: User,
    open_ticket: Callable[..., Ticket],
    settings: Any,
    media_root: Path,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given: the period is 365 days; tickets closed 366 and 364 days ago, and an open one
    # untouched for two years
    settings.SUPPORT_TICKET_RETENTION_DAYS = 365
    now = timezone.now()
    old = open_ticket(owner, subject="old", files=[SimpleUploadedFile("old.png", PNG)])
    recent = open_ticket(owner, subject="recent")
    still_open = open_ticket(owner, subject="open")
    for ticket, days in ((old, 366), (recent, 364)):
        services.ticket_set_status(ticket=ticket, actor=agent, status=Ticket.Status.CLOSED)
        Ticket.objects.filter(pk=ticket.pk).update(closed_at=now - timedelta(days=days))
    Ticket.objects.filter(pk=still_open.pk).update(
        created_at=now - timedelta(days=730), updated_at=now - timedelta(days=730)
    )

    # when: the beat job runs
    with django_capture_on_commit_callbacks(execute=True):
        purged = tickets_purge_expired_task()

    # then
    assert purged == 1
    beat = settings.CELERY_BEAT_SCHEDULE["support-purge-closed-tickets"]
    assert beat["task"] == tickets_purge_expired_task.name
    assert set(Ticket.objects.values_list("subject", flat=True)) == {"recent", "open"}
    assert not TicketMessage.objects.filter(ticket_id=old.pk).exists()
    assert not TicketAttachment.objects.exists()
    assert _stored(media_root) == []
    assert tickets_purge_expired_task() == 0
