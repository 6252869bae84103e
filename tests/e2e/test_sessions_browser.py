"""In Chromium: the user signed in from two browsers opens Sessions and devices on one, sees
both sessions (this one marked), signs the other out, and the other browser is signed out at
its next page."""

from __future__ import annotations

import re

import pytest
from allauth.account.models import EmailAddress
from playwright.sync_api import expect

from tests.factories import PASSWORD, MembershipFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1"
)


def _sign_in(page, live_server, email: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_login", email)
    page.fill("#id_password", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(re.compile(r"/w/[\w-]+/$"))


def test_signing_out_the_other_browser_from_the_sessions_page(browser, live_server) -> None:
    owner = MembershipFactory().user
    EmailAddress.objects.update_or_create(
        user=owner, email=owner.email, defaults={"verified": True, "primary": True}
    )
    laptop_context = browser.new_context(locale="en-US")
    phone_context = browser.new_context(locale="en-US", user_agent=IPHONE)
    try:
        laptop = laptop_context.new_page()
        phone = phone_context.new_page()
        for page in (laptop, phone):
            page.set_default_timeout(15_000)
        errors: list[str] = []
        laptop.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        laptop.on("pageerror", lambda e: errors.append(str(e)))

        # given the user signed in on a laptop and on a phone
        _sign_in(laptop, live_server, owner.email)
        _sign_in(phone, live_server, owner.email)

        # when the laptop opens Sessions and devices from the account menu
        laptop.get_by_role("button", name=owner.email).click()
        laptop.get_by_role("link", name="Sessions and devices").click()
        expect(laptop.get_by_role("heading", name="Sessions and devices")).to_be_visible()

        # then both sessions are listed, this one marked
        rows = laptop.get_by_test_id("session-row")
        expect(rows).to_have_count(2)
        current = laptop.locator('[data-testid="session-row"][data-current="1"]')
        expect(current.get_by_test_id("session-current")).to_have_text("This device")
        other = laptop.locator('[data-testid="session-row"]:not([data-current])')
        expect(other).to_contain_text("Mobile Safari 17.1")
        expect(other).to_contain_text("iOS 17.1")

        # when the laptop signs the phone out
        other.get_by_role("button", name="Sign out").click()

        # then the list shows one session, and the phone's next page asks it to sign in
        expect(laptop.get_by_text("Signed out Mobile Safari 17.1 on iOS 17.1.")).to_be_visible()
        expect(laptop.get_by_test_id("session-row")).to_have_count(1)
        phone.goto(f"{live_server.url}/account/sessions/")
        expect(phone).to_have_url(re.compile(r"/accounts/login/"))
        laptop.reload()
        expect(laptop.get_by_test_id("session-row")).to_have_count(1)
        assert errors == []
    finally:
        laptop_context.close()
        phone_context.close()
