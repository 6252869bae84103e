"""In Chromium: connect a sandbox number in one click, then pair a WhatsApp-Web number by
"scanning" the QR code on the sandbox's own page; the pairing page updates by itself."""

from __future__ import annotations

import re

import pytest
from django.test import override_settings

from messaging.numbers.models import Sender
from tests.factories import PASSWORD, MembershipFactory
from tests.messaging.conftest import sandbox, sandbox_gateway  # noqa: F401  (fixtures)

# serialized_rollback: a transactional test flushes the tables, and the policy versions
# published by a data migration must be back for sign-up.
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_connect_sandbox_and_pair_by_qr(page, live_server, sandbox) -> None:  # noqa: F811
    owner = MembershipFactory().user
    workspace = owner.memberships.get().workspace
    with override_settings(SANDBOX_GATEWAY_URL=sandbox.base_url, SITE_URL=live_server.url):
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("#id_login", owner.email)
        page.fill("#id_password", PASSWORD)
        page.click("form button[type=submit]")
        page.wait_for_url(re.compile(r"/w/[\w-]+/$"))

        # one click for a sandbox number
        page.click("text=Numbers")
        page.click("text=Connect a number")
        page.click("[data-testid=connect-sandbox]")
        page.wait_for_url(re.compile(r"/numbers/[0-9a-f-]+/$"))
        assert page.locator("[data-testid=number-status]").inner_text() == "Active"

        # its pacing form saves as shown: a stored 0 (no minimum interval, no jitter) is
        # shown as 0, not as an empty required box the browser refuses to submit
        pacing = page.locator("form:has(button:text('Save'))")
        assert pacing.locator("input[name=min_interval_ms]").input_value() == "0"
        assert pacing.locator("input[name=jitter_ms]").input_value() == "0"
        pacing.locator("input[name=label]").fill("Shop line")
        pacing.locator("button:text('Save')").click()
        page.wait_for_selector("text=saved")
        assert Sender.objects.get(workspace=workspace, provider="sandbox").label == "Shop line"

        # a refused test send says why and keeps what was typed
        test_form = page.locator("form:has([data-testid=send-test])")
        test_form.locator("input[name=to]").fill("abc")
        test_form.locator("input[name=text]").fill("Salam, Şəbnəm xanım!")
        test_form.locator("[data-testid=send-test]").click()
        page.wait_for_selector("text=is not a phone number")
        test_form = page.locator("form:has([data-testid=send-test])")
        assert test_form.locator("input[name=to]").input_value() == "abc"
        assert test_form.locator("input[name=text]").input_value() == "Salam, Şəbnəm xanım!"

        # a WhatsApp-Web number, paired through the sandbox's QR page
        page.goto(f"{live_server.url}/w/{workspace.slug}/numbers/add/")
        page.fill("#id_web-base_url", sandbox.base_url)
        page.fill("#id_web-api_key", "sandbox")
        page.click("[data-testid=connect-web]")
        page.wait_for_url(re.compile(r"/pair/$"))
        assert page.locator("[data-testid=qr]").evaluate("img => img.naturalWidth") > 0

        phone = page.context.new_page()
        phone.goto(f"{sandbox.base_url}/_sandbox/")
        session = Sender.objects.get(provider="web_gateway").web_session
        phone.locator(f"form[action*='{session}'] button").click()

        page.wait_for_selector("text=is connected", timeout=15_000)
        sender = Sender.objects.get(provider="web_gateway")
        assert sender.status == Sender.Status.ACTIVE
        assert Sender.objects.filter(workspace=workspace, status="active").count() == 2
        sandbox.wait_idle()  # no late webhook reaches the live server during the flush
