"""TOTP two-factor (django-allauth MFA): once enabled, a password alone does not sign in."""

from __future__ import annotations

import time

import pytest
from allauth.mfa.totp.internal.auth import (
    TOTP,
    format_hotp_value,
    generate_totp_secret,
    hotp_value,
)
from django.test import Client
from django.urls import reverse

from accounts.models import LoginEvent
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def _current_code(secret: str) -> str:
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


def test_totp_is_required_after_the_password() -> None:
    user = UserFactory(email="secure@example.com")
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    client = Client()

    # when: the password is right
    response = client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})

    # then: a second step is asked for, and nobody is signed in yet
    assert response.status_code == 302
    assert response.url == reverse("mfa_authenticate")
    assert not client.session.get("_auth_user_id")

    wrong = client.post(reverse("mfa_authenticate"), {"code": "000000"})
    assert wrong.status_code == 200
    assert not client.session.get("_auth_user_id")

    right = client.post(reverse("mfa_authenticate"), {"code": _current_code(secret)})
    assert right.status_code == 302
    assert client.session.get("_auth_user_id") == str(user.pk)
    assert LoginEvent.objects.filter(user=user, success=True).count() == 1
