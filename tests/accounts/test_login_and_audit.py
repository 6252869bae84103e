"""Login events (success and failure, with IP and parsed user agent), the login lockout, and
audit events written by services with their actor and IP."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import AuditEvent, LoginEvent
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1"
)
WINDOWS_CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)


def test_successful_login_is_recorded_with_ip_and_parsed_agent() -> None:
    user = UserFactory(email="rashad@example.com")
    client = Client(REMOTE_ADDR="198.51.100.23", HTTP_USER_AGENT=IPHONE)

    client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})

    event = LoginEvent.objects.get()
    assert event.success is True
    assert event.user == user
    assert event.ip == "198.51.100.23"
    assert event.browser == "Mobile Safari 17.1"
    assert event.os == "iOS 17.1"
    assert event.device_type == "mobile"


def test_failed_login_is_recorded_for_the_address_tried() -> None:
    user = UserFactory(email="rashad@example.com")
    client = Client(REMOTE_ADDR="198.51.100.24", HTTP_USER_AGENT=WINDOWS_CHROME)

    response = client.post(reverse("account_login"), {"login": user.email, "password": "wrong"})

    assert response.status_code == 200
    event = LoginEvent.objects.get()
    assert (event.success, event.user, event.email_attempted) == (False, user, user.email)
    assert event.ip == "198.51.100.24"
    assert event.browser.startswith("Chrome 126")
    assert event.os.startswith("Windows")
    assert event.device_type == "desktop"


def test_repeated_failures_lock_the_account_with_a_clear_message() -> None:
    user = UserFactory(email="target@example.com")
    client = Client(REMOTE_ADDR="192.0.2.50")
    for _ in range(5):
        client.post(reverse("account_login"), {"login": user.email, "password": "wrong"})

    # even the right password is refused while locked, and the page says why
    response = client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})

    assert response.status_code in (200, 429)
    assert "Too many failed login attempts" in response.content.decode()
    assert not client.session.get("_auth_user_id")


def test_audit_events_carry_actor_ip_and_details(member_client, workspace, owner) -> None:
    member_client.defaults["REMOTE_ADDR"] = "203.0.113.99"

    member_client.post(
        reverse("accounts:settings", args=[workspace.slug]),
        {"name": "Renamed Ltd", "time_zone": "Europe/Istanbul", "default_country": "TR"},
    )

    event = AuditEvent.objects.get(action="workspace.settings_changed")
    assert event.workspace == workspace
    assert event.actor_user == owner
    assert event.ip == "203.0.113.99"
    assert event.details["changed"]["name"] == [workspace.name, "Renamed Ltd"]
    assert event.details["changed"]["default_country"] == ["AZ", "TR"]


def test_activity_page_lists_the_workspace_events_only(
    member_client, workspace, other_workspace, owner
) -> None:
    from accounts.services import audit_record

    audit_record(
        workspace=workspace,
        action="team.invited",
        actor=owner,
        details={"email": "new@example.com", "role": "member"},
    )
    audit_record(workspace=other_workspace, action="other.secret", actor=None)

    page = member_client.get(reverse("accounts:activity", args=[workspace.slug])).content.decode()

    assert "new@example.com invited to the team (Member)" in page  # in words, not the code
    assert "other.secret" not in page
