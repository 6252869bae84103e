"""Staff work tickets in the admin beside the data-request queue: the Support group sees and
answers them (never adds or deletes), overdue tickets come first, the filters narrow the
queue, and assignment and status changes are recorded and told to the assignee."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent, Notification, User
from support.models import Ticket
from tests.factories import UserFactory

from .conftest import client_for

pytestmark = pytest.mark.django_db

QUEUE = reverse("admin:support_ticket_changelist")


def _due_in(ticket: Ticket, hours: float, status: str | None = None) -> Ticket:
    Ticket.objects.filter(pk=ticket.pk).update(
        due_at=timezone.now() + timedelta(hours=hours), status=status or ticket.status
    )
    return ticket


def test_the_support_group_works_the_ticket_queue_and_cannot_add_or_delete(
    owner: User, agent_client: Client, open_ticket: Callable[..., Ticket]
) -> None:
    ticket = open_ticket(owner)

    assert agent_client.get(QUEUE).status_code == 200
    assert (
        agent_client.get(reverse("admin:support_ticket_change", args=[ticket.pk])).status_code
        == 200
    )
    assert agent_client.get(reverse("admin:support_ticket_add")).status_code == 403
    delete = reverse("admin:support_ticket_delete", args=[ticket.pk])
    assert agent_client.post(delete, {"post": "yes"}).status_code == 403
    assert Ticket.objects.filter(pk=ticket.pk).exists()
    # a staff member outside the group sees nothing of it
    outsider = client_for(UserFactory(is_staff=True))
    assert outsider.get(QUEUE).status_code == 403
    assert outsider.get(reverse("admin:support_ticket_change", args=[ticket.pk])).status_code == 403
    reply = reverse("admin:support_ticket_reply", args=[ticket.pk])
    assert outsider.post(reply, {"body": "hi"}).status_code == 403
    assert ticket.messages.count() == 1


def test_overdue_tickets_come_first_and_filters_narrow_the_queue(
    owner: User, agent: User, agent_client: Client, open_ticket: Callable[..., Ticket]
) -> None:
    later = _due_in(open_ticket(owner, subject="later"), 20)
    overdue = _due_in(open_ticket(owner, subject="overdue", category="billing"), -2)
    soon = _due_in(open_ticket(owner, subject="soon"), 1)
    waiting = _due_in(open_ticket(owner, subject="waiting"), -5, Ticket.Status.WAITING_ON_CUSTOMER)
    closed = open_ticket(owner, subject="closed")
    Ticket.objects.filter(pk=closed.pk).update(
        status=Ticket.Status.CLOSED,
        closed_at=timezone.now(),
        due_at=timezone.now() - timedelta(days=3),
    )
    Ticket.objects.filter(pk=soon.pk).update(assignee=agent)

    def order(query: str = "") -> list[int]:
        response = agent_client.get(QUEUE + query)
        return [t.pk for t in response.context["cl"].result_list]

    assert order() == [overdue.pk, soon.pk, later.pk, waiting.pk, closed.pk]
    assert 'class="overdue"' in agent_client.get(QUEUE).content.decode()
    assert order("?overdue=yes") == [overdue.pk]
    assert order("?category__exact=billing") == [overdue.pk]
    assert order("?status__exact=closed") == [closed.pk]
    assert order(f"?assignee__id__exact={agent.pk}") == [soon.pk]


def test_assigning_and_changing_the_status_from_the_ticket_page(
    workspace, owner: User, agent: User, agent_client: Client, open_ticket: Callable[..., Ticket]
) -> None:
    colleague = UserFactory(is_staff=True, email="colleague@isend.example")
    colleague.groups.add(Group.objects.get(name="Support"))
    ticket = open_ticket(owner)

    response = agent_client.post(
        reverse("admin:support_ticket_update", args=[ticket.pk]),
        {"status": Ticket.Status.CLOSED, "assignee": colleague.pk},
    )

    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.assignee == colleague
    assert ticket.status == Ticket.Status.CLOSED
    assert ticket.closed_at is not None
    notice = Notification.objects.get(user=colleague)
    assert f"assigned ticket #{ticket.pk}" in notice.text
    assert AuditEvent.objects.filter(
        action="support.ticket_assigned", actor_user=agent, workspace=None
    ).exists()
    status_event = AuditEvent.objects.get(action="support.status_changed")
    assert status_event.details["from"] == "open"
    assert status_event.details["to"] == "closed"
    # a customer writing again reopens it, waiting on staff, due by the category's time
    client_for(owner).post(
        reverse("support:ticket_reply", args=[workspace.slug, ticket.public_id]),
        {"body": "Still broken."},
    )
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.WAITING_ON_STAFF
    assert ticket.closed_at is None
    assert abs((ticket.due_at - timezone.now()) - timedelta(hours=24)) < timedelta(minutes=1)


def test_only_support_staff_can_be_assigned(
    owner: User, agent_client: Client, open_ticket: Callable[..., Ticket]
) -> None:
    ticket = open_ticket(owner)

    response = agent_client.post(
        reverse("admin:support_ticket_update", args=[ticket.pk]),
        {"status": Ticket.Status.OPEN, "assignee": owner.pk},
    )

    assert response.status_code == 400
    ticket.refresh_from_db()
    assert ticket.assignee is None
