"""The sandbox gateway as a running subprocess: limits, webhooks, stats, faults, control API."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

from messaging.gateways.base import (
    AccountEffect,
    AccountEvent,
    CloudApiCredentials,
    DeliveryStatus,
    InboundMessageEvent,
    OutboundMessage,
    Outcome,
    OutcomeKind,
    StatusEvent,
    Timeouts,
)
from messaging.gateways.cloud_api import CloudApiAdapter, parse_webhook, verify_signature

from .conftest import SandboxClient, WebhookReceiver

PHONE_ID = "1065"
SECRET = "sandbox-secret"


def send(
    sandbox: SandboxClient,
    messages: list[OutboundMessage],
    *,
    concurrency: int = 32,
    timeouts: Timeouts | None = None,
) -> list[Outcome]:
    credentials = CloudApiCredentials(phone_number_id=PHONE_ID, access_token="sandbox-token")

    async def scenario() -> list[Outcome]:
        async with CloudApiAdapter(
            credentials,
            base_url=sandbox.base_url,
            concurrency=concurrency,
            timeouts=timeouts,
        ) as adapter:
            return await adapter.send_many(messages)

    return asyncio.run(scenario())


def texts(count: int, *, to: str | None = None, prefix: str = "m") -> list[OutboundMessage]:
    return [
        OutboundMessage(public_id=f"{prefix}-{n}", to=to or f"+99450{n:07d}1", text=f"Salam {n}")
        for n in range(count)
    ]


def received_events(receiver: WebhookReceiver) -> list[Any]:
    return [event for hook in receiver.received for event in parse_webhook(hook.json)]


def statuses_of(receiver: WebhookReceiver) -> list[StatusEvent]:
    return [e for e in received_events(receiver) if isinstance(e, StatusEvent)]


# Limits --------------------------------------------------------------------------------------


def test_throughput_beyond_the_limit_is_130429(sandbox: SandboxClient) -> None:
    sandbox.register(PHONE_ID, throughput_per_second=3)
    outcomes = send(sandbox, texts(12))
    kinds = [o.kind for o in outcomes]
    assert set(kinds) <= {OutcomeKind.ACCEPTED, OutcomeKind.RATE_LIMITED}
    assert OutcomeKind.RATE_LIMITED in kinds
    limited = [o for o in outcomes if o.kind is OutcomeKind.RATE_LIMITED]
    assert all(o.error is not None and o.error.code == 130429 for o in limited)
    assert all(o.retry_after == 1.0 for o in limited)
    stats = sandbox.number_stats(PHONE_ID)
    assert stats["accepted"] == kinds.count(OutcomeKind.ACCEPTED)
    assert stats["rejected"] == {"130429": len(limited)}
    # A rejection only happens with a full window, so the busiest second is exactly the limit.
    assert stats["max_per_second"] == 3


def test_pair_rate_limit_is_131056_for_that_recipient_only(sandbox: SandboxClient) -> None:
    sandbox.register(PHONE_ID)
    sandbox.configure(pair_burst=2, pair_interval_seconds=3600)
    same = texts(3, to="+994501112233", prefix="same")
    other = texts(1, to="+994509998877", prefix="other")
    outcomes = send(sandbox, same, concurrency=1) + send(sandbox, other)
    assert [o.kind for o in outcomes] == [
        OutcomeKind.ACCEPTED,
        OutcomeKind.ACCEPTED,
        OutcomeKind.RECIPIENT_WAIT,
        OutcomeKind.ACCEPTED,
    ]
    assert outcomes[2].error is not None
    assert outcomes[2].error.code == 131056
    assert outcomes[2].retry_after == 1.0  # 4**0 on the first attempt


# Webhooks ------------------------------------------------------------------------------------


def test_status_webhooks_are_signed_batched_and_complete(
    sandbox: SandboxClient, webhook_receiver: WebhookReceiver
) -> None:
    sandbox.register(PHONE_ID, callback_url=webhook_receiver.url, app_secret=SECRET)
    # One flush per second: the ten "sent" statuses due at once share a POST.
    sandbox.configure(webhook_batch_interval=0.5)
    outcomes = send(sandbox, texts(10))
    assert all(o.kind is OutcomeKind.ACCEPTED for o in outcomes)
    sandbox.wait_idle()

    hooks = webhook_receiver.received
    for hook in hooks:
        assert verify_signature(hook.raw, hook.headers.get("X-Hub-Signature-256"), SECRET)
        assert not verify_signature(hook.raw, hook.headers.get("X-Hub-Signature-256"), "wrong")
    assert max(len(hook.json["entry"][0]["changes"][0]["value"]["statuses"]) for hook in hooks) > 1

    statuses = statuses_of(webhook_receiver)
    by_message: dict[str, set[DeliveryStatus]] = defaultdict(set)
    for status in statuses:
        assert status.account_id == PHONE_ID
        by_message[status.public_id or ""].add(status.status)
    assert set(by_message) == {f"m-{n}" for n in range(10)}
    assert all(
        found == {DeliveryStatus.SENT, DeliveryStatus.DELIVERED, DeliveryStatus.READ}
        for found in by_message.values()
    )
    provider_ids = {o.public_id: o.provider_message_id for o in outcomes}
    assert all(provider_ids[s.public_id or ""] == s.provider_message_id for s in statuses)
    webhook_stats = sandbox.number_stats(PHONE_ID)["webhooks"]
    assert webhook_stats["posts_ok"] == len(hooks)
    assert webhook_stats["statuses"] == {"sent": 10, "delivered": 10, "read": 10}


def test_not_on_whatsapp_fails_asynchronously_with_131026(
    sandbox: SandboxClient, webhook_receiver: WebhookReceiver
) -> None:
    sandbox.register(PHONE_ID, callback_url=webhook_receiver.url, app_secret=SECRET)
    (outcome,) = send(sandbox, texts(1, to="+994500000000"))
    assert outcome.kind is OutcomeKind.ACCEPTED
    sandbox.wait_idle()
    failed = [s for s in statuses_of(webhook_receiver) if s.status is DeliveryStatus.FAILED]
    assert len(failed) == 1
    assert failed[0].error is not None
    assert failed[0].error.code == 131026
    assert failed[0].failure is not None
    assert failed[0].failure.kind is OutcomeKind.RECIPIENT_PERMANENT


def test_webhooks_without_2xx_are_retried(
    sandbox: SandboxClient, webhook_receiver: WebhookReceiver
) -> None:
    sandbox.register(PHONE_ID, callback_url=webhook_receiver.url, app_secret=SECRET)
    sandbox.configure(read_ratio=0, delivered_delay=0.5)
    webhook_receiver.fail_next(2)
    send(sandbox, texts(1))
    sandbox.wait_idle()
    stats = sandbox.number_stats(PHONE_ID)["webhooks"]
    assert stats["posts_failed"] == 2
    assert stats["gave_up"] == 0
    assert stats["statuses"] == {"sent": 1, "delivered": 1}
    assert {s.status for s in statuses_of(webhook_receiver)} == {
        DeliveryStatus.SENT,
        DeliveryStatus.DELIVERED,
    }


def test_webhook_retries_are_bounded(
    sandbox: SandboxClient, webhook_receiver: WebhookReceiver
) -> None:
    sandbox.register(PHONE_ID, callback_url=webhook_receiver.url, app_secret=SECRET)
    sandbox.configure(read_ratio=0, webhook_max_attempts=3)
    webhook_receiver.fail_next(1000)
    send(sandbox, texts(1))
    sandbox.wait_idle()
    stats = sandbox.number_stats(PHONE_ID)["webhooks"]
    assert stats["posts_ok"] == 0
    assert stats["gave_up"] >= 1
    assert stats["posts_failed"] == 3 * stats["gave_up"]


def test_duplicate_delivery(sandbox: SandboxClient, webhook_receiver: WebhookReceiver) -> None:
    sandbox.register(PHONE_ID, callback_url=webhook_receiver.url, app_secret=SECRET)
    sandbox.configure(duplicate_webhook_ratio=1, read_ratio=0)
    send(sandbox, texts(1))
    sandbox.wait_idle()
    bodies = [hook.raw for hook in webhook_receiver.received]
    assert len(bodies) >= 2  # sent and delivered (one batch or two), each POSTed twice
    assert all(bodies.count(body) == 2 for body in bodies)
    assert sandbox.stats()["webhooks"]["duplicate_posts"] == len(bodies) // 2


def test_out_of_order_delivery(sandbox: SandboxClient, webhook_receiver: WebhookReceiver) -> None:
    sandbox.register(PHONE_ID, callback_url=webhook_receiver.url, app_secret=SECRET)
    sandbox.configure(out_of_order_ratio=1, sent_delay=0, delivered_delay=0.3, read_delay=0.6)
    send(sandbox, texts(8))
    sandbox.wait_idle()
    arrival: dict[str, list[DeliveryStatus]] = defaultdict(list)
    happened_at: dict[str, dict[DeliveryStatus, Any]] = defaultdict(dict)
    for status in statuses_of(webhook_receiver):
        arrival[status.public_id or ""].append(status.status)
        happened_at[status.public_id or ""][status.status] = status.timestamp
    lifecycle = [DeliveryStatus.SENT, DeliveryStatus.DELIVERED, DeliveryStatus.READ]
    assert len(arrival) == 8
    assert all(sorted(order, key=lifecycle.index) == lifecycle for order in arrival.values())
    assert any(order != lifecycle for order in arrival.values())
    # Timestamps still tell the true order, as Meta advises ("use the timestamp").
    for moments in happened_at.values():
        assert [moments[s] for s in lifecycle] == sorted(moments[s] for s in lifecycle)


# Stats ---------------------------------------------------------------------------------------


def test_stats_count_distinct_and_duplicate_callback_data(sandbox: SandboxClient) -> None:
    sandbox.register(PHONE_ID)
    messages = [
        OutboundMessage(public_id=public_id, to=f"+99450111{n:04d}", text="hi")
        for n, public_id in enumerate(["a", "b", "c", "a", "a", "b"])
    ]
    outcomes = send(sandbox, messages)
    assert all(o.kind is OutcomeKind.ACCEPTED for o in outcomes)
    stats = sandbox.number_stats(PHONE_ID)
    assert (stats["accepted"], stats["distinct"], stats["duplicates"]) == (6, 3, 3)
    assert 1 <= stats["max_per_second"] <= 6
    assert stats["first_accept_at"] <= stats["last_accept_at"]


def test_reset_clears_stats_and_optionally_numbers(sandbox: SandboxClient) -> None:
    sandbox.register(PHONE_ID)
    send(sandbox, texts(2))
    assert sandbox.call("POST", "/_sandbox/reset").status == 200
    stats = sandbox.number_stats(PHONE_ID)
    assert (stats["accepted"], stats["distinct"], stats["max_per_second"]) == (0, 0, 0)
    assert stats["first_accept_at"] is None
    assert sandbox.call("POST", "/_sandbox/reset", {"numbers": True}).status == 200
    assert sandbox.stats()["numbers"] == {}


# Faults --------------------------------------------------------------------------------------


def test_injected_5xx_are_retry_later_and_not_accepted(sandbox: SandboxClient) -> None:
    sandbox.register(PHONE_ID)
    sandbox.configure(error_5xx_ratio=0.5)
    outcomes = send(sandbox, texts(40))
    kinds = [o.kind for o in outcomes]
    assert set(kinds) == {OutcomeKind.ACCEPTED, OutcomeKind.RETRY_LATER}
    failed = [o for o in outcomes if o.kind is OutcomeKind.RETRY_LATER]
    assert all(o.error is not None and o.error.http_status == 500 for o in failed)
    assert all(o.error is not None and o.error.code == 131000 for o in failed)
    stats = sandbox.number_stats(PHONE_ID)
    assert stats["accepted"] == kinds.count(OutcomeKind.ACCEPTED)
    assert stats["rejected"] == {"131000": len(failed)}


def test_injected_timeouts_are_ambiguous_but_accepted(sandbox: SandboxClient) -> None:
    sandbox.register(PHONE_ID)
    sandbox.configure(timeout_ratio=1, timeout_hold_seconds=2)
    outcomes = send(sandbox, texts(2), timeouts=Timeouts(connect=2, total=0.3))
    assert [o.kind for o in outcomes] == [OutcomeKind.AMBIGUOUS, OutcomeKind.AMBIGUOUS]
    stats = sandbox.number_stats(PHONE_ID)
    assert (stats["accepted"], stats["distinct"]) == (2, 2)


def test_ban_on_demand_sends_account_update_and_blocks_sends(
    sandbox: SandboxClient, webhook_receiver: WebhookReceiver
) -> None:
    sandbox.register(PHONE_ID, callback_url=webhook_receiver.url, app_secret=SECRET, waba_id="W1")
    assert sandbox.call("POST", f"/_sandbox/numbers/{PHONE_ID}/ban").status == 200
    (outcome,) = send(sandbox, texts(1))
    assert outcome.kind is OutcomeKind.SENDER_BLOCKED
    assert outcome.error is not None
    assert (outcome.error.code, outcome.error.http_status) == (131031, 403)
    sandbox.wait_idle()
    (hook,) = webhook_receiver.received
    assert verify_signature(hook.raw, hook.headers.get("X-Hub-Signature-256"), SECRET)
    (event,) = parse_webhook(hook.json)
    assert isinstance(event, AccountEvent)
    assert (event.account_id, event.event, event.effect) == (
        "W1",
        "DISABLED_UPDATE",
        AccountEffect.BLOCKED,
    )
    assert sandbox.call("POST", f"/_sandbox/numbers/{PHONE_ID}/unban").status == 200
    assert send(sandbox, texts(1, prefix="after"))[0].kind is OutcomeKind.ACCEPTED


def test_ban_after_n_messages(sandbox: SandboxClient, webhook_receiver: WebhookReceiver) -> None:
    sandbox.register(PHONE_ID, callback_url=webhook_receiver.url, app_secret=SECRET)
    sandbox.configure(ban_after=3)
    outcomes = send(sandbox, texts(5), concurrency=1)
    assert [o.kind for o in outcomes] == [OutcomeKind.ACCEPTED] * 3 + [
        OutcomeKind.SENDER_BLOCKED
    ] * 2
    assert sandbox.number_stats(PHONE_ID)["banned"] is True
    sandbox.wait_idle()
    account_events = [e for e in received_events(webhook_receiver) if isinstance(e, AccountEvent)]
    assert [e.effect for e in account_events] == [AccountEffect.BLOCKED]


def test_inbound_stop_text_and_button_reply(
    sandbox: SandboxClient, webhook_receiver: WebhookReceiver
) -> None:
    sandbox.register(PHONE_ID, callback_url=webhook_receiver.url, app_secret=SECRET)
    text = sandbox.call(
        "POST",
        "/_sandbox/inbound",
        {"phone_number_id": PHONE_ID, "from": "+994501234567", "text": "STOP"},
    )
    button = sandbox.call(
        "POST",
        "/_sandbox/inbound",
        {
            "phone_number_id": PHONE_ID,
            "from": "994501234568",
            "button": {"payload": "STOP", "text": "Stop promotions"},
            "context_id": "wamid.original",
        },
    )
    assert (text.status, button.status) == (202, 202)
    sandbox.wait_idle()
    for hook in webhook_receiver.received:
        assert verify_signature(hook.raw, hook.headers.get("X-Hub-Signature-256"), SECRET)
    inbound = sorted(
        (e for e in received_events(webhook_receiver) if isinstance(e, InboundMessageEvent)),
        key=lambda e: e.sender,
    )
    assert [(e.account_id, e.sender, e.kind, e.text, e.payload) for e in inbound] == [
        (PHONE_ID, "994501234567", "text", "STOP", None),
        (PHONE_ID, "994501234568", "button", "Stop promotions", "STOP"),
    ]
    assert inbound[1].context_message_id == "wamid.original"
    assert {e.provider_message_id for e in inbound} == {text.body["id"], button.body["id"]}


# Control API ---------------------------------------------------------------------------------


def test_number_registration_is_an_idempotent_upsert(sandbox: SandboxClient) -> None:
    payload = {"phone_number_id": "77", "access_token": "t1", "callback_url": None}
    first = sandbox.call("POST", "/_sandbox/numbers", payload)
    again = sandbox.call("POST", "/_sandbox/numbers", {**payload, "throughput_per_second": 20})
    assert (first.status, again.status) == (201, 200)
    assert again.body["throughput_per_second"] == 20
    assert "access_token" not in again.body
    assert [n["phone_number_id"] for n in sandbox.call("GET", "/_sandbox/numbers").body] == ["77"]
    assert sandbox.call("DELETE", "/_sandbox/numbers/77").status == 204
    assert sandbox.call("DELETE", "/_sandbox/numbers/77").status == 404


def test_number_registration_rejects_bad_input(sandbox: SandboxClient) -> None:
    for payload in (
        {"access_token": "t"},
        {"phone_number_id": "1", "access_token": ""},
        {"phone_number_id": "1", "access_token": "t", "callback_url": "ftp://x"},
        {"phone_number_id": "1", "access_token": "t", "throughput_per_second": 0},
    ):
        assert sandbox.call("POST", "/_sandbox/numbers", payload).status == 400
    assert sandbox.call("GET", "/_sandbox/numbers").body == []


def test_config_partial_update_and_validation(sandbox: SandboxClient) -> None:
    before = sandbox.call("GET", "/_sandbox/config").body
    after = sandbox.configure(read_ratio=0.25, latency_seconds=0)
    assert after == {**before, "read_ratio": 0.25, "latency_seconds": 0.0}
    assert sandbox.call("POST", "/_sandbox/config", {"no_such_knob": 1}).status == 400
    assert sandbox.call("POST", "/_sandbox/config", {"read_ratio": 2}).status == 400
    assert sandbox.call("POST", "/_sandbox/config", {"not_on_whatsapp_pattern": "("}).status == 400
    assert sandbox.call("GET", "/_sandbox/config").body == after


def test_graph_errors_for_unknown_number_bad_token_and_bad_body(sandbox: SandboxClient) -> None:
    sandbox.register(PHONE_ID)
    url = f"/v23.0/{PHONE_ID}/messages"
    good = {"Authorization": "Bearer sandbox-token"}
    unknown = sandbox.call("POST", "/v23.0/999/messages", {}, headers=good)
    bad_token = sandbox.call("POST", url, {}, headers={"Authorization": "Bearer nope"})
    no_body = sandbox.call("POST", url, {"messaging_product": "whatsapp", "to": "1"}, headers=good)
    assert (unknown.status, unknown.body["error"]["code"]) == (400, 100)
    assert (bad_token.status, bad_token.body["error"]["code"]) == (401, 190)
    assert (no_body.status, no_body.body["error"]["code"]) == (400, 131008)
    for answer in (unknown, bad_token, no_body):
        error = answer.body["error"]
        assert error["type"] == "OAuthException"
        assert error["message"].startswith(f"(#{error['code']}) ")
        assert error["error_data"]["details"]
        assert error["fbtrace_id"]
