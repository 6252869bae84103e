"""In Chromium, on the sandbox's own page: approve and reject templates, reply as a customer
(the 24-hour window opens), drop a number's quality; each change reaches the webhook."""

from __future__ import annotations

from tests.messaging.conftest import (  # noqa: F401  (fixtures)
    SandboxClient,
    WebhookReceiver,
    _webhook_receiver_server,
    sandbox,
    sandbox_gateway,
    wait_until,
    webhook_receiver,
)
from tests.messaging.sandbox.helpers import PHONE_ID, SECRET, register, send_text


def _fields(receiver: WebhookReceiver) -> list[tuple[str, dict]]:
    return [
        (change["field"], change["value"])
        for hook in receiver.received
        for entry in hook.json["entry"]
        for change in entry["changes"]
    ]


def test_review_reply_and_quality_from_the_sandbox_page(
    page,
    sandbox: SandboxClient,  # noqa: F811
    webhook_receiver: WebhookReceiver,  # noqa: F811
) -> None:
    register(sandbox, callback_url=webhook_receiver.url, app_secret=SECRET, rules="meta")
    for name in ("spring_offer", "dodgy_offer"):
        sandbox.add_template(
            PHONE_ID, name=name, body="Salam {{1}}, welcome!", examples=["A"], status="PENDING"
        )
    page.goto(f"{sandbox.base_url}/_sandbox/")

    # approve one template, reject the other with a reason
    page.click("[data-testid=template-approved-spring_offer-en]")
    page.wait_for_url(f"{sandbox.base_url}/_sandbox/")
    dodgy = page.locator("tr", has_text="dodgy_offer")
    dodgy.get_by_label("reason").select_option("PROMOTIONAL")
    dodgy.get_by_role("button", name="Reject").click()
    page.wait_for_url(f"{sandbox.base_url}/_sandbox/")
    assert "APPROVED" in page.locator("tr", has_text="spring_offer").inner_text()
    assert "PROMOTIONAL" in page.locator("tr", has_text="dodgy_offer").inner_text()

    # reply as a customer: the window opens, so free text to them is not failed
    box = page.locator("form[action='/_sandbox/inbound']")
    box.get_by_label("customer").fill("+994501234567")
    box.get_by_label("message").fill("Salam, is it in stock?")
    box.get_by_role("button", name="Reply as this customer").click()
    page.wait_for_url(f"{sandbox.base_url}/_sandbox/")
    assert send_text(sandbox, "994501234567").status == 200

    # the number's quality drops to RED
    health = page.locator(f"form[action='/_sandbox/numbers/{PHONE_ID}/health']")
    health.get_by_label("quality").select_option("RED")
    health.get_by_role("button", name="Apply").click()
    page.wait_for_url(f"{sandbox.base_url}/_sandbox/")

    sandbox.wait_idle()
    events = wait_until(lambda: len(_fields(webhook_receiver)) >= 5 and _fields(webhook_receiver))
    status_events = {
        (v["message_template_name"], v["event"], v["reason"])
        for f, v in events
        if f == "message_template_status_update"
    }
    assert status_events == {
        ("spring_offer", "APPROVED", "NONE"),
        ("dodgy_offer", "REJECTED", "PROMOTIONAL"),
    }
    inbound = [m for f, v in events if f == "messages" for m in v.get("messages", [])]
    assert [m["text"]["body"] for m in inbound] == ["Salam, is it in stock?"]
    quality = [v["event"] for f, v in events if f == "phone_number_quality_update"]
    assert quality == ["FLAGGED"]
    assert sandbox.number_stats(PHONE_ID)["window_failures"] == 0
