"""A customer closes their own ticket from its page (a POST, members who may see the ticket
only, audited in the workspace's activity); writing on it again reopens it."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import AuditEvent, User, Workspace
from accounts.permissions import Role
from support.models import Ticket

from .conftest import client_for

pytestmark = pytest.mark.django_db


def _help(workspace: Workspace, name: str, ticket: Ticket) -> str:
    return reverse(f"support:{name}", args=[workspace.slug, ticket.public_id])


def test_a_customer_closes_their_ticket_and_writing_again_reopens_it(
    workspace: Workspace,
    owner: User,
    member_of: Callable[..., User],
    open_ticket: Callable[..., Ticket],
) -> None:
    ticket = open_ticket(owner)
    colleague = member_of(Role.ADMIN)
    page = client_for(owner).get(_help(workspace, "ticket", ticket)).content.decode()
    assert 'data-testid="close-ticket-form"' in page
    assert "Close ticket" in page

    # a GET does nothing: closing is a POST from the ticket's page
    assert client_for(owner).get(_help(workspace, "ticket_close", ticket)).status_code == 405
    response = client_for(colleague).post(_help(workspace, "ticket_close", ticket))

    assert response.status_code == 302
    assert response["Location"] == _help(workspace, "ticket", ticket)
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.CLOSED
    assert ticket.closed_at is not None
    event = AuditEvent.objects.get(action="support.customer_closed")
    assert event.workspace == workspace
    assert event.actor_user == colleague
    page = client_for(owner).get(_help(workspace, "ticket", ticket)).content.decode()
    assert 'data-testid="close-ticket-form"' not in page
    assert "Write again (reopens the ticket)" in page

    # writing again reopens it, waiting on staff
    client_for(owner).post(_help(workspace, "ticket_reply", ticket), {"body": "One more thing."})
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.WAITING_ON_STAFF
    assert ticket.closed_at is None


def test_only_members_who_may_see_the_ticket_can_close_it(
    workspace: Workspace,
    other_workspace: Workspace,
    owner: User,
    member_of: Callable[..., User],
    open_ticket: Callable[..., Ticket],
) -> None:
    ticket = open_ticket(owner)
    outsider = member_of(Role.OWNER, ws=other_workspace)

    refused = client_for(outsider).post(_help(workspace, "ticket_close", ticket))
    # another workspace's ticket, asked for under that workspace's address, is not found
    under_own = client_for(outsider).post(
        reverse("support:ticket_close", args=[other_workspace.slug, ticket.public_id])
    )
    # and without the CSRF token the form is refused
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(owner)
    no_token = strict.post(_help(workspace, "ticket_close", ticket))

    assert refused.status_code == 404
    assert under_own.status_code == 404
    assert no_token.status_code == 403
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.OPEN
    assert not AuditEvent.objects.filter(action="support.customer_closed").exists()
