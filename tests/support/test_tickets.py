"""The support desk as customers and staff use it: a member opens a ticket from Help, staff
answer from the queue, the member is told by e-mail (in their language) and in the product;
customers' replies reach the support address and the assignee; internal notes stay staff's;
attachments are checked and served only to those who may see the ticket."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import translation

from accounts.models import AuditEvent, Notification, User, Workspace
from accounts.permissions import Role
from support.models import MAX_MESSAGE_CHARS, Ticket, TicketAttachment, TicketMessage

from .conftest import PNG, client_for

pytestmark = pytest.mark.django_db


def _help(workspace: Workspace, name: str = "tickets", *args: object) -> str:
    return reverse(f"support:{name}", args=[workspace.slug, *args])


def _staff_reply(client: Client, ticket: Ticket, body: str, internal: bool = False) -> None:
    data = {"body": body, **({"internal": "on"} if internal else {})}
    response = client.post(reverse("admin:support_ticket_reply", args=[ticket.pk]), data)
    assert response.status_code == 302, response.content.decode()[:2000]


def test_a_ticket_opened_by_a_user_is_answered_by_staff_and_the_user_is_notified(
    workspace: Workspace,
    owner: User,
    member_client: Client,
    agent: User,
    agent_client: Client,
    django_capture_on_commit_callbacks,
) -> None:
    # given: the owner opens a ticket from Help, with a screenshot
    with django_capture_on_commit_callbacks(execute=True):
        response = member_client.post(
            _help(workspace, "ticket_new"),
            {
                "subject": "Number shows as banned",
                "category": "number_banned",
                "body": "Our number +994501112233 stopped sending this morning.",
                "attachments": [SimpleUploadedFile("screen.png", PNG, "image/png")],
            },
        )
    ticket = Ticket.objects.get()
    assert response.status_code == 302
    assert response["Location"] == _help(workspace, "ticket", ticket.public_id)
    assert ticket.status == Ticket.Status.OPEN
    assert ticket.opened_by == owner
    assert ticket.due_at == ticket.created_at + timedelta(hours=8)  # a banned number: 8 hours
    [to_support] = mail.outbox
    assert to_support.to == [settings.SUPPORT_EMAIL]
    assert f"New support ticket #{ticket.pk} (Number banned): Number shows as banned" in (
        to_support.subject
    )
    assert "+994501112233 stopped sending" in to_support.body
    assert "1 attachment" in to_support.body
    assert reverse("admin:support_ticket_change", args=[ticket.pk]) in to_support.body
    mail.outbox.clear()

    # when: staff answer from the queue's ticket page
    with django_capture_on_commit_callbacks(execute=True):
        _staff_reply(agent_client, ticket, "We asked Meta to review the number.")

    # then: the opener is e-mailed the answer and notified in the product
    [to_customer] = mail.outbox
    assert to_customer.to == [owner.email]
    assert f"Reply to your support ticket #{ticket.pk}: Number shows as banned" in (
        to_customer.subject
    )
    assert "We asked Meta to review the number." in to_customer.body
    assert _help(workspace, "ticket", ticket.public_id) in to_customer.body
    notice = Notification.objects.get(user=owner, kind="support.staff_replied")
    assert notice.link == _help(workspace, "ticket", ticket.public_id)
    assert "answered your ticket" in notice.text
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.WAITING_ON_CUSTOMER
    assert ticket.assignee == agent
    # and the owner sees the answer on the ticket's page, with the notification counted
    page = member_client.get(_help(workspace, "ticket", ticket.public_id)).content.decode()
    assert "We asked Meta to review the number." in page
    assert "screen.png" in page
    assert 'data-testid="unread-count">1<' in page


def test_e_mails_are_written_in_the_recipients_language(
    workspace: Workspace,
    owner: User,
    member_client: Client,
    agent: User,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks,
) -> None:
    # The catalogues are filled by translators later: what is checked is the language each
    # e-mail is rendered in (the opener's for staff's answer, the platform's for the desk).
    from accounts import emails
    from support import services

    rendered_in: dict[str, set[str]] = {}
    real_render = emails.render_to_string

    def spy(name: str, context: dict[str, object]) -> str:
        rendered_in.setdefault(name.split("/")[-1].split(".")[0], set()).add(
            translation.get_language()
        )
        return real_render(name, context)

    monkeypatch.setattr(emails, "render_to_string", spy)
    # given: the owner uses iSend in Russian and opens a ticket
    with django_capture_on_commit_callbacks(execute=True):
        member_client.post(
            reverse("support:ticket_new", args=[workspace.slug]),
            {"subject": "Счёт", "category": "billing", "body": "Где мой счёт?"},
            HTTP_ACCEPT_LANGUAGE="ru",
        )
    ticket = Ticket.objects.get()
    assert ticket.language == "ru"

    # when: staff answer (staff's own session is in English)
    with translation.override("en"), django_capture_on_commit_callbacks(execute=True):
        services.ticket_staff_reply(ticket=ticket, actor=agent, body="Отправили.")

    # then
    assert rendered_in["support_ticket_to_staff"] == {settings.LANGUAGE_CODE}
    assert rendered_in["support_ticket_reply"] == {"ru"}
    assert {tuple(m.to) for m in mail.outbox} == {(settings.SUPPORT_EMAIL,), (owner.email,)}


def test_a_customer_reply_reaches_the_assignee_once_with_the_reply(
    workspace: Workspace,
    owner: User,
    member_client: Client,
    agent: User,
    open_ticket,
    django_capture_on_commit_callbacks,
) -> None:
    from support import services

    ticket = open_ticket(owner)
    services.ticket_staff_reply(ticket=ticket, actor=agent, body="Which campaign?")
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        response = member_client.post(
            _help(workspace, "ticket_reply", ticket.public_id), {"body": "The spring sale."}
        )

    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.WAITING_ON_STAFF
    assert ticket.due_at is not None
    # one e-mail, to the staff member on the ticket, with the reply (the support address and
    # a second, bodiless notice e-mail used to go too)
    assert [m.to for m in mail.outbox] == [[agent.email]]
    to_agent = mail.outbox[0]
    assert f"Customer replied on ticket #{ticket.pk}" in to_agent.subject
    assert "The spring sale." in to_agent.body
    notice = Notification.objects.get(user=agent, kind="support.ticket_activity")
    assert notice.link == reverse("admin:support_ticket_change", args=[ticket.pk])
    assert AuditEvent.objects.filter(
        workspace=workspace, action="support.customer_replied", actor_user=owner
    ).exists()


def test_internal_notes_are_never_shown_or_sent_to_the_customer(
    workspace: Workspace,
    owner: User,
    member_client: Client,
    agent_client: Client,
    open_ticket,
    django_capture_on_commit_callbacks,
) -> None:
    ticket = open_ticket(owner)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        _staff_reply(agent_client, ticket, "Looks like a Meta outage, wait.", internal=True)

    assert mail.outbox == []
    assert not Notification.objects.filter(user=owner).exists()
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.OPEN  # still waiting on staff
    page = member_client.get(_help(workspace, "ticket", ticket.public_id)).content.decode()
    assert "Meta outage" not in page
    staff_page = agent_client.get(reverse("admin:support_ticket_change", args=[ticket.pk]))
    assert "Meta outage" in staff_page.content.decode()
    assert 'data-testid="internal-note"' in staff_page.content.decode()
    # the workspace's activity log records nothing of staff's internal handling
    assert not AuditEvent.objects.filter(workspace=workspace, action="support.note_added")


@pytest.mark.parametrize(
    ("opener_role", "reader_role", "category", "sees"),
    [
        pytest.param(Role.MEMBER, Role.OWNER, "technical", True, id="owner_sees_members_ticket"),
        pytest.param(Role.MEMBER, Role.ADMIN, "billing", True, id="admin_sees_members_ticket"),
        pytest.param(Role.OWNER, Role.MEMBER, "technical", False, id="member_not_owners"),
        pytest.param(Role.MEMBER, Role.VIEWER, "technical", False, id="viewer_not_others"),
        pytest.param(Role.MEMBER, Role.OWNER, "privacy", False, id="privacy_only_opener"),
    ],
)
def test_who_sees_a_workspace_ticket(
    workspace: Workspace,
    member_of: Callable[..., User],
    open_ticket,
    opener_role: str,
    reader_role: str,
    category: str,
    sees: bool,
) -> None:
    opener = member_of(opener_role)
    reader = member_of(reader_role)
    ticket = open_ticket(opener, category=category, subject="Zircon question")
    client = client_for(reader)

    listing = client.get(_help(workspace)).content.decode()
    page = client.get(_help(workspace, "ticket", ticket.public_id))
    reply = client.post(_help(workspace, "ticket_reply", ticket.public_id), {"body": "Me too"})

    assert ("Zircon question" in listing) is sees
    assert page.status_code == (200 if sees else 404)
    assert reply.status_code == (302 if sees else 404)
    assert TicketMessage.objects.filter(ticket=ticket).count() == (2 if sees else 1)
    # the opener always sees their own ticket
    assert client_for(opener).get(_help(workspace, "ticket", ticket.public_id)).status_code == 200


def test_a_viewer_can_ask_for_help_and_follow_their_own_ticket(
    workspace: Workspace, member_of: Callable[..., User]
) -> None:
    viewer = member_of(Role.VIEWER)
    client = client_for(viewer)

    response = client.post(
        _help(workspace, "ticket_new"),
        {"subject": "Cannot see analytics", "category": "technical", "body": "Blank page."},
    )

    ticket = Ticket.objects.get(opened_by=viewer)
    assert response.status_code == 302
    assert response["Location"] == _help(workspace, "ticket", ticket.public_id)
    assert "Cannot see analytics" in client.get(_help(workspace)).content.decode()


def test_another_workspace_cannot_see_the_ticket_or_its_attachment(
    workspace: Workspace,
    other_workspace: Workspace,
    owner: User,
    member_of: Callable[..., User],
    open_ticket,
) -> None:
    ticket = open_ticket(
        owner,
        body="Alpha confidential",
        files=[SimpleUploadedFile("invoice.pdf", b"%PDF-1.4 alpha secret", "application/pdf")],
    )
    attachment = TicketAttachment.objects.get()
    stranger = member_of(Role.OWNER, ws=other_workspace)
    client = client_for(stranger)
    urls = [
        _help(workspace, "ticket", ticket.public_id),
        _help(workspace, "attachment", ticket.public_id, attachment.public_id),
        # our ids under the stranger's own slug
        _help(other_workspace, "ticket", ticket.public_id),
        _help(other_workspace, "attachment", ticket.public_id, attachment.public_id),
    ]

    for url in urls:
        response = client.get(url)
        assert response.status_code == 404, url
    reply = client.post(_help(other_workspace, "ticket_reply", ticket.public_id), {"body": "x"})
    assert reply.status_code == 404
    assert "Alpha confidential" not in client.get(_help(other_workspace)).content.decode()
    assert TicketMessage.objects.filter(ticket=ticket).count() == 1
    # while the owner downloads it, as a file, not inline
    download = client_for(owner).get(
        _help(workspace, "attachment", ticket.public_id, attachment.public_id)
    )
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b"%PDF-1.4 alpha secret"
    assert download["Content-Type"] == "application/pdf"
    assert download["Content-Disposition"].startswith("attachment;")
    # the stored name is random: nothing in the path can be guessed from the ticket
    assert "invoice" not in attachment.file.name
    assert str(ticket.public_id) not in attachment.file.name


def test_an_attachment_too_large_or_of_another_type_is_refused_with_a_clear_error(
    workspace: Workspace, member_client: Client, settings
) -> None:
    settings.SUPPORT_ATTACHMENT_MAX_BYTES = 1024

    response = member_client.post(
        _help(workspace, "ticket_new"),
        {
            "subject": "Files",
            "category": "technical",
            "body": "See attached.",
            "attachments": [
                SimpleUploadedFile("big.png", PNG + b"\0" * 2048, "image/png"),
                SimpleUploadedFile("tool.exe", b"MZ\x90\x00binary", "image/png"),
            ],
        },
    )

    page = response.content.decode().replace("\xa0", " ")
    assert response.status_code == 200
    assert "big.png” is 2.1 KB; files may be at most 1.0 KB." in page
    assert "tool.exe” is not a file type we accept. Attach PNG, JPEG, GIF, WebP, PDF" in page
    assert not Ticket.objects.exists()
    assert not TicketAttachment.objects.exists()


def test_an_attachment_posted_as_html_is_stored_under_the_type_its_bytes_have(
    workspace: Workspace, member_client: Client
) -> None:
    # given: a PNG by its bytes with markup after the header, posted as page.html (the file
    # is kept under MEDIA_ROOT, which the README has production serve publicly)
    upload = SimpleUploadedFile("page.html", PNG + b"<script>alert(1)</script>", "text/html")

    # when: a member attaches it to a new ticket
    response = member_client.post(
        _help(workspace, "ticket_new"),
        {
            "subject": "Screenshot",
            "category": "technical",
            "body": "See it.",
            "attachments": upload,
        },
    )

    # then: it is accepted as the image it is, stored under .png, its name kept for downloads
    assert response.status_code == 302
    attachment = TicketAttachment.objects.get()
    assert (attachment.content_type, attachment.original_name) == ("image/png", "page.html")
    assert attachment.file.name.endswith(".png"), attachment.file.name
    assert ".htm" not in attachment.file.name


def test_a_message_longer_than_the_limit_is_refused_and_kept_in_the_form(
    workspace: Workspace, member_client: Client
) -> None:
    # given: a member pastes a whole log into a new ticket, one character over the limit
    pasted = "log line\n" * (MAX_MESSAGE_CHARS // 9) + "x" * (MAX_MESSAGE_CHARS % 9 + 1)
    assert len(pasted) == MAX_MESSAGE_CHARS + 1

    response = member_client.post(
        _help(workspace, "ticket_new"),
        {"subject": "Logs", "category": "technical", "body": pasted},
    )

    # then: the page says why, keeps what they wrote, and nothing is stored
    page = response.content.decode()
    assert response.status_code == 200
    assert "Ensure this value has at most 10000 characters (it has 10001)." in page
    assert "log line" in page
    assert not Ticket.objects.exists()

    # and a reply over the limit is refused the same way; a message at the limit goes in
    opened = member_client.post(
        _help(workspace, "ticket_new"),
        {"subject": "Logs", "category": "technical", "body": pasted[:MAX_MESSAGE_CHARS]},
    )
    assert opened.status_code == 302
    ticket = Ticket.objects.get()
    refused = member_client.post(
        _help(workspace, "ticket_reply", ticket.public_id), {"body": "y" * (MAX_MESSAGE_CHARS + 1)}
    )
    assert refused.status_code == 200
    assert "at most 10000 characters" in refused.content.decode()
    assert [len(m.body) for m in TicketMessage.objects.filter(ticket=ticket)] == [MAX_MESSAGE_CHARS]
