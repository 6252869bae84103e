"""Policy versions: short notice needs confirmation, publication notifies every active user,
re-acceptance is required from the effective date, consents carry version and IP."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent, Notification, User
from privacy.models import Consent, PolicyDocument
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _form(**overrides: Any) -> dict[str, Any]:
    now = timezone.now()
    data = {
        "kind": "terms",
        "version": "2.0",
        "title": "Terms and conditions",
        "body": "# Terms v2",
        "published_at_0": now.strftime("%Y-%m-%d"),
        "published_at_1": now.strftime("%H:%M:%S"),
        "effective_at_0": (now + timedelta(days=10)).strftime("%Y-%m-%d"),
        "effective_at_1": now.strftime("%H:%M:%S"),
        "is_material_change": "on",
    }
    data.update(overrides)
    return data


def test_short_notice_for_a_material_change_needs_confirmation(
    admin_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    users = [UserFactory(), UserFactory()]
    inactive = UserFactory(is_active=False)
    url = reverse("admin:privacy_policydocument_add")

    refused = admin_client.post(url, _form())
    assert refused.status_code == 200
    assert "less than 30 days" in refused.content.decode()
    assert not PolicyDocument.objects.filter(version="2.0").exists()

    with django_capture_on_commit_callbacks(execute=True):
        accepted = admin_client.post(url, _form(confirm_short_notice="on"))

    assert accepted.status_code == 302
    doc = PolicyDocument.objects.get(kind="terms", version="2.0")
    for user in users:
        assert Notification.objects.filter(user=user, kind="privacy.policy_changed").exists()
    assert not Notification.objects.filter(user=inactive).exists()
    assert {m.to[0] for m in mail.outbox} >= {u.email for u in users}
    assert AuditEvent.objects.get(action="privacy.policy_published").details["version"] == "2.0"
    assert doc.effective_at > timezone.now()


def test_thirty_days_notice_needs_no_confirmation(admin_client: Client) -> None:
    later = timezone.now() + timedelta(days=31)
    response = admin_client.post(
        reverse("admin:privacy_policydocument_add"),
        _form(effective_at_0=later.strftime("%Y-%m-%d")),
    )
    assert response.status_code == 302


def test_reacceptance_is_required_from_the_effective_date(
    workspace: Any, owner: User, member_client: Client
) -> None:
    from privacy.services import consent_record_signup

    User.objects.filter(pk=owner.pk).update(date_joined=timezone.now() - timedelta(days=90))
    consent_record_signup(user=owner, ip="198.51.100.1")  # accepted v1.0 at sign-up
    dashboard = reverse("messaging_analytics:home", args=[workspace.slug])
    future = PolicyDocument.objects.create(
        kind="terms",
        version="2.0",
        title="Terms v2",
        body="v2",
        published_at=timezone.now(),
        effective_at=timezone.now() + timedelta(days=30),
    )
    # announced, not yet in force: no redirect, the page shows the upcoming version
    assert member_client.get(dashboard).status_code == 200
    assert "takes effect" in Client().get(reverse("privacy:terms")).content.decode()

    # the effective date arrives
    PolicyDocument.objects.filter(pk=future.pk).update(
        effective_at=timezone.now() - timedelta(seconds=1)
    )
    response = member_client.get(dashboard)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("privacy:accept"))
    # exempt: policy pages, logout, the API
    assert member_client.get(reverse("privacy:terms")).status_code == 200
    assert member_client.get(reverse("privacy:accept")).status_code == 200

    accepted = member_client.post(
        reverse("privacy:accept") + f"?next={dashboard}",
        {"accept": "1", "next": dashboard},
        REMOTE_ADDR="203.0.113.7",
    )

    assert accepted.status_code == 302
    assert accepted["Location"] == dashboard
    consent = Consent.objects.filter(user=owner, purpose="terms").latest("created_at")
    assert (consent.document.version, consent.ip) == ("2.0", "203.0.113.7")
    assert member_client.get(dashboard).status_code == 200


def test_signup_records_version_and_ip(owner: User) -> None:
    from privacy.services import consent_record_signup

    consent_record_signup(user=owner, ip="198.51.100.4")

    rows = {c.purpose: c for c in Consent.objects.filter(user=owner)}
    assert rows["terms"].document.version == "1.0"
    assert rows["privacy"].ip == "198.51.100.4"
    assert "age_18_plus" in rows


def test_public_pages(client: Client) -> None:
    assert "Stripe" in client.get(reverse("privacy:subprocessors")).content.decode()
    retention = client.get(reverse("privacy:retention")).content.decode()
    assert "12 months" in retention
    assert "180 days" in retention
    assert "7 days" in retention
