"""Stored gateway webhooks are applied in batches (issue #20): many bodies' statuses in one
transaction, each body exactly once, a broken body failing alone, a batch that raises applied
again one event at a time, and two drainers at once never deadlocking or applying twice."""

from __future__ import annotations

import json
import logging
import random
import threading
import time

import pytest
from django.db import connection
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext

from messaging.analytics.models import MessageStat
from messaging.campaigns.models import Message
from messaging.numbers import services as number_services
from messaging.numbers.models import Sender, WebhookEvent
from tests.plans import explain_analyze

from .conftest import drain_all


def _stored(number: Sender, statuses: list[tuple[Message, str]]) -> WebhookEvent:
    """A verified Cloud API body, stored as the receiver stores it (not applied yet)."""
    now = int(time.time())
    value = {
        "messaging_product": "whatsapp",
        "metadata": {
            "display_phone_number": number.phone_number.lstrip("+"),
            "phone_number_id": number.phone_number_id,
        },
        "statuses": [
            {
                "id": message.provider_message_id,
                "status": status,
                "timestamp": str(now),
                "recipient_id": message.phone.lstrip("+"),
                "biz_opaque_callback_data": str(message.public_id),
            }
            for message, status in statuses
        ],
    }
    body = {
        "object": "whatsapp_business_account",
        "entry": [{"id": number.waba_id, "changes": [{"field": "messages", "value": value}]}],
    }
    return WebhookEvent.objects.create(
        workspace_id=number.workspace_id,
        sender=number,
        source=WebhookEvent.Source.CLOUD_API,
        body=json.dumps(body).encode(),
    )


def _sent(sandbox_number, contacts, credits, launch, n: int, numbers: int = 2):
    contacts(n)
    credits(n)
    senders = [sandbox_number() for _ in range(numbers)]
    campaign = launch(senders)
    drain_all(senders)
    messages = list(Message.objects.filter(campaign=campaign).order_by("pk"))
    assert {m.status for m in messages} == {"accepted"}
    return campaign, messages


def _read_in_statistics(campaign) -> int:
    figures = MessageStat.objects.filter(campaign_id=campaign.pk).aggregate(read=Sum("read"))
    return figures["read"] or 0


@pytest.mark.django_db
def test_one_batch_applies_many_bodies_once_and_a_broken_body_fails_alone(
    sandbox_number, contacts, credits, launch
) -> None:
    campaign, messages = _sent(sandbox_number, contacts, credits, launch, 6)
    by_number: dict[int, list[Message]] = {}
    for message in messages:
        by_number.setdefault(message.sender_id, []).append(message)
    events = []
    for sender_id, own in by_number.items():
        number = Sender.objects.get(pk=sender_id)
        events.append(_stored(number, [(m, "delivered") for m in own]))
        events.append(_stored(number, [(m, "read") for m in own]))
        events.append(_stored(number, [(own[0], "read")]))  # Meta repeats itself
    broken = WebhookEvent.objects.create(
        workspace_id=messages[0].workspace_id,
        sender_id=messages[0].sender_id,
        source=WebhookEvent.Source.CLOUD_API,
        body=b"{not json",
    )

    taken = number_services.webhook_events_apply_batch(limit=100)

    assert taken == len(events) + 1
    assert set(Message.objects.filter(campaign=campaign).values_list("status", flat=True)) == {
        "read"
    }
    assert _read_in_statistics(campaign) == 6  # the repeated read counted once
    states = dict(WebhookEvent.objects.values_list("pk", "state"))
    assert all(states[e.pk] == WebhookEvent.State.PARSED for e in events)
    assert states[broken.pk] == WebhookEvent.State.FAILED
    assert number_services.webhook_events_apply_batch(limit=100) == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("source", "body"),
    [
        (WebhookEvent.Source.WEB_GATEWAY, b"[1, 2, 3]"),
        (WebhookEvent.Source.WEB_GATEWAY, b'"hi"'),
        (
            WebhookEvent.Source.WEB_GATEWAY,
            b'{"event": "message.ack", "session": "s", "payload": {"id": "x", "ack": 2,'
            b' "timestamp": 1e30}}',
        ),
        (WebhookEvent.Source.CLOUD_API, b"[1, 2, 3]"),
        (
            WebhookEvent.Source.CLOUD_API,
            b'{"object": "whatsapp_business_account", "entry": [{"id": "1", "time": 1e30,'
            b' "changes": []}]}',
        ),
    ],
)
def test_a_signed_body_of_the_wrong_shape_never_takes_the_batch_down(
    sandbox_number, contacts, credits, launch, caplog, source, body
) -> None:
    """A tenant holds its web gateway's signing key: `[1,2,3]` or a timestamp of 1e30 raised
    in the batch, which logged a traceback and applied every other tenant's event again one
    at a time."""
    campaign, messages = _sent(sandbox_number, contacts, credits, launch, 2, numbers=1)
    number = Sender.objects.get(pk=messages[0].sender_id)
    good = _stored(number, [(m, "read") for m in messages])
    odd = WebhookEvent.objects.create(
        workspace_id=number.workspace_id, sender=number, source=source, body=body
    )

    with caplog.at_level(logging.ERROR):
        assert number_services.webhook_events_apply_batch(limit=100) == 2

    assert "applying them one by one" not in caplog.text
    assert set(Message.objects.filter(campaign=campaign).values_list("status", flat=True)) == {
        "read"
    }
    good.refresh_from_db()
    odd.refresh_from_db()
    assert good.state == WebhookEvent.State.PARSED
    assert odd.state in (WebhookEvent.State.PARSED, WebhookEvent.State.FAILED)
    assert odd.attempts == 1


@pytest.mark.django_db
def test_a_batch_that_raises_is_applied_again_one_event_at_a_time(
    sandbox_number, contacts, credits, launch, monkeypatch
) -> None:
    campaign, messages = _sent(sandbox_number, contacts, credits, launch, 4, numbers=1)
    number = Sender.objects.get(pk=messages[0].sender_id)
    events = [_stored(number, [(m, "read")]) for m in messages]

    def batch_breaks(**_kwargs):
        raise RuntimeError("a bug that only the batch path meets")

    monkeypatch.setattr(number_services, "apply_events_of_senders", batch_breaks)

    assert number_services.webhook_events_apply_batch(limit=100) == 4

    assert set(Message.objects.filter(campaign=campaign).values_list("status", flat=True)) == {
        "read"
    }
    assert _read_in_statistics(campaign) == 4
    for event in events:
        event.refresh_from_db()
        assert (event.state, event.attempts) == (WebhookEvent.State.PARSED, 1)


@pytest.mark.django_db(transaction=True)
def test_two_drainers_at_once_share_the_work_without_deadlock_or_double_apply(
    sandbox_number, contacts, credits, launch, caplog
) -> None:
    """Bodies name the same messages in different orders, so two drainers' batches lock
    overlapping rows: they must lock in one order (no deadlock, which would also show as a
    batch falling back to one-by-one) and still apply every body exactly once."""
    campaign, messages = _sent(sandbox_number, contacts, credits, launch, 30)
    rng = random.Random(20)
    numbers = {n.pk: n for n in Sender.objects.filter(pk__in={m.sender_id for m in messages})}
    events = []
    for status in ("sent", "delivered", "read"):
        for _ in range(15):
            number = numbers[rng.choice(list(numbers))]
            own = [m for m in messages if m.sender_id == number.pk]
            picked = rng.sample(own, k=min(len(own), 8))
            events.append(_stored(number, [(m, status) for m in picked]))
    # every message surely gets its read
    for number in numbers.values():
        own = [m for m in messages if m.sender_id == number.pk]
        events.append(_stored(number, [(m, "read") for m in reversed(own)]))
    taken: list[int] = []
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def drainer() -> None:
        try:
            start.wait()
            while batch := number_services.webhook_events_apply_batch(limit=4):
                taken.append(batch)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        finally:
            connection.close()

    with caplog.at_level(logging.ERROR, logger="messaging.numbers.services"):
        threads = [threading.Thread(target=drainer) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)

    assert errors == []
    assert "one by one" not in caplog.text
    assert sum(taken) == len(events)
    assert set(WebhookEvent.objects.values_list("state", flat=True)) == {"parsed"}
    assert set(WebhookEvent.objects.values_list("attempts", flat=True)) == {1}
    assert set(Message.objects.filter(campaign=campaign).values_list("status", flat=True)) == {
        "read"
    }
    assert _read_in_statistics(campaign) == 30


@pytest.mark.django_db
def test_the_drain_task_clears_its_slot_and_leaves_nothing_waiting(
    sandbox_number, contacts, credits, launch
) -> None:
    from messaging.engine.runtime import redis_client

    campaign, messages = _sent(sandbox_number, contacts, credits, launch, 3, numbers=1)
    number = Sender.objects.get(pk=messages[0].sender_id)
    for message in messages:
        _stored(number, [(message, "read")])
    redis_client().set("webhook-drain:0", "1")

    assert number_services.webhook_events_drain(slot=0) == 3

    assert not redis_client().exists("webhook-drain:0")
    assert not WebhookEvent.objects.filter(state=WebhookEvent.State.RECEIVED).exists()
    assert _read_in_statistics(campaign) == 3


@pytest.mark.django_db
def test_statuses_without_our_id_match_by_the_providers_id_within_the_workspace_only(
    sandbox_number, contacts, credits, launch, other_workspace
) -> None:
    """Meta echoes `biz_opaque_callback_data` only when we sent it; without it the provider's
    message id names the message, and only among the webhook's own workspace's messages."""
    campaign, messages = _sent(sandbox_number, contacts, credits, launch, 2, numbers=1)
    number = Sender.objects.get(pk=messages[0].sender_id)
    mine, theirs = messages
    # The other workspace's message carries the same provider id as `theirs` (ids are only
    # unique per provider account).
    Message.objects.filter(pk=theirs.pk).update(workspace_id=other_workspace.pk)
    event = _stored(number, [(mine, "read"), (theirs, "read")])
    body = json.loads(bytes(event.body))
    for status in body["entry"][0]["changes"][0]["value"]["statuses"]:
        del status["biz_opaque_callback_data"]
    WebhookEvent.objects.filter(pk=event.pk).update(body=json.dumps(body).encode())

    assert number_services.webhook_events_apply_batch(limit=10) == 1

    assert Message.objects.get(pk=mine.pk).status == "read"
    assert Message.objects.get(pk=theirs.pk).status == "accepted"


@pytest.mark.django_db
def test_a_claim_reads_its_batch_not_the_backlog_nor_the_applied_history(workspace) -> None:
    """After an outage thousands of bodies wait, behind months of applied ones (retention keeps
    them), and the statistics were taken while nothing waited. Each claim must read its own
    batch: one that reads the backlog or the history makes draining a backlog quadratic
    (104-114 ms a claim at 200,000 applied events, 40-58 ms at 100,000 waiting)."""
    table = WebhookEvent._meta.db_table
    insert = (
        f"INSERT INTO {table} (workspace_id, source, body, received_at, state, error, attempts) "  # noqa: S608
        "SELECT %s, 'cloud_api', '\\x7b7d'::bytea, now(), %s, '', %s FROM generate_series(1, %s)"
    )
    with connection.cursor() as cursor:
        cursor.execute(insert, [workspace.pk, WebhookEvent.State.PARSED, 1, 20_000])
        cursor.execute(f"ANALYZE {table}")
        cursor.execute(insert, [workspace.pk, WebhookEvent.State.RECEIVED, 0, 5_000])
    with CaptureQueriesContext(connection) as captured:
        assert number_services.webhook_events_apply_batch(limit=100) == 100
    claim_index = next(i for i, q in enumerate(captured) if q["sql"].startswith(f"UPDATE {table}"))
    setup = tuple(q["sql"] for q in captured[:claim_index] if q["sql"].startswith("SET "))

    nodes = explain_analyze(captured[claim_index]["sql"], setup=setup)
    read = [
        node.get("Actual Rows", 0) + node.get("Rows Removed by Filter", 0)
        for node in nodes
        if "Scan" in node["Node Type"]
    ]
    assert max(read) <= 100, nodes
    assert "Sort" not in {node["Node Type"] for node in nodes}, nodes
    assert WebhookEvent.objects.filter(state=WebhookEvent.State.RECEIVED).count() == 4_900
