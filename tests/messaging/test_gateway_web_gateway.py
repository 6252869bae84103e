"""The WAHA-compatible adapter: webhook parsing, pacing, and the QR flow against the sandbox."""

from __future__ import annotations

import asyncio
import io
import random
from typing import Any

import pytest
from PIL import Image

from core.outgoing import AddressPolicy
from messaging.gateways.base import (
    AccountEffect,
    AccountEvent,
    DeliveryStatus,
    InboundMessageEvent,
    OutboundMessage,
    Outcome,
    OutcomeKind,
    StatusEvent,
    WebGatewayCredentials,
)
from messaging.gateways.signatures import verify_waha_hmac
from messaging.gateways.web_gateway import (
    MAX_SEND_GAP_SECONDS,
    MIN_SEND_GAP_SECONDS,
    WEB_DAILY_CAP,
    SessionInfo,
    SessionStatus,
    WebGatewayAdapter,
    WebGatewayError,
    chat_id_for,
    parse_webhook,
    random_send_gap,
)

from .conftest import SandboxClient, WebhookReceiver, load_payload, wait_until

SESSION = "t42-n1"


def test_chat_id_is_digits_at_c_us() -> None:
    assert chat_id_for("+994 50 123-45-67") == "994501234567@c.us"
    with pytest.raises(ValueError, match="not a phone number"):
        chat_id_for("+")


@pytest.mark.parametrize(
    ("ack", "status"),
    [
        (-1, DeliveryStatus.FAILED),
        (0, DeliveryStatus.PENDING),
        (1, DeliveryStatus.SENT),
        (2, DeliveryStatus.DELIVERED),
        (3, DeliveryStatus.READ),
        (4, DeliveryStatus.PLAYED),
    ],
)
def test_message_ack_levels(ack: int, status: DeliveryStatus) -> None:
    payload = load_payload("waha_message_ack.json")
    payload["payload"]["ack"] = ack
    (event,) = parse_webhook(payload)
    assert isinstance(event, StatusEvent)
    assert (event.account_id, event.provider_message_id, event.status) == (
        SESSION,
        "true_994501234567@c.us_3EB0C4A1B2",
        status,
    )
    assert event.recipient == "994551112233"
    assert (event.failure is not None) is (status is DeliveryStatus.FAILED)


def test_unknown_ack_level_is_ignored() -> None:
    payload = load_payload("waha_message_ack.json")
    payload["payload"]["ack"] = 9
    assert parse_webhook(payload) == []


def test_session_failed_is_a_blocking_account_event() -> None:
    (event,) = parse_webhook(load_payload("waha_session_status_failed.json"))
    assert isinstance(event, AccountEvent)
    assert (event.account_id, event.event, event.effect) == (
        SESSION,
        "session.status",
        AccountEffect.BLOCKED,
    )
    assert event.detail["status"] == "FAILED"


def test_inbound_message_and_own_messages() -> None:
    inbound = {
        "event": "message",
        "session": SESSION,
        "payload": {
            "id": "false_994501234567@c.us_AAA",
            "timestamp": 1750030073,
            "from": "994501234567@c.us",
            "fromMe": False,
            "body": "STOP",
        },
    }
    (event,) = parse_webhook(inbound)
    assert isinstance(event, InboundMessageEvent)
    assert (event.sender, event.text, event.kind) == ("994501234567", "STOP", "text")
    inbound["payload"]["fromMe"] = True
    assert parse_webhook(inbound) == []


def test_pacing_defaults_are_human_like() -> None:
    rng = random.Random(7)
    gaps = [random_send_gap(rng) for _ in range(200)]
    assert all(MIN_SEND_GAP_SECONDS <= gap <= MAX_SEND_GAP_SECONDS for gap in gaps)
    assert len(set(gaps)) == len(gaps)  # never a fixed interval
    assert (MIN_SEND_GAP_SECONDS, MAX_SEND_GAP_SECONDS) == (30.0, 60.0)
    assert WEB_DAILY_CAP <= 200


# Against the sandbox -------------------------------------------------------------------------


def _adapter(sandbox: SandboxClient, api_key: str = "sandbox") -> WebGatewayAdapter:
    credentials = WebGatewayCredentials(base_url=sandbox.base_url, api_key=api_key, session=SESSION)
    # The sandbox runs on loopback: allowed here as the test setting allows it.
    return WebGatewayAdapter(credentials, address_policy=AddressPolicy(allow_private=True))


def _message(public_id: str = "w-1", to: str = "+994501234567") -> OutboundMessage:
    return OutboundMessage(public_id=public_id, to=to, text="Salam!")


def test_qr_pairing_and_sending(sandbox: SandboxClient, webhook_receiver: WebhookReceiver) -> None:
    async def before_scan() -> tuple[SessionInfo, SessionInfo, bytes, Outcome]:
        async with _adapter(sandbox) as adapter:
            created = await adapter.create_session(
                webhook_url=webhook_receiver.url, hmac_key="hmac-key", metadata={"tenant": "42"}
            )
            again = await adapter.create_session(webhook_url=webhook_receiver.url)
            png = await adapter.fetch_qr_png()
            refused = await adapter.send(_message())
            return created, again, png, refused

    created, again, png, refused = asyncio.run(before_scan())
    assert created.status == SessionStatus.SCAN_QR_CODE
    assert again.name == SESSION  # creating twice returns the existing session
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    image.verify()
    assert refused.kind is OutcomeKind.SENDER_BLOCKED  # not paired yet

    scan = sandbox.call("POST", f"/_sandbox/sessions/{SESSION}/scan", {"phone": "994551112233"})
    assert scan.status == 200
    assert scan.body["status"] == "WORKING"

    async def after_scan() -> tuple[SessionInfo, list[Outcome]]:
        async with _adapter(sandbox) as adapter:
            info = await adapter.get_session()
            outcomes = await adapter.send_many([_message("w-1"), _message("w-2", "+994500000000")])
            return info, outcomes

    info, outcomes = asyncio.run(after_scan())
    assert info.status == SessionStatus.WORKING
    assert info.phone_number == "994551112233"
    assert [o.kind for o in outcomes] == [OutcomeKind.ACCEPTED, OutcomeKind.ACCEPTED]
    assert outcomes[0].provider_message_id is not None
    assert outcomes[0].provider_message_id.startswith("true_994501234567@c.us_")
    sandbox.wait_idle()

    events: list[Any] = []
    for hook in webhook_receiver.received:
        assert verify_waha_hmac(hook.raw, hook.headers.get("X-Webhook-Hmac"), "hmac-key")
        assert hook.json["metadata"] == {"tenant": "42"}
        events.extend(parse_webhook(hook.json))
    session_statuses = [e.detail["status"] for e in events if isinstance(e, AccountEvent)]
    assert session_statuses == ["SCAN_QR_CODE", "WORKING"]
    acks = {(e.provider_message_id, e.status) for e in events if isinstance(e, StatusEvent)}
    delivered_id, failed_id = (o.provider_message_id for o in outcomes)
    assert (delivered_id, DeliveryStatus.DELIVERED) in acks
    assert (delivered_id, DeliveryStatus.READ) in acks
    assert (failed_id, DeliveryStatus.FAILED) in acks  # not on WhatsApp: ack -1
    assert sandbox.stats()["sessions"][SESSION]["accepted"] == 2


def test_failed_session_blocks_sends_and_is_reported(
    sandbox: SandboxClient, webhook_receiver: WebhookReceiver
) -> None:
    async def create() -> None:
        async with _adapter(sandbox) as adapter:
            await adapter.create_session(webhook_url=webhook_receiver.url)

    asyncio.run(create())
    sandbox.call("POST", f"/_sandbox/sessions/{SESSION}/scan")
    assert sandbox.call("POST", f"/_sandbox/sessions/{SESSION}/fail").status == 200

    async def send() -> Outcome:
        async with _adapter(sandbox) as adapter:
            return await adapter.send(_message())

    outcome = asyncio.run(send())
    assert outcome.kind is OutcomeKind.SENDER_BLOCKED
    assert outcome.note == "session is FAILED"
    sandbox.wait_idle()
    blocked = [
        e
        for hook in webhook_receiver.received
        for e in parse_webhook(hook.json)
        if isinstance(e, AccountEvent) and e.effect is AccountEffect.BLOCKED
    ]
    assert len(blocked) == 1


def test_templates_are_not_sent_through_web_numbers(sandbox: SandboxClient) -> None:
    message = OutboundMessage(
        public_id="w-t", to="+994501234567", template_name="promo", template_language="en"
    )

    async def send() -> Outcome:
        async with _adapter(sandbox) as adapter:
            return await adapter.send(message)

    assert asyncio.run(send()).kind is OutcomeKind.FIX_REQUEST


def test_wrong_api_key(sandbox: SandboxClient) -> None:
    async def scenario() -> tuple[Outcome, BaseException | None]:
        async with _adapter(sandbox, api_key="wrong") as adapter:
            outcome = await adapter.send(_message())
            try:
                await adapter.get_session()
            except WebGatewayError as exc:
                return outcome, exc
            return outcome, None

    outcome, error = asyncio.run(scenario())
    assert outcome.kind is OutcomeKind.CREDENTIALS_INVALID
    assert isinstance(error, WebGatewayError)
    assert error.http_status == 401


def test_sandbox_page_lists_sessions_and_its_scan_button_pairs(
    sandbox: SandboxClient, webhook_receiver: WebhookReceiver
) -> None:
    sandbox.register("1065")

    async def create() -> None:
        async with _adapter(sandbox) as adapter:
            await adapter.create_session(webhook_url=webhook_receiver.url)

    asyncio.run(create())
    page = sandbox.call("GET", "/_sandbox/")
    html = page.raw.decode()
    assert page.status == 200
    assert "1065" in html
    assert SESSION in html
    assert f'action="/_sandbox/sessions/{SESSION}/scan"' in html
    qr = sandbox.call("GET", f"/_sandbox/sessions/{SESSION}/qr.png")
    assert qr.raw.startswith(b"\x89PNG\r\n\x1a\n")

    pressed = sandbox.call(
        "POST",
        f"/_sandbox/sessions/{SESSION}/scan",
        data=b"",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert pressed.status == 303
    assert pressed.headers["Location"] == "/_sandbox/"
    status = sandbox.call("GET", f"/api/sessions/{SESSION}", headers={"X-Api-Key": "sandbox"})
    assert status.body["status"] == "WORKING"
    wait_until(
        lambda: any(
            isinstance(e, AccountEvent) and e.effect is AccountEffect.RESTORED
            for hook in webhook_receiver.received
            for e in parse_webhook(hook.json)
        )
    )
