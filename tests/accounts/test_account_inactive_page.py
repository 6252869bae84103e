"""Signing in to an account in its deletion grace lands on a page that says what is going on:
it is being deleted, the e-mailed link restores it, and where to write if the e-mail is lost
(or if the team closed the account)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from privacy import services
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def test_signing_in_during_the_deletion_grace_explains_how_to_restore(
    owner: User, settings: object
) -> None:
    settings.SUPPORT_EMAIL = "help@isend.example"  # type: ignore[attr-defined]
    services.account_deactivate(user=owner, actor=owner)

    response = Client().post(
        reverse("account_login"), {"login": owner.email, "password": PASSWORD}, follow=True
    )

    assert response.redirect_chain[-1][0] == reverse("account_inactive")
    page = " ".join(response.content.decode().split())
    assert "it is being deleted" in page
    assert "30 days after you confirmed the deletion" in page
    assert "has a link that restores the account" in page
    assert "Lost that e-mail? Write to help@isend.example" in page
    assert "our team closed the account: write to help@isend.example" in page
