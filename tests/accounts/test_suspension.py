"""A suspended workspace can sign in and pay but sends nothing; its API answers 403 with the
reason. Suspension is done by staff in admin, with a reason, and audited."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from accounts import services
from accounts.models import AuditEvent, Workspace
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client() -> Client:
    staff = UserFactory(is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(staff)
    return client


def test_admin_action_suspends_with_reason_and_audits(staff_client, workspace) -> None:
    changelist = reverse("admin:accounts_workspace_changelist")

    # the action first asks for the reason
    ask = staff_client.post(
        changelist, {"action": "suspend_workspaces", "_selected_action": [workspace.pk]}
    )
    assert ask.status_code == 200
    assert "Reason" in ask.content.decode()
    workspace.refresh_from_db()
    assert workspace.status == Workspace.Status.ACTIVE

    staff_client.post(
        changelist,
        {
            "action": "suspend_workspaces",
            "_selected_action": [workspace.pk],
            "apply": "1",
            "reason": "Spam complaints from recipients",
        },
    )

    workspace.refresh_from_db()
    assert workspace.status == Workspace.Status.SUSPENDED
    assert workspace.suspended_reason == "Spam complaints from recipients"
    assert workspace.suspended_at is not None
    event = AuditEvent.objects.get(action="workspace.suspended")
    assert event.details == {"reason": "Spam complaints from recipients"}


def test_suspended_workspace_signs_in_sees_banner_and_api_is_403(workspace, owner) -> None:
    _key, secret = services.api_key_create(
        workspace=workspace, actor=owner, name="k", scopes=["workspace:read"]
    )
    services.workspace_suspend(workspace=workspace, actor=None, reason="Unpaid abuse review")

    browser = Client()
    browser.force_login(owner)
    page = browser.get(reverse("messaging_analytics:home", args=[workspace.slug]))
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    response = api.get(reverse("api:workspace"))

    assert page.status_code == 200
    assert "This workspace is suspended." in page.content.decode()
    assert "Unpaid abuse review" in page.content.decode()
    assert response.status_code == 403
    assert "Unpaid abuse review" in response.json()["detail"]


def test_suspended_workspace_cannot_send_and_restore_lifts_it(workspace) -> None:
    services.workspace_suspend(workspace=workspace, actor=None, reason="Review")
    with pytest.raises(services.WorkspaceSuspended, match="Review"):
        services.workspace_ensure_can_send(workspace=workspace)

    services.workspace_restore(workspace=workspace, actor=None, reason="Cleared")

    services.workspace_ensure_can_send(workspace=workspace)  # no exception
    assert AuditEvent.objects.filter(action="workspace.restored").count() == 1


def test_suspension_needs_a_reason(workspace) -> None:
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        services.workspace_suspend(workspace=workspace, actor=None, reason="  ")
    workspace.refresh_from_db()
    assert workspace.status == Workspace.Status.ACTIVE


def test_admin_restores_without_a_reason_but_never_suspends_without_one(
    staff_client, workspace
) -> None:
    changelist = reverse("admin:accounts_workspace_changelist")

    refused = staff_client.post(
        changelist,
        {
            "action": "suspend_workspaces",
            "_selected_action": [workspace.pk],
            "apply": "1",
            "reason": "  ",
        },
    )
    assert "This field is required." in refused.content.decode()
    workspace.refresh_from_db()
    assert workspace.status == Workspace.Status.ACTIVE

    services.workspace_suspend(workspace=workspace, actor=None, reason="Review")
    staff_client.post(
        changelist,
        {
            "action": "restore_workspaces",
            "_selected_action": [workspace.pk],
            "apply": "1",
            "reason": "",
        },
    )
    workspace.refresh_from_db()
    assert workspace.status == Workspace.Status.ACTIVE
