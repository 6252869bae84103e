"""A person signs up in a real browser, verifies the e-mail, signs out and signs in again."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from accounts.models import User

# serialized_rollback: a transactional test flushes the tables, and the policy versions
# published by a data migration must be back for sign-up.
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_signup_verify_and_signin_in_chromium(page, live_server) -> None:
    base = live_server.url

    # sign up
    page.goto(f"{base}/accounts/signup/")
    page.fill("#id_first_name", "Aysel")
    page.fill("#id_last_name", "Huseynova")
    page.fill("#id_company_name", "Baku Flowers")
    page.fill("#id_phone", "+994 55 765 43 21")
    page.fill("#id_email", "aysel@bakuflowers.az")
    page.fill("#id_password1", "flowers-for-everyone-2026")
    page.fill("#id_password2", "flowers-for-everyone-2026")
    page.check("#id_is_adult")
    page.check("#id_accept_terms")
    page.click("form button[type=submit]")
    page.wait_for_url(re.compile(r"/accounts/confirm-email/$"))
    assert "Verify" in page.content() or "verify" in page.content()

    # verify through the e-mailed link
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", mail.outbox[-1].body).group(0)
    path = "/" + link.split("://", 1)[1].split("/", 1)[1]
    page.goto(base + path)
    page.click("form button[type=submit]")
    page.wait_for_url(re.compile(r"/w/[\w-]+/$"))
    assert page.locator("h1").first.inner_text() == "Baku Flowers"

    # sign out, then sign in with the password
    page.locator("nav .dropdown-toggle", has_text="aysel@bakuflowers.az").click()
    page.click("text=Sign out")
    page.wait_for_url(re.compile(r"/accounts/login/"))
    page.fill("#id_login", "aysel@bakuflowers.az")
    page.fill("#id_password", "flowers-for-everyone-2026")
    page.click("form button[type=submit]")
    page.wait_for_url(re.compile(r"/w/[\w-]+/$"))
    assert "Get started" in page.content()
    assert (
        User.objects.get(email="aysel@bakuflowers.az").login_events.filter(success=True).count()
        == 2
    )
