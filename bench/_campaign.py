"""A campaign over N sandbox numbers, drained by a thread pool like the dispatch workers."""

from __future__ import annotations

import os
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from _setup import seed_contacts, vacuum_analyze

# a dispatch task drains one number for SLICE_SECONDS (5 s) per task, as here by default
SLICE = float(os.environ.get("BENCH_SLICE_SECONDS", "5"))


def run_campaign(
    *,
    sandbox_url: str,
    numbers: int,
    rate: int,
    recipients: int,
    threads: int,
    budget_seconds: float,
    processes: int = 1,
    whatsapp_template: bool = False,
    on_start: Any = None,
) -> dict[str, Any]:
    """With `whatsapp_template`, the campaign sends an approved Meta template (image header
    uploaded once per number, two body variables and a URL button filled per contact) instead
    of free text. `on_start()` is called when seeding and fan-out are done, just before the
    draining starts (e.g. to start a CPU meter)."""
    from django.db import connection
    from django.test import override_settings

    from accounts.models import User, Workspace
    from billing import services as billing
    from messaging.campaigns import services as campaigns
    from messaging.campaigns.models import Message
    from messaging.content.models import MessageTemplate
    from messaging.engine import dispatch
    from messaging.engine.fanout import fanout_chunk
    from messaging.numbers import services as senders

    tag = uuid.uuid4().hex[:8]
    owner = User.objects.create_user(email=f"bench-{tag}@example.com", password=None)
    workspace = Workspace.objects.create(name=f"Bench {tag}", slug=f"bench-{tag}")
    seed_contacts(workspace.pk, recipients)
    template = MessageTemplate.objects.create(
        workspace=workspace, name="B", variants=["Hi {{first_name}}"]
    )
    billing.credits_adjust(workspace=workspace, amount=recipients, reason="bench", actor=owner)
    with override_settings(SANDBOX_GATEWAY_URL=sandbox_url):
        numbers_list = []
        for _ in range(numbers):
            sender = senders.sender_connect_sandbox(workspace=workspace, actor=owner)
            sender.throughput_per_second = rate
            sender.daily_cap = 10_000_000
            sender.save(update_fields=["throughput_per_second", "daily_cap"])
            senders._sandbox_register(sender)
            dispatch.limiter().reset(f"sender:{sender.pk}")
            numbers_list.append(sender)
        if whatsapp_template:
            campaign = campaigns.campaign_create(
                workspace=workspace,
                actor=owner,
                name="Bench",
                whatsapp_template=_bench_whatsapp_template(workspace, numbers_list, sandbox_url),
                template_variables={
                    "1": {"field": "first_name", "fallback": "friend"},
                    "2": {"field": "attributes.city", "fallback": "Baku"},
                    "button.0": {"field": "phone", "fallback": "x"},
                },
                header_media_file=_bench_image(),
                senders=numbers_list,
                audience={},
            )
        else:
            campaign = campaigns.campaign_create(
                workspace=workspace,
                actor=owner,
                name="Bench",
                template=template,
                senders=numbers_list,
                audience={},
            )
        campaigns.campaign_launch(workspace=workspace, campaign=campaign, actor=owner)
        while fanout_chunk(campaign_id=campaign.pk):
            pass
        vacuum_analyze()
        if on_start is not None:
            on_start()

        if processes > 1:
            return _run_in_processes(
                campaign=campaign,
                numbers_list=numbers_list,
                processes=processes,
                threads=threads,
                budget_seconds=budget_seconds,
                sandbox_url=sandbox_url,
            )
        stop = threading.Event()
        pending = {s.pk for s in numbers_list}
        lock = threading.Lock()

        def worker() -> None:
            try:
                while not stop.is_set():
                    with lock:
                        if not pending:
                            return
                        sender_id = pending.pop()
                    # As a dispatch worker thread does: its connection is kept from one slice to
                    # the next, and the check is made outside the lock (the other threads keep
                    # sending meanwhile).
                    result = dispatch.drain(sender_id=sender_id, slice_seconds=SLICE)
                    still_open = (
                        result.more
                        or Message.objects.filter(
                            sender_id=sender_id, status__in=["queued", "sending"]
                        ).exists()
                    )
                    with lock:
                        if still_open:
                            pending.add(sender_id)
            finally:
                connection.close()

        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=threads) as pool:
            futures = [pool.submit(worker) for _ in range(threads)]
            deadline = start + budget_seconds
            while time.perf_counter() < deadline and any(not f.done() for f in futures):
                time.sleep(0.2)
            stop.set()
        elapsed = time.perf_counter() - start
    campaign.refresh_from_db()
    return {"campaign": campaign, "elapsed": elapsed, "numbers": numbers_list}


def _run_in_processes(
    *,
    campaign: Any,
    numbers_list: list[Any],
    processes: int,
    threads: int,
    budget_seconds: float,
    sandbox_url: str,
) -> dict[str, Any]:
    """Several dispatch worker processes, each draining its share of the numbers with
    threads // processes threads (horizontal scaling, as production runs it)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from django.db import connection

    here = Path(__file__).resolve().parent
    shares = [numbers_list[i::processes] for i in range(processes)]
    connection.close()
    env = {**os.environ, "SANDBOX_GATEWAY_URL": sandbox_url}
    start = time.perf_counter()
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                str(here / "_drainer.py"),
                ",".join(str(s.pk) for s in share),
                str(max(1, threads // processes)),
                str(budget_seconds),
            ],
            cwd=here.parent,
            env=env,
        )
        for share in shares
        if share
    ]
    for worker in workers:
        worker.wait(timeout=budget_seconds + 60)
    elapsed = time.perf_counter() - start
    campaign.refresh_from_db()
    return {"campaign": campaign, "elapsed": elapsed, "numbers": numbers_list}


BENCH_COMPONENTS = [
    {"type": "HEADER", "format": "IMAGE", "example": {"header_handle": ["4::aW1n"]}},
    {
        "type": "BODY",
        "text": "Hello {{1}}! Our {{2}} store has 20% off this week.",
        "example": {"body_text": [["Aysel", "Baku"]]},
    },
    {"type": "FOOTER", "text": "STOP"},
    {
        "type": "BUTTONS",
        "buttons": [
            {
                "type": "URL",
                "text": "Shop",
                "url": "https://shop.example.az/s/{{1}}",
                "example": ["https://shop.example.az/s/aysel"],
            }
        ],
    },
]


def _bench_whatsapp_template(workspace: Any, numbers_list: list[Any], sandbox_url: str) -> Any:
    """The approved template in the product and in each number's WABA at the sandbox."""
    import json
    import urllib.request

    from messaging.content.models import WhatsAppTemplate

    for number in numbers_list:
        request = urllib.request.Request(  # noqa: S310 - the local sandbox
            sandbox_url + "/_sandbox/templates",
            method="POST",
            data=json.dumps(
                {
                    "waba_id": number.waba_id,
                    "name": "bench_sale",
                    "language": "en_US",
                    "category": "MARKETING",
                    "components": BENCH_COMPONENTS,
                }
            ).encode(),
            headers={"Content-Type": "application/json"},
        )
        urllib.request.urlopen(request).read()  # noqa: S310 - the local sandbox
    return WhatsAppTemplate.objects.create(
        workspace=workspace,
        waba_id=numbers_list[0].waba_id,
        name="bench_sale",
        language="en_US",
        status=WhatsAppTemplate.Status.APPROVED,
        components=BENCH_COMPONENTS,
    )


def _bench_image() -> Any:
    import base64

    from django.core.files.uploadedfile import SimpleUploadedFile

    png = base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
    )
    return SimpleUploadedFile("bench.png", png, content_type="image/png")
