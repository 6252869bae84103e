"""End-to-end throughput: N messages over 20 sandbox numbers allowed 1,000/s each, status
webhooks on; beside it, a bare aiohttp loop to the same sandbox gives the machine's ceiling.

Targets (issue #6): >= 2,000 messages/s and a ratio to the ceiling >= 0.4.
Usage: .venv/bin/python bench/throughput.py [--template] [messages] [numbers] [threads] [processes]
With --template the campaign sends an approved WhatsApp template (type: template with an image
header uploaded once per number, two body variables and a URL-button suffix per contact)."""

from __future__ import annotations

import asyncio
import json
import sys
import time

import aiohttp
from _campaign import run_campaign
from _setup import Sandbox, django_setup, emit, peak_rss_mb, webhook_receiver


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


def main(
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
    main(*(args + [50_000, 20, 8, 1][len(args) :]), template="--template" in flags)
