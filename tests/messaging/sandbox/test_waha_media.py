"""WAHA's sendImage and sendFile in the sandbox: recorded like sendText, with acks."""

from __future__ import annotations

import base64
from typing import Any

from ..conftest import HttpAnswer, SandboxClient, WebhookReceiver

SESSION = "media-session"
KEY = {"X-Api-Key": "sandbox"}
CHAT = "994501234567@c.us"


def _paired(sandbox: SandboxClient, receiver: WebhookReceiver) -> None:
    created = sandbox.call(
        "POST",
        "/api/sessions",
        {
            "name": SESSION,
            "config": {"webhooks": [{"url": receiver.url, "events": ["message.ack"]}]},
        },
        headers=KEY,
    )
    assert created.status == 201, created.raw
    assert (
        sandbox.call("POST", f"/_sandbox/sessions/{SESSION}/scan", {"phone": "994551112233"}).status
        == 200
    )


def _send(
    sandbox: SandboxClient, endpoint: str, payload: dict[str, Any], **headers: str
) -> HttpAnswer:
    return sandbox.call(
        "POST", f"/api/{endpoint}", {"session": SESSION, **payload}, headers={**KEY, **headers}
    )


def test_send_image_by_url_and_file_by_data_are_recorded_with_acks(
    sandbox: SandboxClient, webhook_receiver: WebhookReceiver
) -> None:
    _paired(sandbox, webhook_receiver)
    pdf = b"%PDF-1.4 price list"
    image = _send(
        sandbox,
        "sendImage",
        {
            "chatId": CHAT,
            "file": {
                "mimetype": "image/jpeg",
                "filename": "menu.jpg",
                "url": "https://cdn.example/menu.jpg",
            },
            "caption": "Our new menu",
        },
    )
    document = _send(
        sandbox,
        "sendFile",
        {
            "chatId": CHAT,
            "file": {
                "mimetype": "application/pdf",
                "filename": "prices.pdf",
                "data": base64.b64encode(pdf).decode(),
            },
        },
    )
    assert (image.status, document.status) == (201, 201), (image.raw, document.raw)
    assert image.body["hasMedia"] is True
    assert image.body["body"] == "Our new menu"
    assert image.body["id"]["_serialized"].startswith(f"true_{CHAT}_")
    log = sandbox.call("GET", f"/_sandbox/sessions/{SESSION}/messages").body
    assert [(e["type"], e["to"]) for e in log["data"]] == [
        ("image", "994501234567"),
        ("document", "994501234567"),
    ]
    assert log["data"][0]["file"]["url"] == "https://cdn.example/menu.jpg"
    assert log["data"][0]["caption"] == "Our new menu"
    assert (log["data"][1]["file"]["filename"], log["data"][1]["file"]["size"]) == (
        "prices.pdf",
        len(pdf),
    )
    sandbox.wait_idle()
    acked = {
        (hook.json["payload"]["id"], hook.json["payload"]["ackName"])
        for hook in webhook_receiver.received
        if hook.json["event"] == "message.ack"
    }
    for answer in (image, document):
        assert (answer.body["id"]["_serialized"], "DEVICE") in acked
    assert sandbox.stats()["sessions"][SESSION]["accepted"] == 2


def test_bad_media_sends_are_refused(
    sandbox: SandboxClient, webhook_receiver: WebhookReceiver
) -> None:
    _paired(sandbox, webhook_receiver)
    refused = [
        ("sendImage", {"chatId": CHAT}),
        ("sendImage", {"chatId": CHAT, "file": {"url": "https://cdn.example/a.jpg"}}),
        (
            "sendImage",
            {"chatId": CHAT, "file": {"mimetype": "application/pdf", "url": "https://x/a.pdf"}},
        ),
        (
            "sendFile",
            {"chatId": CHAT, "file": {"mimetype": "application/pdf", "data": "not base64!"}},
        ),
        (
            "sendFile",
            {"chatId": CHAT, "file": {"mimetype": "application/pdf", "url": "ftp://x/a.pdf"}},
        ),
        (
            "sendFile",
            {
                "chatId": "994501234567",
                "file": {"mimetype": "application/pdf", "url": "https://x/a.pdf"},
            },
        ),
    ]
    for endpoint, payload in refused:
        assert _send(sandbox, endpoint, payload).status == 400, payload
    unauthorised = _send(sandbox, "sendFile", {"chatId": CHAT}, **{"X-Api-Key": "wrong"})
    assert unauthorised.status == 401
    assert sandbox.stats()["sessions"][SESSION]["accepted"] == 0
