"""In Chromium, under the real CSP: the e-mail addresses page (allauth's, restyled) loads its
scripts from static files and reads their settings from a JSON data block, not inline code, so
"Remove" still asks first and the page logs no console error."""

from __future__ import annotations

import re

import pytest
from allauth.account.models import EmailAddress

from tests.factories import PASSWORD, MembershipFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_removing_an_email_address_asks_first(page, live_server) -> None:
    owner = MembershipFactory().user
    EmailAddress.objects.update_or_create(
        user=owner, email=owner.email, defaults={"verified": True, "primary": True}
    )
    second = EmailAddress.objects.create(user=owner, email="second@example.com", verified=True)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))

    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_login", owner.email)
    page.fill("#id_password", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(re.compile(r"/w/[\w-]+/$"))
    page.goto(f"{live_server.url}/accounts/email/")
    page.get_by_label(re.compile("second@example.com")).check()

    asked: list[str] = []

    def dismiss(dialog) -> None:
        asked.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    page.get_by_role("button", name="Remove").click()
    page.wait_for_timeout(500)
    assert asked == ["Do you really want to remove the selected email address?"]
    assert EmailAddress.objects.filter(pk=second.pk).exists()
    assert errors == []
