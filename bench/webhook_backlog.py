"""Draining a backlog of stored webhooks behind a long history of applied ones.

After an outage of the ingesting workers (or a burst Meta delivers faster than they apply),
thousands of bodies wait, behind every body already applied: retention keeps them for months.
This seeds `history` applied events (each stored as waiting and then applied, as in
production, so the waiting index holds their entries until VACUUM), takes the statistics
then (nothing waits yet), stores a backlog of status bodies for `messages` accepted messages
(sent, delivered and read, `statuses_per_body` a body), and applies it in-process with the
drain's own batches until nothing waits.

Prints the batches' time (p50/p95/max), the claims' time alone (p50/p95), bodies and status
events applied per second, and the check that every message ended read.
Usage: .venv/bin/python bench/webhook_backlog.py [history] [messages] [statuses_per_body]
[--vacuumed] (the history VACUUMed before the backlog arrives, as autovacuum leaves it)"""

from __future__ import annotations

import statistics
import sys
import time

from _setup import django_setup, emit


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def main(history: int, messages: int, per_body: int, *, vacuumed: bool = False) -> None:
    django_setup()
    from django.conf import settings
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from ingest import bodies, seed

    from messaging.campaigns.models import Message
    from messaging.numbers import services as number_services
    from messaging.numbers.models import WebhookEvent

    data = seed(messages)
    workspace, sender = data["workspace"], data["sender"]
    table = WebhookEvent._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (workspace_id, sender_id, source, body, received_at, state, "  # noqa: S608
            "error, attempts) SELECT %s, %s, 'cloud_api', '\\x7b7d'::bytea, now(), 'received', "
            "'', 0 FROM generate_series(1, %s)",
            [workspace.pk, sender.pk, history],
        )
        cursor.execute(
            f"UPDATE {table} SET state = 'parsed', attempts = 1, processed_at = now() "  # noqa: S608
            "WHERE workspace_id = %s AND state = 'received'",
            [workspace.pk],
        )
        # `--vacuumed`: as autovacuum leaves the table (applied events' index entries removed);
        # otherwise as between two of its runs. The statistics are taken here either way.
        cursor.execute(f"{'VACUUM ' if vacuumed else ''}ANALYZE {table}")
    backlog = [body for _, _, body in bodies(data, per_body)]
    WebhookEvent.objects.bulk_create(
        (
            WebhookEvent(
                workspace=workspace,
                sender=sender,
                source=WebhookEvent.Source.CLOUD_API,
                body=body,
            )
            for body in backlog
        ),
        batch_size=1000,
    )

    batch_seconds: list[float] = []
    claim_seconds: list[float] = []
    applied = 0
    started = time.perf_counter()
    while True:
        with CaptureQueriesContext(connection) as captured:
            began = time.perf_counter()
            taken = number_services.webhook_events_apply_batch(limit=settings.WEBHOOK_DRAIN_BATCH)
            batch_seconds.append(time.perf_counter() - began)
        claim = f"UPDATE {table} SET attempts"  # noqa: S608 - matched, never executed
        claim_seconds += [float(q["time"]) for q in captured if q["sql"].startswith(claim)]
        if not taken:
            break
        applied += taken
    elapsed = time.perf_counter() - started
    batch_seconds.pop()  # the last call found nothing

    read = Message.objects.filter(campaign=data["campaign"], status="read").count()
    emit(
        {
            "benchmark": "webhook_backlog",
            "history_applied_events": history,
            "history_vacuumed": vacuumed,
            "backlog_bodies": len(backlog),
            "statuses_per_body": per_body,
            "status_events": 3 * messages,
            "batch": settings.WEBHOOK_DRAIN_BATCH,
            "drain_seconds": round(elapsed, 2),
            "bodies_per_second": round(applied / elapsed),
            "status_events_per_second": round(3 * messages / elapsed),
            "batch_ms": {
                "p50": round(1000 * statistics.median(batch_seconds), 1),
                "p95": round(1000 * percentile(batch_seconds, 0.95), 1),
                "max": round(1000 * max(batch_seconds), 1),
            },
            "claim_ms": {
                "p50": round(1000 * statistics.median(claim_seconds), 1),
                "p95": round(1000 * percentile(claim_seconds, 0.95), 1),
            },
            "messages_read": f"{read} of {messages}",
        }
    )


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:] if not a.startswith("--")]
    main(
        args[0] if args else 200_000,
        args[1] if len(args) > 1 else 20_000,
        args[2] if len(args) > 2 else 1,
        vacuumed="--vacuumed" in sys.argv,
    )
