"""A dispatch worker process for benchmarks: drains the given numbers with a thread pool until
none of them has open messages (what `celery worker -Q dispatch --pool threads` does)."""

from __future__ import annotations

import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from _campaign import SLICE
from _setup import django_setup


def main(sender_ids: list[int], threads: int, budget_seconds: float) -> None:
    django_setup(migrate=False)
    from django.db import connection

    from messaging.campaigns.models import Message
    from messaging.engine import dispatch

    pending = set(sender_ids)
    lock = threading.Lock()
    deadline = time.monotonic() + budget_seconds

    def worker() -> None:
        while time.monotonic() < deadline:
            with lock:
                if not pending:
                    return
                sender_id = pending.pop()
            result = dispatch.drain(sender_id=sender_id, slice_seconds=SLICE)
            still_open = (
                result.more
                or Message.objects.filter(
                    sender_id=sender_id, indexed_status__in=["queued", "sending"]
                ).exists()
            )
            with lock:
                if still_open:
                    pending.add(sender_id)
        connection.close()

    with ThreadPoolExecutor(max_workers=threads) as pool:
        for future in [pool.submit(worker) for _ in range(threads)]:
            future.result()


if __name__ == "__main__":
    ids = [int(x) for x in sys.argv[1].split(",")]
    main(ids, int(sys.argv[2]), float(sys.argv[3]))
