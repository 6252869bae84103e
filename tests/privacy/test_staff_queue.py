"""The Support group works the data-request queue and nothing else; overdue requests come
first; actions record who did what; the minors flag erases at once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent, User, Workspace
from privacy import services
from privacy.models import DataRequest
from tests.factories import UserFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def support_client() -> Client:
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name="Support"))
    client = Client()
    client.force_login(user)
    client.user = user  # type: ignore[attr-defined]
    return client


def _request(days_due: int, status: str = DataRequest.Status.RECEIVED, **kw: Any) -> DataRequest:
    request = services.data_request_create(
        kind=kw.pop("kind", DataRequest.Kind.ACCESS), channel=DataRequest.Channel.EMAIL, **kw
    )
    DataRequest.objects.filter(pk=request.pk).update(
        due_at=timezone.now() + timedelta(days=days_due), status=status
    )
    return request


def test_support_can_work_the_queue_and_nothing_else(support_client: Client) -> None:
    workspace = WorkspaceFactory()
    request = _request(5)

    assert support_client.get(reverse("admin:privacy_datarequest_changelist")).status_code == 200
    change = reverse("admin:privacy_datarequest_change", args=[request.pk])
    assert support_client.get(change).status_code == 200
    assert support_client.get(reverse("admin:accounts_user_changelist")).status_code == 200
    assert support_client.get(reverse("admin:privacy_datarequest_erase_number")).status_code == 200
    suppressed = reverse("admin:messaging_suppressedphone_changelist")
    assert support_client.get(suppressed).status_code == 200
    # nothing else
    ws_change = reverse("admin:accounts_workspace_change", args=[workspace.pk])
    assert support_client.get(ws_change).status_code == 403
    assert support_client.get(reverse("admin:accounts_workspace_changelist")).status_code == 403
    assert support_client.get(reverse("admin:privacy_policydocument_add")).status_code == 403
    assert support_client.get(reverse("admin:billing_order_changelist")).status_code == 403
    user_change = reverse("admin:accounts_user_change", args=[request.pk])
    assert support_client.post(user_change, {"email": "x@example.com"}).status_code in (403, 302)
    assert Workspace.objects.get(pk=workspace.pk).name == workspace.name


def test_overdue_requests_come_first(support_client: Client) -> None:
    later = _request(20)
    closed_overdue = _request(-9, status=DataRequest.Status.COMPLETED)
    overdue = _request(-2)
    soon = _request(1)
    authority = services.data_request_create(
        kind=DataRequest.Kind.AUTHORITY_REQUEST, channel=DataRequest.Channel.EMAIL
    )

    response = support_client.get(reverse("admin:privacy_datarequest_changelist"))

    order = [r.pk for r in response.context["cl"].result_list]
    assert order == [overdue.pk, soon.pk, authority.pk, later.pk, closed_overdue.pk]
    assert 'class="overdue"' in response.content.decode()
    assert (authority.due_at - authority.received_at).days == 10
    assert (later.received_at + timedelta(days=30) - later.received_at).days == 30


def test_reject_needs_a_legal_reason_and_is_audited(support_client: Client) -> None:
    request = _request(10)
    url = reverse("admin:privacy_datarequest_changelist")
    data = {"action": "reject_with_reason", "_selected_action": [request.pk]}

    support_client.post(url, data)
    request.refresh_from_db()
    assert request.status == DataRequest.Status.RECEIVED

    DataRequest.objects.filter(pk=request.pk).update(
        rejection_reason="Manifestly unfounded: repeated request (Art. 12)"
    )
    support_client.post(url, data)
    request.refresh_from_db()
    assert request.status == DataRequest.Status.REJECTED
    assert request.assignee == support_client.user  # type: ignore[attr-defined]
    event = AuditEvent.objects.get(action="privacy.request_rejected")
    assert event.actor_user == support_client.user  # type: ignore[attr-defined]
    assert "rejected" in request.notes


def test_support_applies_a_restriction(support_client: Client) -> None:
    subject = UserFactory()
    request = _request(10, kind=DataRequest.Kind.RESTRICTION, user=subject)

    support_client.post(
        reverse("admin:privacy_datarequest_changelist"),
        {"action": "apply_restriction", "_selected_action": [request.pk]},
    )

    request.refresh_from_db()
    assert request.status == DataRequest.Status.COMPLETED
    assert subject.privacy_profile.is_restricted


def test_minor_flag_erases_the_account_at_once(
    admin_client: Client, support_client: Client
) -> None:
    """Flagged by one staff member, erased at once (no grace) when a second approves (four
    eyes, issue #17 F5)."""
    minor = UserFactory(email="kid@example.com")

    response = admin_client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "flag_minor_and_erase", "_selected_action": [minor.pk]},
    )
    assert response.status_code == 302
    assert User.objects.filter(email="kid@example.com").exists()  # one person is not enough
    request = DataRequest.objects.get()

    response = support_client.post(
        reverse("admin:privacy_datarequest_changelist"),
        {"action": "approve_erasure", "_selected_action": [request.pk]},
    )

    assert response.status_code == 302
    assert not User.objects.filter(email="kid@example.com").exists()
    request.refresh_from_db()
    assert request.status == DataRequest.Status.COMPLETED
    assert request.proof["reason"] == "minor"
    assert request.requester_email == ""
