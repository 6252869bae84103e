"""Status ingestion end to end: signed status webhooks in Meta's batched shape posted at the
product's real receiver (gunicorn, production settings) as fast as it takes them, applied by
the real Celery worker.

Prints the receiver's ack latency (p50/p99), status events applied per second end to end, the
lag from posting a status to the product applying it, CPU seconds per 1,000 events for each
process kind, and the checks: 0 lost (every message ends read with its times), 0 applied twice
(each webhook body parsed exactly once, campaign counters equal the sent set).

Targets (issue #20): ack p50 <= 20 ms, p99 <= 200 ms; >= 3,000 status events/s applied.
Usage: .venv/bin/python bench/ingest.py [messages] [statuses_per_body] [concurrency] [--rate=N]
(closed loop by default: `concurrency` posters as fast as the receiver answers; `--rate=N`
offers N status events a second, as Meta sends them, and times each ack from when it was
due)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import aiohttp
from _procs import CpuMeter, start_web, start_worker
from _setup import django_setup, emit, free_port, vacuum_analyze


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def seed(messages: int) -> dict[str, Any]:
    """A workspace, one sandbox number and a running campaign whose `messages` were accepted by
    the gateway (as the drainer leaves them), written in bulk."""
    from django.db import connection
    from django.utils import timezone

    from accounts.models import User, Workspace
    from billing import services as billing
    from core.crypto import encrypt_json
    from messaging.campaigns.models import Campaign, Message
    from messaging.content.models import MessageTemplate
    from messaging.numbers.models import Sender

    tag = uuid.uuid4().hex[:8]
    owner = User.objects.create_user(email=f"ingest-{tag}@example.com", password=None)
    workspace = Workspace.objects.create(name=f"Ingest {tag}", slug=f"ingest-{tag}")
    app_secret = uuid.uuid4().hex
    sender = Sender.objects.create(
        workspace=workspace,
        provider=Sender.Provider.SANDBOX,
        label="Bench",
        phone_number="+994550000001",
        phone_number_id=str(uuid.uuid4().int)[:15],
        waba_id=f"bench-waba-{tag}",
        credentials_encrypted=encrypt_json({"access_token": "x", "app_secret": app_secret}),
        status=Sender.Status.ACTIVE,
    )
    template = MessageTemplate.objects.create(workspace=workspace, name="B", variants=["Hi"])
    campaign = Campaign.objects.create(
        workspace=workspace,
        name="Ingest",
        template=template,
        status=Campaign.Status.RUNNING,
        recipients=messages,
        credits_reserved=messages,
    )
    billing.credits_adjust(workspace=workspace, amount=messages, reason="bench", actor=owner)
    billing.credits_reserve(
        workspace=workspace,
        amount=messages,
        reference=campaign.credit_reference,
        idempotency_key=f"{campaign.credit_reference}:launch",
    )
    now = timezone.now()
    Message.objects.bulk_create(
        (
            Message(
                workspace=workspace,
                campaign=campaign,
                sender=sender,
                phone=f"+99450{i:07d}",
                body="Hi",
                status=Message.Status.ACCEPTED,
                provider_message_id=f"wamid.ingest-{tag}-{i}",
                attempts=1,
                accepted_at=now,
                status_changed_at=now,
            )
            for i in range(1, messages + 1)
        ),
        batch_size=5000,
    )
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Message._meta.db_table}")  # noqa: S608 - our table
    ids = list(
        Message.objects.filter(campaign=campaign)
        .order_by("pk")
        .values_list("provider_message_id", "public_id", "phone")
    )
    return {
        "workspace": workspace,
        "sender": sender,
        "campaign": campaign,
        "app_secret": app_secret,
        "messages": ids,
    }


def bodies(data: dict[str, Any], per_body: int) -> list[tuple[str, list[str], bytes]]:
    """Meta's shape: one entry, one `messages` change whose `statuses` list holds up to
    `per_body` statuses. Three waves (sent, delivered, read) as Meta sends them."""
    sender = data["sender"]
    out = []
    now = int(datetime.now(tz=UTC).timestamp())
    for status in ("sent", "delivered", "read"):
        for start in range(0, len(data["messages"]), per_body):
            chunk = data["messages"][start : start + per_body]
            statuses = [
                {
                    "id": wamid,
                    "status": status,
                    "timestamp": str(now),
                    "recipient_id": phone.lstrip("+"),
                    "biz_opaque_callback_data": str(public_id),
                    **(
                        {
                            "conversation": {"id": "c", "origin": {"type": "marketing"}},
                            "pricing": {
                                "billable": True,
                                "pricing_model": "PMP",
                                "category": "marketing",
                            },
                        }
                        if status == "sent"
                        else {}
                    ),
                }
                for wamid, public_id, phone in chunk
            ]
            payload = {
                "object": "whatsapp_business_account",
                "entry": [
                    {
                        "id": sender.waba_id,
                        "changes": [
                            {
                                "field": "messages",
                                "value": {
                                    "messaging_product": "whatsapp",
                                    "metadata": {
                                        "display_phone_number": sender.phone_number.lstrip("+"),
                                        "phone_number_id": sender.phone_number_id,
                                    },
                                    "statuses": statuses,
                                },
                            }
                        ],
                    }
                ],
            }
            out.append((status, [str(p) for _, p, _ in chunk], json.dumps(payload).encode()))
    return out


async def post_all(
    url: str,
    secret: str,
    items: list[tuple[str, list[str], bytes]],
    concurrency: int,
    rate: float = 0.0,
) -> tuple[list[float], dict[str, float], int]:
    """Post every body; returns ack latencies (s), each read status's post time by message
    public id (wall clock), and how many answers were not 200.

    `rate` 0: closed loop, `concurrency` posters each posting its next body as soon as the last
    is answered (the receiver's capacity; the ack time is then mostly the queue in front of
    it). `rate` > 0: open loop, status events offered at that rate as Meta sends them (bodies
    at `rate / statuses per body` a second, however slowly they are answered), each ack timed
    from when it was due, so a slow answer also delays nothing else's clock."""
    latencies: list[float] = []
    read_posted: dict[str, float] = {}
    errors = 0
    connector = aiohttp.TCPConnector(limit=0 if rate else concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def post(item: tuple[str, list[str], bytes], due: float | None = None) -> None:
            nonlocal errors
            status, public_ids, body = item
            signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
            started = time.perf_counter() if due is None else due
            posted_at = time.time()
            async with session.post(
                url,
                data=body,
                headers={"Content-Type": "application/json", "X-Hub-Signature-256": signature},
            ) as reply:
                await reply.read()
                if reply.status != 200:
                    errors += 1
            latencies.append(time.perf_counter() - started)
            if status == "read":
                for public_id in public_ids:
                    read_posted[public_id] = posted_at

        if rate:
            per_body = max(1, len(items[0][1])) if items else 1
            interval = per_body / rate
            begin = time.perf_counter()
            tasks = []
            for index, item in enumerate(items):
                due = begin + index * interval
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(post(item, due)))
            await asyncio.gather(*tasks)
            return latencies, read_posted, errors

        queue: asyncio.Queue[tuple[str, list[str], bytes]] = asyncio.Queue()
        for item in items:
            queue.put_nowait(item)

        async def worker() -> None:
            while not queue.empty():
                await post(queue.get_nowait())

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, read_posted, errors


def main(messages: int, per_body: int, concurrency: int, rate: float = 0.0) -> None:
    port = free_port()
    os.environ["BENCH_WEBHOOK_RECEIVER"] = f"http://127.0.0.1:{port}"
    django_setup()
    import redis
    from django.conf import settings
    from django.db.models import Sum

    from messaging.analytics.models import MessageStat
    from messaging.campaigns.models import Message
    from messaging.numbers.models import WebhookEvent

    redis.Redis.from_url(settings.REDIS_URL).flushdb()  # the bench's own Redis database
    data = seed(messages)
    vacuum_analyze()
    items = bodies(data, per_body)
    env = {**os.environ, "PYTHONPATH": str(os.getcwd())}
    web = start_web(port, env)
    worker = start_worker(env, "default,webhooks", 2, "worker")
    time.sleep(3)  # the worker connects to the broker
    meter = CpuMeter({"web": web.pid, "worker": worker.pid})
    url = f"http://127.0.0.1:{port}/webhooks/whatsapp/{data['sender'].public_id}/"
    try:
        meter.start()
        started = time.time()
        latencies, read_posted, errors = asyncio.run(
            post_all(url, data["app_secret"], items, concurrency, rate)
        )
        posted = time.time() - started
        deadline = time.time() + max(120, messages / 200)
        campaign_messages = Message.objects.filter(campaign=data["campaign"])
        while time.time() < deadline:
            pending = WebhookEvent.objects.filter(
                sender=data["sender"], state=WebhookEvent.State.RECEIVED
            ).count()
            if not pending:
                break
            time.sleep(0.2)
        applied_after = time.time() - started
        cpu = meter.stop()
    finally:
        worker.stop()
        web.stop()
    read = dict(
        campaign_messages.filter(status=Message.Status.READ).values_list(
            "public_id", "status_changed_at"
        )
    )
    lags = [
        read[uuid.UUID(pid)].timestamp() - at
        for pid, at in read_posted.items()
        if uuid.UUID(pid) in read
    ]
    events = WebhookEvent.objects.filter(sender=data["sender"])
    with_times = campaign_messages.filter(delivered_at__isnull=False, read_at__isnull=False).count()
    # The statistics table is kept by a trigger from every status change: a status applied
    # twice would count twice there.
    stats = MessageStat.objects.filter(campaign_id=data["campaign"].pk).aggregate(
        delivered=Sum("delivered"), read=Sum("read")
    )
    status_events = 3 * messages
    emit(
        {
            "benchmark": "ingest",
            "messages": messages,
            "status_events": status_events,
            "statuses_per_body": per_body,
            "bodies": len(items),
            "concurrency": None if rate else concurrency,
            "offered_events_per_second": rate or None,
            "non_200_answers": errors,
            "ack_ms": {
                "p50": round(percentile(latencies, 0.5) * 1000, 1),
                "p99": round(percentile(latencies, 0.99) * 1000, 1),
                "mean": round(statistics.fmean(latencies) * 1000, 1) if latencies else None,
            },
            "posted_in_seconds": round(posted, 1),
            "received_per_second": round(status_events / posted),
            "all_applied_after_seconds": round(applied_after, 1),
            "applied_per_second": round(status_events / applied_after),
            "lag_seconds": {
                "p50": round(percentile(lags, 0.5), 2),
                "p95": round(percentile(lags, 0.95), 2),
            },
            "cpu_seconds_per_1000_events": {
                kind: round(seconds * 1000 / status_events, 3) for kind, seconds in cpu.items()
            },
            "checks": {
                "lost": messages - len(read),
                "read_without_times": len(read) - with_times,
                "bodies_parsed": events.filter(state=WebhookEvent.State.PARSED).count(),
                "bodies_failed_or_pending": events.exclude(state=WebhookEvent.State.PARSED).count(),
                "bodies_stored_twice": events.count() - len(items),
                "statistics_delivered": stats["delivered"],
                "statistics_read": stats["read"],
            },
            "targets": {"ack_p50_ms": 20, "ack_p99_ms": 200, "applied_per_second": 3000},
        }
    )


if __name__ == "__main__":
    rate_args = [a for a in sys.argv[1:] if a.startswith("--rate=")]
    args = [int(a) for a in sys.argv[1:] if a not in rate_args]
    offered = float(rate_args[-1].split("=", 1)[1]) if rate_args else 0.0
    main(*(args + [20_000, 50, 32][len(args) :]), rate=offered)
