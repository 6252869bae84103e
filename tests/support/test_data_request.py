"""A privacy ticket becomes a DataRequest in one click from the staff page, exactly once
(a second click, or two staff members clicking together, find the first), and both sides
show the link."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.db import close_old_connections, connection
from django.test import Client
from django.urls import reverse

from accounts.models import AuditEvent, User, Workspace
from privacy.models import DataRequest
from support import services
from support.models import Ticket
from tests.factories import MembershipFactory, UserFactory, WorkspaceFactory


@pytest.mark.django_db
def test_a_privacy_ticket_becomes_a_data_request_once(
    workspace: Workspace,
    owner: User,
    member_client: Client,
    agent: User,
    agent_client: Client,
    open_ticket: Callable[..., Ticket],
) -> None:
    # given: the owner asks for a copy of their data in a privacy ticket
    ticket = open_ticket(owner, category="privacy", subject="Send me my data")
    staff_page = reverse("admin:support_ticket_change", args=[ticket.pk])
    assert 'data-testid="data-request-form"' in agent_client.get(staff_page).content.decode()
    url = reverse("admin:support_ticket_data_request", args=[ticket.pk])

    # when: staff click "Turn into a data request", then click again
    first = agent_client.post(url, {"kind": "export"})
    second = agent_client.post(url, {"kind": "export"})

    # then: one request in the queue, about the opener and the workspace, due in 30 days
    assert first.status_code == second.status_code == 302
    request = DataRequest.objects.get()
    assert request.kind == DataRequest.Kind.EXPORT
    assert request.channel == DataRequest.Channel.STAFF
    assert request.user == owner
    assert request.requester_email == owner.email
    assert request.workspace == workspace
    assert (request.due_at - request.received_at).days == 30
    assert f"support ticket #{ticket.pk}" in request.notes
    ticket.refresh_from_db()
    assert ticket.data_request == request
    assert AuditEvent.objects.filter(action="support.data_request_created").count() == 1
    assert AuditEvent.objects.filter(action="privacy.request_received").count() == 1
    # the staff page links to the request (and offers no second button); the customer's
    # page says the ticket became a formal request
    staff_html = agent_client.get(staff_page).content.decode()
    assert reverse("admin:privacy_datarequest_change", args=[request.pk]) in staff_html
    assert 'data-testid="data-request-form"' not in staff_html
    customer_html = member_client.get(
        reverse("support:ticket", args=[workspace.slug, ticket.public_id])
    ).content.decode()
    assert 'data-testid="ticket-data-request"' in customer_html
    assert "became a formal data request" in customer_html


@pytest.mark.django_db
def test_only_a_privacy_ticket_becomes_a_data_request(
    owner: User, agent: User, open_ticket: Callable[..., Ticket]
) -> None:
    from django.core.exceptions import ValidationError

    ticket = open_ticket(owner, category="billing")

    with pytest.raises(ValidationError, match="Only a privacy ticket"):
        services.ticket_to_data_request(ticket=ticket, actor=agent)

    assert not DataRequest.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_staff_clicking_at_once_make_one_data_request(settings, tmp_path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    workspace = WorkspaceFactory()
    opener = MembershipFactory(workspace=workspace, role="owner").user
    ticket = services.ticket_open(
        workspace=workspace, user=opener, subject="Erase me", category="privacy", body="Please."
    )
    staff = [UserFactory(is_staff=True) for _ in range(4)]
    barrier = threading.Barrier(len(staff))
    results: list[object] = [None] * len(staff)

    def click(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = services.ticket_to_data_request(
                ticket=Ticket.objects.get(pk=ticket.pk), actor=staff[i], kind="erasure"
            )
        except Exception as exc:  # noqa: BLE001 - collected for the assertions
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=click, args=(i,)) for i in range(len(staff))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    close_old_connections()

    assert not any(isinstance(r, Exception) for r in results), results
    assert DataRequest.objects.count() == 1
    assert sorted(created for _request, created in results) == [False, False, False, True]
    assert {request.pk for request, _created in results} == {DataRequest.objects.get().pk}
    assert Ticket.objects.get(pk=ticket.pk).data_request_id == DataRequest.objects.get().pk
