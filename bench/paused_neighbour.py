"""A number shared by a paused campaign and a running one: what a claim costs.

A user pauses a large campaign (or the engine pauses it: template paused, quality, audience)
and sends another campaign on the same number. The paused campaign's messages stay queued and
due. This seeds `paused` of them, then `running` due messages of a running campaign on the same
number (queued later, so behind them in due time), VACUUM ANALYZE as autovacuum would leave the
tables, and times the drainer's claim of a batch (rolled back each time, so every claim sees
the same queue) and its "more to do?" check on a number with only the paused campaign left.

With `--worker`, a real dispatch worker (`--pool threads -c 8`, as the Procfile) is then
started, the number with only paused work is kicked once, and the worker's and Postgres's CPU
seconds over the next `WATCH_SECONDS` are printed: a drainer that re-queues itself spins there.

Usage: .venv/bin/python bench/paused_neighbour.py [paused] [running] [repeats] [--worker]"""

from __future__ import annotations

import os
import statistics
import sys
import time
import uuid
from datetime import timedelta

from _setup import django_setup, emit, vacuum_analyze


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


WATCH_SECONDS = 10.0


def main(paused: int, running: int, repeats: int, *, worker: bool = False) -> None:
    if worker:
        os.environ["ENGINE_KICK_DRAINERS"] = "1"  # the kick reaches the real dispatch worker
    django_setup()
    from django.db import transaction
    from django.utils import timezone

    from accounts.models import Workspace
    from messaging.campaigns.models import Campaign, Message
    from messaging.engine import dispatch
    from messaging.numbers.models import Sender

    tag = uuid.uuid4().hex[:8]
    workspace = Workspace.objects.create(name=f"Paused {tag}", slug=f"paused-{tag}")
    sender, lone = (
        Sender.objects.create(
            workspace=workspace,
            provider=Sender.Provider.SANDBOX,
            label=label,
            phone_number=phone,
            status=Sender.Status.ACTIVE,
        )
        for label, phone in (
            ("Bench", "+994550000002"),
            ("Bench, paused only", "+994550000003"),
        )
    )
    campaigns = {
        status: Campaign.objects.create(workspace=workspace, name=status, status=status)
        for status in (Campaign.Status.PAUSED, Campaign.Status.RUNNING)
    }
    now = timezone.now()

    def queue(campaign: Campaign, number: Sender, count: int, *, at: float) -> None:
        campaign.senders.add(number)
        Message.objects.bulk_create(
            (
                Message(
                    workspace=workspace,
                    campaign=campaign,
                    sender=number,
                    phone=f"+99450{i:07d}",
                    body="Hi",
                    next_attempt_at=now - timedelta(seconds=at),
                )
                for i in range(count)
            ),
            batch_size=5000,
        )

    queue(campaigns[Campaign.Status.PAUSED], sender, paused, at=120)
    queue(campaigns[Campaign.Status.PAUSED], lone, paused, at=120)
    queue(campaigns[Campaign.Status.RUNNING], sender, running, at=60)
    vacuum_analyze()

    claims, checks, claimed = [], [], set()
    for _ in range(repeats):
        with transaction.atomic():
            started = time.perf_counter()
            batch = dispatch.claim(sender_id=sender.pk, limit=dispatch.MAX_BATCH)
            claims.append((time.perf_counter() - started) * 1000)
            claimed.update(c.campaign_id for c in batch)
            transaction.set_rollback(True)
        started = time.perf_counter()
        more = dispatch._work_due(lone.pk)  # noqa: SLF001 - the drainer's own check
        checks.append((time.perf_counter() - started) * 1000)
    idle = _watch_worker(lone.pk) if worker else {}
    emit(
        {
            **idle,
            "paused_queued": paused,
            "running_queued": running,
            "claim_ms_p50": round(statistics.median(claims), 2),
            "claim_ms_p95": round(percentile(claims, 0.95), 2),
            "claimed_only_running": claimed == {campaigns[Campaign.Status.RUNNING].pk},
            "more_check_paused_only_ms_p50": round(statistics.median(checks), 2),
            "more_check_says_more": more,
        }
    )


def _watch_worker(sender_id: int) -> dict[str, object]:
    """Kick the number once and measure what a real dispatch worker spends on it."""
    from _procs import CpuMeter, start_worker

    from messaging.engine.kick import dispatch_kick

    process = start_worker(
        {**os.environ, "PYTHONPATH": os.getcwd()}, "dispatch", 8, "dispatch", pool="threads"
    )
    try:
        time.sleep(4)  # the worker connects to the broker
        meter = CpuMeter({"dispatch_worker": process.pid})
        meter.start()
        dispatch_kick(sender_ids=[sender_id])
        time.sleep(WATCH_SECONDS)
        used = meter.stop()
    finally:
        process.stop()
    return {
        "watched_seconds": WATCH_SECONDS,
        "paused_only_number_cpu_seconds": used,
    }


if __name__ == "__main__":
    flags = {a for a in sys.argv[1:] if a.startswith("--")}
    args = [int(a) for a in sys.argv[1:] if not a.startswith("--")]
    main(*(args + [100_000, 5_000, 30][len(args) :]), worker="--worker" in flags)
