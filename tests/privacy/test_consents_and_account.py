"""Consent per purpose, the cookie banner without JavaScript, the privacy centre,
restriction, and self-service deletion with re-authentication."""

from __future__ import annotations

import re
from typing import Any

import pytest
from allauth.mfa.totp.internal.auth import (
    TOTP,
    format_hotp_value,
    hotp_value,
    yield_hotp_counters_from_time,
)
from django.contrib.sessions.models import Session
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.models import AuditEvent, User, Workspace
from privacy.models import Consent, PrivacyProfile
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def test_cookie_banner_without_javascript(client: Client) -> None:
    page = client.get(reverse("privacy:privacy"))
    assert 'data-testid="cookie-banner"' in page.content.decode()
    # nothing non-essential before consent
    assert set(page.cookies) <= {"csrftoken", "sessionid"}

    response = client.post(
        reverse("privacy:cookie_consent"), {"choice": "necessary", "next": "/privacy/"}
    )

    assert response.status_code == 302
    assert response["Location"] == "/privacy/"
    assert response.cookies["isend_cookie_consent"].value == "necessary"
    assert Consent.objects.count() == 0  # anonymous: the cookie only
    assert 'data-testid="cookie-banner"' not in client.get("/privacy/").content.decode()


def test_signed_in_cookie_choice_is_a_consent_row(owner: User, member_client: Client) -> None:
    member_client.post(
        reverse("privacy:cookie_consent"), {"choice": "analytics"}, REMOTE_ADDR="192.0.2.1"
    )
    consent = Consent.objects.get(user=owner, purpose="analytics_cookies")
    assert consent.granted
    assert consent.ip == "192.0.2.1"
    assert consent.document.kind == "cookies"


def test_withdrawal_is_as_easy_as_granting(owner: User, member_client: Client) -> None:
    url = reverse("privacy:centre_consent")
    member_client.post(url, {"purpose": "marketing_email", "granted": "1"})
    assert PrivacyProfile.objects.get(user=owner).marketing_opt_in
    member_client.post(url, {"purpose": "marketing_email", "granted": "0"})

    rows = list(Consent.objects.filter(user=owner).order_by("created_at").values_list("granted"))
    assert rows == [(True,), (False,)]
    assert not PrivacyProfile.objects.get(user=owner).marketing_opt_in
    assert AuditEvent.objects.filter(action="privacy.consent_withdrawn").count() == 1
    # terms cannot be "withdrawn" from here
    assert member_client.post(url, {"purpose": "terms", "granted": "0"}).status_code == 404


def test_privacy_centre_lists_categories_with_counts(
    workspace: Workspace, owner: User, member_client: Client
) -> None:
    response = member_client.get(reverse("privacy:centre"))
    body = response.content.decode()
    assert response.status_code == 200
    for label in ("Sign-in records", "Consent records", "Workspaces you own", "Contacts"):
        assert label in body


def test_restriction_and_lift(owner: User, member_client: Client) -> None:
    member_client.post(reverse("privacy:centre_restrict"), {"action": "object"})
    assert PrivacyProfile.objects.get(user=owner).is_restricted
    member_client.post(reverse("privacy:centre_restrict"), {"action": "lift"})
    assert not PrivacyProfile.objects.get(user=owner).is_restricted


def test_deletion_needs_the_password_then_deactivates_and_signs_out_everywhere(
    owner: User, member_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    other_device = Client()
    other_device.force_login(owner)
    url = reverse("privacy:centre_delete")

    wrong = member_client.post(url, {"password": "nope", "confirm": "on"})
    assert wrong.status_code == 200
    assert User.objects.get(pk=owner.pk).is_active

    with django_capture_on_commit_callbacks(execute=True):
        done = member_client.post(url, {"password": PASSWORD, "confirm": "on"})

    assert done.status_code == 200
    owner.refresh_from_db()
    assert not owner.is_active
    assert owner.deactivated_at is not None
    assert not Session.objects.exists()
    assert other_device.get(reverse("privacy:centre")).status_code == 302
    # signing in is refused; the e-mailed link cancels the deletion
    assert not Client().login(email=owner.email, password=PASSWORD)
    link = re.search(r"https?://\S+/reactivate/\S+/", mail.outbox[-1].body).group(0)
    path = "/" + link.split("://", 1)[1].split("/", 1)[1]
    assert Client().post(path).status_code == 302
    owner.refresh_from_db()
    assert owner.is_active
    assert owner.deactivated_at is None
    assert PrivacyProfile.objects.get(user=owner).purge_after is None


def test_deletion_needs_a_totp_code_when_mfa_is_on(owner: User, member_client: Client) -> None:
    secret = "JBSWY3DPEHPK3PXP"
    TOTP.activate(owner, secret)
    url = reverse("privacy:centre_delete")

    without = member_client.post(url, {"password": PASSWORD, "confirm": "on"})
    assert without.status_code == 200
    assert User.objects.get(pk=owner.pk).is_active

    counter = next(iter(yield_hotp_counters_from_time()))
    code = format_hotp_value(hotp_value(secret, counter))
    member_client.post(url, {"password": PASSWORD, "code": code, "confirm": "on"})
    assert not User.objects.get(pk=owner.pk).is_active


def test_one_click_unsubscribe_and_restriction_gate_marketing(owner: User) -> None:
    from privacy import selectors, services

    services.consent_set(user=owner, purpose="marketing_email", granted=True, ip=None)
    assert selectors.marketing_allowed(user=owner)
    headers = services.marketing_unsubscribe_headers(user=owner)
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = headers["List-Unsubscribe"].strip("<>")
    path = "/" + url.split("://", 1)[1].split("/", 1)[1]

    response = Client(enforce_csrf_checks=True).post(path, {"List-Unsubscribe": "One-Click"})

    assert response.status_code == 200
    assert not selectors.marketing_allowed(user=owner)
    services.consent_set(user=owner, purpose="marketing_email", granted=True, ip=None)
    services.processing_restrict(user=owner, actor=owner)
    assert not selectors.marketing_allowed(user=owner)
    assert not selectors.analytics_allowed(user=owner, cookie_choice="analytics")
    assert Client().post("/privacy/unsubscribe/forged/").status_code == 404


def test_policy_check_is_remembered_in_the_session(
    workspace: Workspace, owner: User, member_client: Client
) -> None:
    dashboard = reverse("messaging_analytics:home", args=[workspace.slug])
    member_client.get(dashboard)
    from privacy.middleware import SESSION_KEY

    assert member_client.session[SESSION_KEY]


def test_reversible_deactivation_keeps_everything(
    workspace: Workspace,
    owner: User,
    member_client: Client,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from privacy import services

    with django_capture_on_commit_callbacks(execute=True):
        response = member_client.post(reverse("privacy:centre_deactivate"), {"password": PASSWORD})

    assert response.status_code == 200
    owner.refresh_from_db()
    assert not owner.is_active
    assert PrivacyProfile.objects.get(user=owner).purge_after is None
    assert services.accounts_purge_due() == 0
    assert Workspace.objects.filter(pk=workspace.pk).exists()
    link = re.search(r"https?://\S+/reactivate/\S+/", mail.outbox[-1].body).group(0)
    path = "/" + link.split("://", 1)[1].split("/", 1)[1]
    assert Client().post(path).status_code == 302
    assert User.objects.get(pk=owner.pk).is_active
    # the link belonged to that deactivation only
    services.account_deactivate(user=owner, actor=owner, purge=False)
    assert Client().post(path).status_code == 404
