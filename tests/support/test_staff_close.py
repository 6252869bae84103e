"""Staff closing a ticket tells the opener: a notification and an e-mail, in the language
they opened the ticket in, with the link to write again."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import translation

from accounts.models import Notification, User, Workspace
from support import services
from support.models import Ticket

pytestmark = pytest.mark.django_db


def _help(workspace: Workspace, name: str, ticket: Ticket) -> str:
    return reverse(f"support:{name}", args=[workspace.slug, ticket.public_id])


def test_staff_closing_a_ticket_tells_the_opener_in_their_language(
    workspace: Workspace,
    owner: User,
    agent: User,
    agent_client: Client,
    open_ticket: Callable[..., Ticket],
    django_capture_on_commit_callbacks,
) -> None:
    ticket = open_ticket(owner, language="en")
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        response = agent_client.post(
            reverse("admin:support_ticket_update", args=[ticket.pk]),
            {"status": Ticket.Status.CLOSED, "assignee": ""},
        )

    assert response.status_code == 302
    [to_customer] = mail.outbox
    assert to_customer.to == [owner.email]
    assert f"Your support ticket #{ticket.pk} was closed: Campaign stuck" in to_customer.subject
    assert _help(workspace, "ticket", ticket) in to_customer.body
    assert "reopens it" in to_customer.body
    notice = Notification.objects.get(user=owner, kind="support.ticket_closed")
    assert f"closed your ticket #{ticket.pk}" in notice.text
    assert notice.link == _help(workspace, "ticket", ticket)


def test_the_closing_e_mail_is_rendered_in_the_ticket_s_language(
    owner: User,
    agent: User,
    open_ticket: Callable[..., Ticket],
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks,
) -> None:
    from accounts import emails

    rendered_in: set[str] = set()
    real_render = emails.render_to_string

    def spy(name: str, context: dict[str, object]) -> str:
        if "support_ticket_closed" in name:
            rendered_in.add(translation.get_language())
        return real_render(name, context)

    monkeypatch.setattr(emails, "render_to_string", spy)
    ticket = open_ticket(owner, language="ru")

    with translation.override("en"), django_capture_on_commit_callbacks(execute=True):
        services.ticket_set_status(ticket=ticket, actor=agent, status=Ticket.Status.CLOSED)

    assert rendered_in == {"ru"}
