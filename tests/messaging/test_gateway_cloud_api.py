"""The Cloud API adapter on recorded payloads and over real HTTP (a stub, then the sandbox)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from messaging.gateways.base import (
    AccountEffect,
    AccountEvent,
    CloudApiCredentials,
    DeliveryStatus,
    ErrorEvent,
    InboundMessageEvent,
    OutboundMessage,
    Outcome,
    OutcomeKind,
    StatusEvent,
    Timeouts,
)
from messaging.gateways.cloud_api import (
    CloudApiAdapter,
    build_message_payload,
    parse_webhook,
    verify_webhook_handshake,
)

from .conftest import SandboxClient, free_port, load_payload

CREDENTIALS = CloudApiCredentials(phone_number_id="106540352242922", access_token="EAAG-token")


def text_message(
    public_id: str = "m-1", to: str = "+994501234567", **kwargs: Any
) -> OutboundMessage:
    return OutboundMessage(public_id=public_id, to=to, text="Salam!", **kwargs)


# Requests ------------------------------------------------------------------------------------


def test_text_payload_matches_the_documented_request() -> None:
    documented = load_payload("cloud_send_text_request.json")
    message = OutboundMessage(public_id="t42:c7:m9912", to="+994501234567", text="Salam! ...")
    built = build_message_payload(message)
    assert built == {**documented, "to": "994501234567"}


def test_template_payload_carries_language_and_positional_body_parameters() -> None:
    documented = load_payload("cloud_send_template_request.json")
    message = OutboundMessage(
        public_id="t42:c7:m9913",
        to="994501234567",
        template_name="order_update",
        template_language="en_US",
        body_parameters=("Aysel", "#1042"),
    )
    built = build_message_payload(message)
    body = next(c for c in documented["template"]["components"] if c["type"] == "body")
    assert built["type"] == "template"
    assert built["template"]["name"] == documented["template"]["name"]
    assert built["template"]["language"] == documented["template"]["language"]
    assert built["template"]["components"] == [body]
    assert built["biz_opaque_callback_data"] == documented["biz_opaque_callback_data"]


# Webhooks ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        (
            {"hub.mode": "subscribe", "hub.verify_token": "vt", "hub.challenge": "1158201444"},
            "1158201444",
        ),
        ({"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"}, None),
        ({"hub.mode": "unsubscribe", "hub.verify_token": "vt", "hub.challenge": "1"}, None),
        ({"hub.mode": "subscribe", "hub.verify_token": "vt"}, None),
        ({}, None),
    ],
)
def test_webhook_handshake(params: dict[str, str], expected: str | None) -> None:
    assert verify_webhook_handshake(params, "vt") == expected


def test_handshake_with_no_configured_token_never_succeeds() -> None:
    params = {"hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "1"}
    assert verify_webhook_handshake(params, "") is None


def test_sent_status() -> None:
    (event,) = parse_webhook(load_payload("webhook_status_sent.json"))
    assert event == StatusEvent(
        account_id="106540352242922",
        provider_message_id="wamid.HBgL...",
        status=DeliveryStatus.SENT,
        recipient="16505551234",
        timestamp=datetime.fromtimestamp(1750030073, tz=UTC),
        public_id="t42:c7:m9913",
    )


def test_failed_status_is_classified_with_the_same_taxonomy() -> None:
    (event,) = parse_webhook(load_payload("webhook_status_failed_131049.json"))
    assert isinstance(event, StatusEvent)
    assert event.status is DeliveryStatus.FAILED
    assert event.error is not None
    assert event.error.code == 131049
    assert "healthy ecosystem" in event.error.details
    assert event.failure is not None
    assert event.failure.kind is OutcomeKind.RECIPIENT_WAIT
    assert event.public_id is None  # not set when sending: Meta omits it


def test_batched_webhook_yields_every_entry_change_and_status() -> None:
    events = parse_webhook(load_payload("webhook_batched.json"))
    statuses = [e for e in events if isinstance(e, StatusEvent)]
    assert [(e.account_id, e.provider_message_id, e.status) for e in statuses] == [
        ("106540352242922", "wamid.A1", DeliveryStatus.SENT),
        ("106540352242922", "wamid.A2", DeliveryStatus.DELIVERED),
        ("106540352242922", "wamid.A3", DeliveryStatus.READ),
        ("106540352242923", "wamid.B1", DeliveryStatus.FAILED),
        ("206540352242924", "wamid.C1", DeliveryStatus.FAILED),
        ("206540352242924", "wamid.C2", DeliveryStatus.PLAYED),
    ]
    assert [e.public_id for e in statuses] == ["m-1", "m-2", "m-3", "m-4", "m-5", None]
    not_on_whatsapp, opted_out = statuses[3], statuses[4]
    assert not_on_whatsapp.failure is not None
    assert not_on_whatsapp.failure.kind is OutcomeKind.RECIPIENT_PERMANENT
    assert not not_on_whatsapp.failure.opt_out
    assert opted_out.failure is not None
    assert opted_out.failure.kind is OutcomeKind.RECIPIENT_PERMANENT
    assert opted_out.failure.opt_out
    (inbound,) = [e for e in events if isinstance(e, InboundMessageEvent)]
    assert (inbound.account_id, inbound.sender, inbound.text) == (
        "206540352242924",
        "16505551238",
        "STOP",
    )
    assert inbound.contact_name == "Kamran"


def test_inbound_text() -> None:
    (event,) = parse_webhook(load_payload("webhook_inbound_text.json"))
    assert event == InboundMessageEvent(
        account_id="106540352242922",
        provider_message_id="wamid.HBgL...",
        sender="16505551234",
        timestamp=datetime.fromtimestamp(1749416383, tz=UTC),
        kind="text",
        text="Does it come in another color?",
        contact_name="Sheena Nelson",
    )


def test_inbound_button_reply_carries_payload_and_context() -> None:
    (event,) = parse_webhook(load_payload("webhook_inbound_button.json"))
    assert isinstance(event, InboundMessageEvent)
    assert (event.kind, event.payload, event.text) == ("button", "STOP", "Stop promotions")
    assert event.context_message_id == "wamid.HBgLOriginal"


def test_inbound_interactive_reply() -> None:
    (event,) = parse_webhook(load_payload("webhook_inbound_interactive.json"))
    assert isinstance(event, InboundMessageEvent)
    assert (event.kind, event.payload, event.text) == ("interactive", "opt_out", "Unsubscribe")


def test_account_restriction_blocks_until_expiration() -> None:
    (event,) = parse_webhook(load_payload("webhook_account_update_restriction.json"))
    assert isinstance(event, AccountEvent)
    assert (event.account_id, event.event, event.effect) == (
        "102290129340398",
        "ACCOUNT_RESTRICTION",
        AccountEffect.BLOCKED,
    )
    assert event.until == datetime.fromtimestamp(1641330498, tz=UTC)


@pytest.mark.parametrize(
    ("state", "effect"),
    [
        ("DISABLE", AccountEffect.BLOCKED),
        ("REINSTATE", AccountEffect.RESTORED),
        ("SCHEDULE_FOR_DISABLE", AccountEffect.WARNING),
    ],
)
def test_disabled_update_ban_states(state: str, effect: AccountEffect) -> None:
    payload = load_payload("webhook_account_update_disabled.json")
    payload["entry"][0]["changes"][0]["value"]["ban_info"]["waba_ban_state"] = state
    (event,) = parse_webhook(payload)
    assert isinstance(event, AccountEvent)
    assert (event.event, event.effect) == ("DISABLED_UPDATE", effect)


def test_account_violation_is_a_warning_and_quality_update_is_info() -> None:
    (violation,) = parse_webhook(load_payload("webhook_account_update_violation.json"))
    (quality,) = parse_webhook(load_payload("webhook_phone_number_quality_update.json"))
    assert isinstance(violation, AccountEvent)
    assert violation.effect is AccountEffect.WARNING
    assert isinstance(quality, AccountEvent)
    assert (quality.event, quality.effect) == ("THROUGHPUT_UPGRADE", AccountEffect.INFO)


def test_system_error_webhook() -> None:
    (event,) = parse_webhook(load_payload("webhook_errors_system.json"))
    assert isinstance(event, ErrorEvent)
    assert event.error.code == 130429
    assert event.classification.kind is OutcomeKind.RATE_LIMITED


def test_foreign_or_malformed_payloads_yield_nothing_and_never_raise() -> None:
    assert parse_webhook({"object": "page", "entry": []}) == []
    assert parse_webhook({"object": "whatsapp_business_account", "entry": "x"}) == []
    broken = {
        "object": "whatsapp_business_account",
        "entry": [
            {"changes": [{"field": "messages", "value": {"statuses": [{"status": "sent"}]}}]}
        ],
    }
    assert parse_webhook(broken) == []


# The adapter over HTTP against a stub answering with recorded payloads -------------------------


StubHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def _with_stub(handler: StubHandler, test: Callable[[str], Awaitable[Any]]) -> Any:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    async with TestServer(app, host="127.0.0.1") as server:
        return await test(str(server.make_url("")).rstrip("/"))


def _replying(status: int, payload: dict[str, Any], seen: list[Any] | None = None) -> StubHandler:
    async def handler(request: web.Request) -> web.Response:
        if seen is not None:
            seen.append((request.method, request.path, dict(request.headers), await request.read()))
        return web.json_response(payload, status=status)

    return handler


def test_send_accepted_over_http() -> None:
    seen: list[Any] = []

    async def scenario(base_url: str) -> list[Outcome]:
        async with CloudApiAdapter(CREDENTIALS, base_url=base_url, api_version="v23.0") as adapter:
            return await adapter.send_many([text_message("m-1"), text_message("m-2")])

    outcomes = asyncio.run(
        _with_stub(_replying(200, load_payload("cloud_send_success.json"), seen), scenario)
    )
    assert [o.kind for o in outcomes] == [OutcomeKind.ACCEPTED] * 2
    assert [o.public_id for o in outcomes] == ["m-1", "m-2"]
    assert (
        outcomes[0].provider_message_id
        == "wamid.HBgLMTY0NjcwNDM1OTUVAgARGBI1RjQyNUE3NEYxMzAzMzQ5MkEA"
    )
    method, path, headers, raw = seen[0]
    assert (method, path) == ("POST", "/v23.0/106540352242922/messages")
    assert headers["Authorization"] == "Bearer EAAG-token"
    assert json.loads(raw)["biz_opaque_callback_data"] in {"m-1", "m-2"}


@pytest.mark.parametrize(
    ("http_status", "code", "expected"),
    [
        (400, 130429, OutcomeKind.RATE_LIMITED),
        (429, 131056, OutcomeKind.RECIPIENT_WAIT),  # a BSP's 429 changes nothing
        (400, 131026, OutcomeKind.RECIPIENT_PERMANENT),
        (404, 132001, OutcomeKind.FIX_REQUEST),
        (403, 368, OutcomeKind.SENDER_BLOCKED),
        (401, 190, OutcomeKind.CREDENTIALS_INVALID),
        (500, 131000, OutcomeKind.RETRY_LATER),
        (400, 987654, OutcomeKind.RETRY_LATER),
    ],
)
def test_send_errors_are_classified_by_code(
    http_status: int, code: int, expected: OutcomeKind
) -> None:
    payload = load_payload("cloud_error_130429.json")
    payload["error"]["code"] = code

    async def scenario(base_url: str) -> Outcome:
        async with CloudApiAdapter(CREDENTIALS, base_url=base_url) as adapter:
            return await adapter.send(text_message())

    outcome = asyncio.run(_with_stub(_replying(http_status, payload), scenario))
    assert outcome.kind is expected
    assert outcome.error is not None
    assert (outcome.error.code, outcome.error.http_status) == (code, http_status)
    assert outcome.error.trace_id == "Az8or2yhqkZfEZ-_4Qn_Bam"


def test_a_non_json_error_falls_to_the_bounded_default() -> None:
    async def bad_gateway(request: web.Request) -> web.Response:
        return web.Response(status=502, text="<html>Bad gateway</html>", content_type="text/html")

    async def scenario(base_url: str) -> Outcome:
        async with CloudApiAdapter(CREDENTIALS, base_url=base_url) as adapter:
            return await adapter.send(text_message())

    outcome = asyncio.run(_with_stub(bad_gateway, scenario))
    assert outcome.kind is OutcomeKind.RETRY_LATER
    assert outcome.retry_after is not None


def test_a_timeout_after_the_request_left_is_ambiguous() -> None:
    release = asyncio.Event()

    async def slow(request: web.Request) -> web.Response:
        await request.read()
        await release.wait()
        return web.json_response(load_payload("cloud_send_success.json"))

    async def scenario(base_url: str) -> Outcome:
        timeouts = Timeouts(connect=2.0, total=0.3)
        async with CloudApiAdapter(CREDENTIALS, base_url=base_url, timeouts=timeouts) as adapter:
            outcome = await adapter.send(text_message())
        release.set()
        return outcome

    outcome = asyncio.run(_with_stub(slow, scenario))
    assert outcome.kind is OutcomeKind.AMBIGUOUS


def test_a_connect_failure_is_retry_later() -> None:
    async def scenario() -> Outcome:
        closed_port = free_port()
        base_url = f"http://127.0.0.1:{closed_port}"
        async with CloudApiAdapter(CREDENTIALS, base_url=base_url) as adapter:
            return await adapter.send(text_message())

    outcome = asyncio.run(scenario())
    assert outcome.kind is OutcomeKind.RETRY_LATER
    assert outcome.retry_after is not None


def test_a_2xx_without_a_message_id_is_ambiguous() -> None:
    async def scenario(base_url: str) -> Outcome:
        async with CloudApiAdapter(CREDENTIALS, base_url=base_url) as adapter:
            return await adapter.send(text_message())

    outcome = asyncio.run(_with_stub(_replying(200, {"messaging_product": "whatsapp"}), scenario))
    assert outcome.kind is OutcomeKind.AMBIGUOUS


def test_send_many_reuses_one_session_and_bounds_concurrency() -> None:
    in_flight, peak, connections = 0, 0, set()

    async def counting(request: web.Request) -> web.Response:
        nonlocal in_flight, peak
        connections.add(request.transport.get_extra_info("peername"))  # type: ignore[union-attr]
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.01)
        in_flight -= 1
        return web.json_response(load_payload("cloud_send_success.json"))

    async def scenario(base_url: str) -> list[Outcome]:
        adapter = CloudApiAdapter(CREDENTIALS, base_url=base_url, concurrency=3)
        try:
            messages = [text_message(f"m-{n}") for n in range(30)]
            return await adapter.send_many(messages)
        finally:
            await adapter.aclose()

    outcomes = asyncio.run(_with_stub(counting, scenario))
    assert [o.public_id for o in outcomes] == [f"m-{n}" for n in range(30)]
    assert all(o.kind is OutcomeKind.ACCEPTED for o in outcomes)
    assert peak <= 3
    assert len(connections) <= 3  # keep-alive connections of one pooled session


# The adapter against the running sandbox -----------------------------------------------------


def _sandbox_adapter(sandbox: SandboxClient, token: str = "sandbox-token") -> CloudApiAdapter:
    credentials = CloudApiCredentials(phone_number_id="1065", access_token=token)
    return CloudApiAdapter(credentials, base_url=sandbox.base_url, api_version="v23.0")


def test_verify_credentials_against_the_sandbox(sandbox: SandboxClient) -> None:
    sandbox.register("1065", display_phone_number="15550001065")

    async def scenario() -> tuple[Any, Any]:
        async with _sandbox_adapter(sandbox) as good, _sandbox_adapter(sandbox, "wrong") as bad:
            return await good.verify_credentials(), await bad.verify_credentials()

    good, bad = asyncio.run(scenario())
    assert good.ok
    assert good.display_phone_number == "15550001065"
    assert not bad.ok
    assert bad.kind is OutcomeKind.CREDENTIALS_INVALID
    assert bad.error is not None
    assert bad.error.code == 190


def test_text_and_template_sends_are_accepted_by_the_sandbox(sandbox: SandboxClient) -> None:
    sandbox.register("1065")
    # The sandbox enforces Meta's rules: only an approved template of the WABA may be sent.
    sandbox.add_template(
        "1065",
        name="order_update",
        language="en_US",
        body="Salam {{1}}, your order is on its way.",
        examples=["Aysel"],
    )
    template = OutboundMessage(
        public_id="m-2",
        to="+994501234568",
        template_name="order_update",
        template_language="en_US",
        body_parameters=("Aysel",),
    )

    async def scenario() -> list[Outcome]:
        async with _sandbox_adapter(sandbox) as adapter:
            return await adapter.send_many([text_message("m-1"), template])

    outcomes = asyncio.run(scenario())
    assert [o.kind for o in outcomes] == [OutcomeKind.ACCEPTED, OutcomeKind.ACCEPTED]
    assert all(
        o.provider_message_id and o.provider_message_id.startswith("wamid.") for o in outcomes
    )
    assert len({o.provider_message_id for o in outcomes}) == 2
    stats = sandbox.number_stats("1065")
    assert (stats["accepted"], stats["distinct"], stats["duplicates"]) == (2, 2, 0)
