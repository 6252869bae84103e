"""The staff ticket page: an answer due time only while the ticket waits on staff (not while
it waits on the customer or is closed), and times labelled with their zone."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from support import services
from support.models import Ticket

pytestmark = pytest.mark.django_db


def _staff_page(agent_client: Client, ticket: Ticket) -> str:
    return agent_client.get(
        reverse("admin:support_ticket_change", args=[ticket.pk])
    ).content.decode()


@pytest.mark.parametrize(
    ("status", "shows_due"),
    [
        pytest.param(Ticket.Status.OPEN, True, id="open_case"),
        pytest.param(Ticket.Status.WAITING_ON_STAFF, True, id="waiting_on_staff_case"),
        pytest.param(Ticket.Status.WAITING_ON_CUSTOMER, False, id="waiting_on_customer_case"),
        pytest.param(Ticket.Status.CLOSED, False, id="closed_case"),
    ],
)
def test_the_staff_page_shows_an_answer_due_time_only_while_staff_owe_one(
    owner: User,
    agent: User,
    agent_client: Client,
    open_ticket: Callable[..., Ticket],
    status: str,
    shows_due: bool,
) -> None:
    ticket = open_ticket(owner)
    if status != Ticket.Status.OPEN:
        services.ticket_set_status(ticket=ticket, actor=agent, status=status)

    page = _staff_page(agent_client, ticket)

    assert ticket.due_at is not None or status == Ticket.Status.OPEN
    assert ("Answer due" in page) is shows_due
    assert ('data-testid="staff-ticket-due"' in page) is shows_due


def test_the_staff_page_says_which_zone_its_times_are_in(
    owner: User, agent_client: Client, open_ticket: Callable[..., Ticket]
) -> None:
    ticket = open_ticket(owner)
    ticket.refresh_from_db()
    due = ticket.due_at.strftime("%Y-%m-%d %H:%M")
    sent = ticket.messages.get().created_at.strftime("%Y-%m-%d %H:%M")

    page = _staff_page(agent_client, ticket)
    queue = agent_client.get(reverse("admin:support_ticket_changelist")).content.decode()

    assert f"{due} UTC" in page
    assert f"{sent} UTC" in page
    assert f"{due} UTC" in queue
