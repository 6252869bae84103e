"""End-to-end throughput: N messages over 20 sandbox numbers allowed 1,000/s each, status
webhooks on; beside it, a bare aiohttp loop to the same sandbox gives the machine's ceiling.

Targets (issue #6): >= 2,000 messages/s and a ratio to the ceiling >= 0.4.
By default the whole loop runs: the sandbox's status webhooks go to the product's own receiver
(gunicorn, production settings) and a real Celery worker ingests them; the run ends when every
message is delivered or read in the product, and it prints statuses applied/s, the lag from the
sandbox posting a status to the product applying it, and CPU seconds per 1,000 messages for each
process kind (web, worker, dispatch, postgres, sandbox). `--counting-receiver` is the old mode
(statuses to the bench's counting receiver).
Usage: .venv/bin/python bench/throughput.py [--template] [--counting-receiver]
       [messages] [numbers] [threads] [processes]
With --template the campaign sends an approved WhatsApp template (type: template with an image
header uploaded once per number, two body variables and a URL-button suffix per contact)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from typing import Any

import aiohttp
from _campaign import run_campaign
from _procs import CpuMeter, cpu_seconds, start_web, start_worker
from _setup import Sandbox, django_setup, emit, free_port, peak_rss_mb, webhook_receiver


async def bare_ceiling(
    url: str, phone_number_id: str, token: str, n: int, concurrency: int = 64
) -> float:
    """The same requests with nothing else around them: what this machine can do at best."""
    payload = {
        "messaging_product": "whatsapp",
        "to": "994500000001",
        "type": "text",
        "text": {"body": "hi"},
    }
    sem = asyncio.Semaphore(concurrency)
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as session:

        async def one(i: int) -> None:
            async with sem:
                body = {**payload, "biz_opaque_callback_data": f"bare-{i}"}
                async with session.post(f"{url}/v23.0/{phone_number_id}/messages", json=body) as r:
                    await r.read()

        start = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(n)))
        return n / (time.perf_counter() - start)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _register_bare_number(url: str) -> None:
    """A fresh number for the ceiling so its limit and stats are separate."""
    import urllib.request

    request = urllib.request.Request(  # noqa: S310 - the local sandbox
        url + "/_sandbox/numbers",
        method="POST",
        data=json.dumps(
            {
                "phone_number_id": "999000111",
                "access_token": "bare",
                "throughput_per_second": 1_000_000,
            }
        ).encode(),
        headers={"Content-Type": "application/json"},
    )
    urllib.request.urlopen(request).read()  # noqa: S310 - the local sandbox


def _sandbox_get(url: str) -> Any:
    import urllib.request

    with urllib.request.urlopen(url, timeout=60) as reply:  # noqa: S310 - the local sandbox
        return json.loads(reply.read())


def main(
    messages: int,
    numbers: int,
    threads: int,
    processes: int = 1,
    *,
    template: bool = False,
    whole_loop: bool = True,
) -> None:
    """`whole_loop`: the sandbox's status webhooks go to the product's real receiver (gunicorn,
    production settings) and are ingested by a real Celery worker; the run ends when every
    message is delivered or read in the product. Otherwise (the old mode) they go to the
    bench's counting receiver and the run ends when every message was accepted."""
    if not whole_loop:
        main_counting(messages, numbers, threads, processes, template=template)
        return
    port = free_port()
    os.environ["BENCH_WEBHOOK_RECEIVER"] = f"http://127.0.0.1:{port}"
    django_setup()
    import redis
    from django.conf import settings

    from messaging.campaigns.models import Message

    redis.Redis.from_url(settings.REDIS_URL).flushdb()  # the bench's own Redis database
    load_before = os.getloadavg()
    env = {**os.environ, "PYTHONPATH": str(os.getcwd())}
    sandbox = Sandbox(
        "--read-ratio",
        "0.5",
        "--sent-delay",
        "0.2",
        "--delivered-delay",
        "0.5",
        "--read-delay",
        "1",
        "--webhook-batch-size",
        "500",
        "--record-webhook-times",
        str(4 * messages),
    )
    web = start_web(port, env)
    worker = start_worker(env, "default,webhooks", 2, "worker")
    time.sleep(3)  # the worker connects to the broker
    meter = CpuMeter({"web": web.pid, "worker": worker.pid, "sandbox": sandbox.process.pid})
    me = os.getpid()
    marks: dict[str, float] = {}

    def on_start() -> None:
        meter.start()
        marks["dispatch_cpu"] = cpu_seconds([me])
        marks["wall"] = time.time()

    try:
        run = run_campaign(
            sandbox_url=sandbox.url,
            numbers=numbers,
            rate=1000,
            recipients=messages,
            threads=threads,
            budget_seconds=600,
            processes=processes,
            whatsapp_template=template,
            on_start=on_start,
        )
        dispatch_cpu = cpu_seconds([me]) - marks["dispatch_cpu"]
        sent_done = time.time()
        campaign = run["campaign"]
        open_statuses = [
            Message.Status.QUEUED,
            Message.Status.SENDING,
            Message.Status.ACCEPTED,
            Message.Status.SENT,
            Message.Status.AMBIGUOUS,
        ]
        deadline = time.time() + max(120, messages / 100)
        while time.time() < deadline:
            if not Message.objects.filter(campaign=campaign, status__in=open_statuses).exists():
                break
            time.sleep(0.2)
        all_applied = time.time()
        cpu = meter.stop()
        cpu["dispatch"] = round(dispatch_cpu, 2)
        load_after = os.getloadavg()
        stats = sandbox.stats()
        posted = _sandbox_get(sandbox.url + "/_sandbox/webhook-times")
        _register_bare_number(sandbox.url)
        ceiling = asyncio.run(bare_ceiling(sandbox.url, "999000111", "bare", min(messages, 20_000)))
    finally:
        worker.stop()
        web.stop()
        sandbox.stop()
    final = list(
        Message.objects.filter(campaign=campaign).values_list(
            "provider_message_id", "status", "status_changed_at"
        )
    )
    lags = [
        changed.timestamp() - posted[f"{wamid}:{status}"]
        for wamid, status, changed in final
        if changed and f"{wamid}:{status}" in posted
    ]
    by_status: dict[str, int] = {}
    for _, status, _ in final:
        by_status[status] = by_status.get(status, 0) + 1
    accepted = sum(stats["numbers"][n.phone_number_id]["accepted"] for n in run["numbers"])
    statuses_posted = sum(
        sum(stats["numbers"][n.phone_number_id]["webhooks"]["statuses"].values())
        for n in run["numbers"]
    )
    rate = accepted / run["elapsed"]
    loop_seconds = all_applied - marks["wall"]
    emit(
        {
            "benchmark": "throughput",
            "mode": "whole loop: real receiver (gunicorn) and ingesting worker (celery)",
            "payload": "template" if template else "text",
            "messages": messages,
            "numbers": numbers,
            "drainer_threads": threads,
            "drainer_processes": processes,
            "accepted": accepted,
            "elapsed_sending_seconds": round(run["elapsed"], 1),
            "accepted_per_second": round(rate),
            "bare_aiohttp_ceiling_per_second": round(ceiling),
            "ratio_to_ceiling": round(rate / ceiling, 2),
            "statuses_posted_by_sandbox": statuses_posted,
            "all_applied_after_seconds": round(loop_seconds, 1),
            "applied_after_last_accept_seconds": round(all_applied - sent_done, 1),
            "statuses_applied_per_second": round(statuses_posted / loop_seconds),
            "final_statuses": by_status,
            "lag_post_to_applied_seconds": {
                "measured": len(lags),
                "p50": round(percentile(lags, 0.5), 2),
                "p95": round(percentile(lags, 0.95), 2),
                "max": round(max(lags), 2) if lags else None,
            },
            "cpu_seconds_per_1000_messages": {
                kind: round(seconds * 1000 / max(accepted, 1), 3) for kind, seconds in cpu.items()
            },
            "duplicates": sum(
                stats["numbers"][n.phone_number_id]["duplicates"] for n in run["numbers"]
            ),
            "webhook_posts": stats.get("webhooks", {}),
            "load_average": {"before": load_before, "after": load_after},
            "targets": {"ratio": 0.4, "lag_p95_seconds": 2},
        }
    )


def main_counting(
    messages: int, numbers: int, threads: int, processes: int = 1, *, template: bool = False
) -> None:
    django_setup()
    from messaging.numbers.services import sender_credentials

    sandbox = Sandbox(
        "--read-ratio",
        "0.5",
        "--sent-delay",
        "0.2",
        "--delivered-delay",
        "0.5",
        "--read-delay",
        "1",
        "--webhook-batch-size",
        "500",
    )
    try:
        run = run_campaign(
            sandbox_url=sandbox.url,
            numbers=numbers,
            rate=1000,
            recipients=messages,
            threads=threads,
            budget_seconds=600,
            processes=processes,
            whatsapp_template=template,
        )
        stats = sandbox.stats()
        first = run["numbers"][0]
        # a fresh number for the ceiling so its limit and stats are separate
        import urllib.request

        request = urllib.request.Request(  # noqa: S310 - the local sandbox
            sandbox.url + "/_sandbox/numbers",
            method="POST",
            data=json.dumps(
                {
                    "phone_number_id": "999000111",
                    "access_token": "bare",
                    "throughput_per_second": 1_000_000,
                }
            ).encode(),
            headers={"Content-Type": "application/json"},
        )
        urllib.request.urlopen(request).read()  # noqa: S310 - the local sandbox
        ceiling = asyncio.run(bare_ceiling(sandbox.url, "999000111", "bare", min(messages, 20_000)))
        time.sleep(2)  # the last status webhooks (read after 1 s) reach the receiver
        del first, sender_credentials
    finally:
        sandbox.stop()
    campaign = run["campaign"]
    accepted = sum(stats["numbers"][n.phone_number_id]["accepted"] for n in run["numbers"])
    rate = accepted / run["elapsed"]
    emit(
        {
            "benchmark": "throughput",
            "payload": "template" if template else "text",
            "media_uploads": sum(
                stats["numbers"][n.phone_number_id].get("media_uploads", 0) for n in run["numbers"]
            ),
            "messages": messages,
            "numbers": numbers,
            "drainer_threads": threads,
            "drainer_processes": processes,
            "accepted": accepted,
            "campaign_status": campaign.status,
            "elapsed_seconds": round(run["elapsed"], 1),
            "accepted_per_second": round(rate),
            "bare_aiohttp_ceiling_per_second": round(ceiling),
            "ratio_to_ceiling": round(rate / ceiling, 2),
            "duplicates": sum(
                stats["numbers"][n.phone_number_id]["duplicates"] for n in run["numbers"]
            ),
            "peak_rss_mb": peak_rss_mb(),
            "status_webhooks_received": webhook_receiver().received(),
            "note": "the sandbox's status webhooks go to the bench's own counting receiver",
            "targets": {"accepted_per_second": 2000, "ratio": 0.4},
        }
    )


if __name__ == "__main__":
    flags = {a for a in sys.argv[1:] if a.startswith("--")}
    args = [int(a) for a in sys.argv[1:] if not a.startswith("--")]
    main(
        *(args + [50_000, 20, 8, 1][len(args) :]),
        template="--template" in flags,
        whole_loop="--counting-receiver" not in flags,
    )
