"""The 24-hour customer-service window on numbers registered with ``"rules": "meta"``."""

from __future__ import annotations

import time
from typing import Any

from ..conftest import SandboxClient, WebhookReceiver, http, wait_until
from .helpers import (
    PHONE_ID,
    SECRET,
    graph,
    register,
    send_template,
    send_text,
    text_parameters,
)

COLD = "994501110001"
WARM = "994501110002"


def _statuses(receiver: WebhookReceiver) -> list[dict[str, Any]]:
    return [
        status
        for hook in receiver.received
        for entry in hook.json["entry"]
        for change in entry["changes"]
        if change["field"] == "messages"
        for status in change["value"].get("statuses", [])
    ]


def _inbound(sandbox: SandboxClient, sender: str, text: str = "Salam") -> None:
    answer = sandbox.call(
        "POST", "/_sandbox/inbound", {"phone_number_id": PHONE_ID, "from": sender, "text": text}
    )
    assert answer.status == 202, answer.raw


def test_free_form_outside_the_window_is_accepted_then_failed_with_131047(
    sandbox: SandboxClient, webhook_receiver: WebhookReceiver
) -> None:
    register(sandbox, callback_url=webhook_receiver.url, app_secret=SECRET, rules="meta")
    sandbox.configure(read_ratio=0)
    sandbox.add_template(PHONE_ID, name="hello", body="Salam {{1}}, welcome!", examples=["A"])
    cold = send_text(sandbox, COLD, biz_opaque_callback_data="m-cold")
    assert cold.status == 200  # Meta accepts it ...
    wamid = cold.body["messages"][0]["id"]
    assert wamid.startswith("wamid.")
    template = send_template(
        sandbox,
        "hello",
        "en",
        [{"type": "body", "parameters": text_parameters("Aysel")}],
        to=COLD,
    )
    assert template.status == 200  # templates may be sent outside the window
    sandbox.wait_idle()
    by_message: dict[str, list[dict[str, Any]]] = {}
    for status in _statuses(webhook_receiver):
        by_message.setdefault(status["id"], []).append(status)
    (failed,) = by_message[wamid]  # ... and then fails it: no "sent" first
    assert failed["status"] == "failed"
    assert failed["recipient_id"] == COLD
    assert failed["biz_opaque_callback_data"] == "m-cold"
    (error,) = failed["errors"]
    assert (error["code"], error["title"]) == (131047, "Re-engagement message")
    template_statuses = {s["status"] for s in by_message[template.body["messages"][0]["id"]]}
    assert template_statuses == {"sent", "delivered"}
    stats = sandbox.number_stats(PHONE_ID)
    assert (stats["accepted"], stats["window_failures"]) == (2, 1)
    (logged, _) = sandbox.call("GET", f"/_sandbox/numbers/{PHONE_ID}/messages").body["data"]
    assert (logged["type"], logged["failed_with"]) == ("text", 131047)


def test_an_inbound_message_opens_the_window(
    sandbox: SandboxClient, webhook_receiver: WebhookReceiver
) -> None:
    register(sandbox, callback_url=webhook_receiver.url, app_secret=SECRET, rules="meta")
    sandbox.configure(read_ratio=0)
    _inbound(sandbox, "+" + WARM)
    reply = send_text(sandbox, WARM, "Thank you for writing!")
    image = graph(
        sandbox,
        "POST",
        f"{PHONE_ID}/messages",
        {
            "messaging_product": "whatsapp",
            "to": WARM,
            "type": "image",
            "image": {"link": "https://cdn.example/menu.jpg", "caption": "Our menu"},
        },
    )
    buttons = graph(
        sandbox,
        "POST",
        f"{PHONE_ID}/messages",
        {
            "messaging_product": "whatsapp",
            "to": WARM,
            "type": "interactive",
            "interactive": {
                "type": "button",
                "body": {"text": "Shall we call you?"},
                "action": {"buttons": [{"type": "reply", "reply": {"id": "y", "title": "Yes"}}]},
            },
        },
    )
    assert (reply.status, image.status, buttons.status) == (200, 200, 200)
    sandbox.wait_idle()
    statuses = list(_statuses(webhook_receiver))
    assert {s["status"] for s in statuses} == {"sent", "delivered"}
    assert sandbox.number_stats(PHONE_ID)["window_failures"] == 0


def test_the_window_closes_after_its_length(
    sandbox: SandboxClient, webhook_receiver: WebhookReceiver
) -> None:
    register(sandbox, callback_url=webhook_receiver.url, app_secret=SECRET, rules="meta")
    sandbox.configure(customer_service_window_seconds=0.5)
    _inbound(sandbox, WARM)
    assert send_text(sandbox, WARM).status == 200
    time.sleep(0.6)
    assert send_text(sandbox, WARM).status == 200
    wait_until(lambda: sandbox.number_stats(PHONE_ID)["window_failures"] == 1)
    sandbox.wait_idle()
    failed = [s for s in _statuses(webhook_receiver) if s["status"] == "failed"]
    assert [s["errors"][0]["code"] for s in failed] == [131047]


def test_numbers_without_meta_rules_keep_free_text_to_anyone(
    sandbox: SandboxClient, webhook_receiver: WebhookReceiver
) -> None:
    register(sandbox, callback_url=webhook_receiver.url, app_secret=SECRET)
    assert send_text(sandbox, COLD).status == 200
    sandbox.wait_idle()
    assert "failed" not in {s["status"] for s in _statuses(webhook_receiver)}
    assert sandbox.call("GET", "/_sandbox/numbers").body[0]["rules"] == "simple"
    bad = sandbox.call(
        "POST",
        "/_sandbox/numbers",
        {"phone_number_id": PHONE_ID, "access_token": "t", "rules": "strict"},
    )
    assert bad.status == 400


def test_the_page_reply_box_opens_the_window(
    sandbox: SandboxClient, webhook_receiver: WebhookReceiver
) -> None:
    register(sandbox, callback_url=webhook_receiver.url, app_secret=SECRET, rules="meta")
    page = http("GET", sandbox.base_url + "/_sandbox/").raw.decode()
    assert 'action="/_sandbox/inbound"' in page
    answer = http(
        "POST",
        sandbox.base_url + "/_sandbox/inbound",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        data=f"phone_number_id={PHONE_ID}&from=%2B{WARM}&text=Hello+there".encode(),
    )
    assert answer.status == 303
    sandbox.wait_idle()
    inbound = [
        message
        for hook in webhook_receiver.received
        for entry in hook.json["entry"]
        for change in entry["changes"]
        for message in change["value"].get("messages", [])
    ]
    assert [(m["from"], m["text"]["body"]) for m in inbound] == [(WARM, "Hello there")]
    assert send_text(sandbox, WARM).status == 200
    sandbox.wait_idle()
    assert sandbox.number_stats(PHONE_ID)["window_failures"] == 0
