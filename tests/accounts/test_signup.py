"""Sign-up -> verification e-mail -> verify -> sign in -> dashboard, with the acceptances
the terms require recorded against the policy versions in force."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.models import LoginEvent, Membership, User
from accounts.permissions import Role
from privacy.models import Consent, PolicyDocument

pytestmark = pytest.mark.django_db

SIGNUP = {
    "first_name": "Leyla",
    "last_name": "Mammadova",
    "company_name": "Caspian Tea LLC",
    "phone": "050 123 45 67",
    "email": "leyla@caspiantea.az",
    "password1": "a-long-and-unusual-pass-42",
    "password2": "a-long-and-unusual-pass-42",
    "is_adult": "on",
    "accept_terms": "on",
}


def _confirmation_link() -> str:
    assert len(mail.outbox) == 1
    match = re.search(r"https?://[^\s]+/accounts/confirm-email/[^\s]+/", mail.outbox[0].body)
    assert match, mail.outbox[0].body
    return match.group(0).split("testserver", 1)[-1]


def test_signup_verify_signin_reaches_dashboard() -> None:
    client = Client(REMOTE_ADDR="203.0.113.7", HTTP_USER_AGENT="Mozilla/5.0 (X11; Linux x86_64)")

    # when: the person signs up
    response = client.post(reverse("account_signup"), SIGNUP)

    # then: they must verify the address before getting in
    assert response.status_code == 302
    assert response.url == reverse("account_email_verification_sent")
    user = User.objects.get(email="leyla@caspiantea.az")
    assert (user.first_name, user.last_name, user.company_name) == (
        "Leyla",
        "Mammadova",
        "Caspian Tea LLC",
    )
    assert user.phone == "+994501234567"
    assert user.confirmed_adult_at is not None
    assert client.get(reverse("home")).status_code == 200  # landing page, not the dashboard
    assert not client.session.get("_auth_user_id")

    # and: their first workspace exists, owned by them
    membership = Membership.objects.get(user=user)
    assert membership.role == Role.OWNER
    assert membership.workspace.name == "Caspian Tea LLC"

    # and: the acceptances are recorded with the versions in force and the IP
    consents = {c.purpose: c for c in Consent.objects.filter(user=user)}
    assert set(consents) == {"terms", "privacy", "age_18_plus"}
    assert consents["terms"].document == PolicyDocument.objects.get(kind="terms", version="1.0")
    assert consents["privacy"].document == PolicyDocument.objects.get(kind="privacy", version="1.0")
    assert {c.ip for c in consents.values()} == {"203.0.113.7"}

    # when: they follow the e-mailed link and confirm
    link = _confirmation_link()
    assert client.get(link).status_code == 200
    response = client.post(link)

    # then: they are signed in and land on their workspace's dashboard
    assert response.status_code == 302
    dashboard = client.get(reverse("home"), follow=True)
    assert dashboard.status_code == 200
    assert dashboard.redirect_chain[-1][0] == reverse(
        "messaging_analytics:home", kwargs={"workspace_slug": membership.workspace.slug}
    )
    assert "Caspian Tea LLC" in dashboard.content.decode()

    # and: signing out and in again works with the password
    client.post(reverse("account_logout"))
    response = client.post(
        reverse("account_login"), {"login": "leyla@caspiantea.az", "password": SIGNUP["password1"]}
    )
    assert response.status_code == 302
    assert LoginEvent.objects.filter(user=user, success=True).count() == 2


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        pytest.param("is_adult", "You must be 18 or older to use iSend.", id="18_plus_case"),
        pytest.param("accept_terms", "You must accept the Terms", id="terms_case"),
    ],
)
def test_signup_requires_age_and_terms(missing: str, message: str) -> None:
    data = {k: v for k, v in SIGNUP.items() if k != missing}

    response = Client().post(reverse("account_signup"), data)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not User.objects.filter(email=SIGNUP["email"]).exists()
    assert len(mail.outbox) == 0


def test_signup_rejects_invalid_phone_and_keeps_nothing() -> None:
    response = Client().post(reverse("account_signup"), {**SIGNUP, "phone": "12"})

    assert response.status_code == 200
    # The one normaliser (core.phones) names the reason.
    assert "is too short to be a phone number" in response.content.decode()
    assert not User.objects.filter(email=SIGNUP["email"]).exists()


def test_unverified_user_cannot_sign_in(db: None) -> None:
    client = Client()
    client.post(reverse("account_signup"), SIGNUP)
    client.post(reverse("account_logout"))

    response = client.post(
        reverse("account_login"), {"login": SIGNUP["email"], "password": SIGNUP["password1"]}
    )

    assert response.status_code == 302
    assert response.url == reverse("account_email_verification_sent")
    assert not client.session.get("_auth_user_id")
