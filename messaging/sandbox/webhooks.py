"""Outgoing webhooks of the sandbox: delayed, batched, signed like Meta, retried, faulty on request.

Statuses are queued on one heap by due time; a flusher wakes every ``webhook_batch_interval``,
takes what is due and POSTs it grouped per number (up to ``webhook_batch_size`` statuses per
POST, as ``entry[].changes[].value.statuses[]``). WAHA sessions get one event per POST, as WAHA
does. Failed POSTs (non-2xx or network error) are retried a bounded number of times.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import json
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from messaging.sandbox.config import SandboxConfig
from messaging.sandbox.meta import (
    META_SIGNATURE_HEADER,
    WAHA_HMAC_ALGORITHM_HEADER,
    WAHA_HMAC_HEADER,
    meta_signature,
    waha_hmac,
)
from messaging.sandbox.state import SandboxState, SendStats

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class _Due:
    """A queued webhook item: a Meta status for a number, or a WAHA event for a session."""

    target: str  # phone_number_id or session name
    is_session: bool
    item: dict[str, Any]
    generation: int
    label: str  # the status name counted in the stats


def meta_envelope(waba_id: str, field: str, value: dict[str, Any]) -> dict[str, Any]:
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {"id": waba_id, "time": int(time.time()), "changes": [{"field": field, "value": value}]}
        ],
    }


def encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


class WebhookDispatcher:
    """Queues, batches, signs and delivers webhooks; counts every delivery in the stats."""

    def __init__(
        self,
        state: SandboxState,
        config: Callable[[], SandboxConfig],
        rng: Callable[[], random.Random],
    ) -> None:
        self._state = state
        self._config = config
        self._rng = rng
        self._heap: list[tuple[float, int, _Due]] = []
        self._sequence = itertools.count()
        self._generation = 0
        self._inflight: set[asyncio.Task[None]] = set()
        self._session: aiohttp.ClientSession | None = None
        self._flusher: asyncio.Task[None] | None = None
        self.totals: dict[str, int] = {"posts_ok": 0, "posts_failed": 0, "gave_up": 0}
        self.duplicate_posts = 0
        #: ``wamid:status`` -> when its webhook was first posted (``record_webhook_times``)
        self.posted_at: dict[str, float] = {}

    # Lifecycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self._config().webhook_timeout_seconds),
            connector=aiohttp.TCPConnector(limit=64),
        )
        self._flusher = asyncio.create_task(self._flush_forever(), name="sandbox-webhook-flusher")

    async def stop(self) -> None:
        if self._flusher is not None:
            self._flusher.cancel()
        self.clear()
        if self._session is not None:
            await self._session.close()

    def clear(self) -> None:
        """Drop everything queued or in flight (used by ``/_sandbox/reset``)."""
        self._generation += 1
        self._heap.clear()
        for task in list(self._inflight):
            task.cancel()
        self._inflight.clear()
        self.totals = {"posts_ok": 0, "posts_failed": 0, "gave_up": 0}
        self.duplicate_posts = 0
        self.posted_at = {}

    @property
    def pending(self) -> int:
        """Webhook items queued plus POSTs in flight (0 means everything has been delivered)."""
        return len(self._heap) + len(self._inflight)

    # Scheduling ------------------------------------------------------------------------------

    def schedule(
        self, target: str, item: dict[str, Any], delay: float, *, session: bool, label: str
    ) -> None:
        due = time.monotonic() + delay
        entry = _Due(target, session, item, self._generation, label)
        heapq.heappush(self._heap, (due, next(self._sequence), entry))

    def post_meta_now(
        self, phone_number_id: str, field: str, value: dict[str, Any], *, label: str
    ) -> None:
        """Send one Meta webhook (inbound message, account update) at once, unbatched."""
        number = self._state.numbers.get(phone_number_id)
        if number is None or not number.callback_url:
            return
        body = encode(meta_envelope(number.waba_id, field, value))
        self._deliver_soon(
            number.callback_url,
            body,
            {META_SIGNATURE_HEADER: meta_signature(body, number.app_secret)},
            number.stats,
            statuses=[label],
        )

    def post_waba_now(self, waba_id: str, field: str, value: dict[str, Any], *, label: str) -> None:
        """Send one WABA-level webhook (templates, quality, tiers) at once.

        Meta posts account-level fields to the apps subscribed to the WABA (research §1.6); in
        the sandbox each distinct callback (URL and app secret) of the WABA's numbers gets it
        once.
        """
        body = encode(meta_envelope(waba_id, field, value))
        seen: set[tuple[str, str]] = set()
        for number in self._state.numbers.values():
            if number.waba_id != waba_id or not number.callback_url:
                continue
            key = (number.callback_url, number.app_secret)
            if key in seen:
                continue
            seen.add(key)
            self._deliver_soon(
                number.callback_url,
                body,
                {META_SIGNATURE_HEADER: meta_signature(body, number.app_secret)},
                number.stats,
                statuses=[label],
            )

    def post_waha_now(
        self, session_name: str, event: str, payload: dict[str, Any], *, status: str | None = None
    ) -> None:
        """Send one WAHA event to the session's webhook, if it subscribed to it."""
        session = self._state.sessions.get(session_name)
        if session is None or not session.wants(event):
            return
        envelope = {
            "id": f"evt_{next(self._sequence)}",
            "timestamp": int(time.time() * 1000),
            "event": event,
            "session": session.name,
            "engine": "SANDBOX",
            "me": {"id": session.me_id, "pushName": "iSend Sandbox"} if session.me_id else None,
            "metadata": session.metadata,
            "payload": payload,
        }
        body = encode(envelope)
        headers = {"X-Webhook-Request-Id": str(envelope["id"])}
        if session.hmac_key:
            headers[WAHA_HMAC_HEADER] = waha_hmac(body, session.hmac_key)
            headers[WAHA_HMAC_ALGORITHM_HEADER] = "sha512"
        assert session.webhook_url is not None  # guaranteed by wants()
        statuses = [status] if status else []
        self._deliver_soon(session.webhook_url, body, headers, session.stats, statuses=statuses)

    # Flushing --------------------------------------------------------------------------------

    async def _flush_forever(self) -> None:
        while True:
            try:
                self.flush_due()
            except Exception:  # a bug here must not silence every later webhook
                logger.exception("webhook flush failed")
            await asyncio.sleep(self._config().webhook_batch_interval)

    def flush_due(self) -> None:
        now = time.monotonic()
        config = self._config()
        per_number: dict[str, list[dict[str, Any]]] = {}
        while self._heap and self._heap[0][0] <= now:
            _, _, due = heapq.heappop(self._heap)
            if due.generation != self._generation:
                continue
            if due.is_session:
                self.post_waha_now(due.target, "message.ack", due.item, status=due.label)
            else:
                per_number.setdefault(due.target, []).append(due.item)
        rng = self._rng()
        for phone_number_id, statuses in per_number.items():
            if config.out_of_order_ratio and rng.random() < config.out_of_order_ratio:
                rng.shuffle(statuses)
            for start in range(0, len(statuses), config.webhook_batch_size):
                self._post_statuses(
                    phone_number_id, statuses[start : start + config.webhook_batch_size]
                )

    def _post_statuses(self, phone_number_id: str, statuses: list[dict[str, Any]]) -> None:
        number = self._state.numbers.get(phone_number_id)
        if number is None or not number.callback_url:
            return
        value = {
            "messaging_product": "whatsapp",
            "metadata": {
                "display_phone_number": number.display_phone_number,
                "phone_number_id": number.phone_number_id,
            },
            "statuses": statuses,
        }
        body = encode(meta_envelope(number.waba_id, "messages", value))
        headers = {META_SIGNATURE_HEADER: meta_signature(body, number.app_secret)}
        names = [str(status["status"]) for status in statuses]
        keep = self._config().record_webhook_times
        if keep and len(self.posted_at) < keep:
            now = time.time()
            for status in statuses:
                self.posted_at.setdefault(f"{status['id']}:{status['status']}", now)
        self._deliver_soon(number.callback_url, body, headers, number.stats, statuses=names)

    # Delivery --------------------------------------------------------------------------------

    def _deliver_soon(
        self,
        url: str,
        body: bytes,
        headers: dict[str, str],
        stats: SendStats,
        *,
        statuses: list[str],
    ) -> None:
        copies = 1
        config = self._config()
        if config.duplicate_webhook_ratio and self._rng().random() < config.duplicate_webhook_ratio:
            copies = 2
            self.duplicate_posts += 1
        for _ in range(copies):
            task = asyncio.create_task(self._deliver(url, body, headers, stats, statuses))
            self._inflight.add(task)
            task.add_done_callback(self._inflight.discard)

    async def _deliver(
        self,
        url: str,
        body: bytes,
        headers: dict[str, str],
        stats: SendStats,
        statuses: list[str],
    ) -> None:
        config = self._config()
        assert self._session is not None, "dispatcher not started"
        all_headers = {"Content-Type": "application/json", **headers}
        timeout = aiohttp.ClientTimeout(total=config.webhook_timeout_seconds)
        for attempt in range(config.webhook_max_attempts):
            if attempt > 1:  # Meta: retried at once, then with decreasing frequency
                await asyncio.sleep(config.webhook_retry_base_seconds * 2 ** (attempt - 2))
            try:
                async with self._session.post(
                    url, data=body, headers=all_headers, timeout=timeout
                ) as response:
                    await response.read()
                    ok = 200 <= response.status < 300
            except (TimeoutError, aiohttp.ClientError, OSError):
                ok = False
            if ok:
                stats.webhook_posts_ok += 1
                self.totals["posts_ok"] += 1
                stats.webhook_statuses.update(statuses)
                return
            stats.webhook_posts_failed += 1
            self.totals["posts_failed"] += 1
        stats.webhook_posts_gave_up += 1
        self.totals["gave_up"] += 1
        logger.warning("webhook to %s dropped after %d attempts", url, config.webhook_max_attempts)
