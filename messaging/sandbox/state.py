"""In-memory state of the sandbox: registered numbers, WAHA sessions, limiters and statistics.

Everything is O(1) per request (amortised): a deque of accept times per number serves both the
throughput limit and the "most accepts in any one-second window" figure, because the window
ending at each accept is exactly the deque after pruning. No disk IO, no locks (one event loop).
"""

from __future__ import annotations

import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from messaging.sandbox.templates import Template

if TYPE_CHECKING:
    from messaging.sandbox.uploads import UploadSession

WINDOW_SECONDS = 1.0
#: The most accepted requests kept per number/session for ``GET /_sandbox/numbers/{id}/messages``.
MESSAGE_LOG_SIZE = 200_000
#: Registration option ``rules``: "simple" (the default, what the built-in demo numbers use) or
#: "meta" (also enforce the 24-hour customer-service window, research §1.5).
RULES = ("simple", "meta")
#: Phone number quality ratings (research §1.5 "Quality").
QUALITY_RATINGS = ("GREEN", "YELLOW", "RED")
#: Messaging-limit tiers, lowest first (Meta ``phone_number_quality_update`` reference).
TIERS = ("TIER_50", "TIER_250", "TIER_2K", "TIER_10K", "TIER_100K", "TIER_UNLIMITED")
#: ``business_capability_update.max_daily_conversation_per_phone`` per tier (-1: unlimited).
TIER_LIMITS = {
    "TIER_50": 50,
    "TIER_250": 250,
    "TIER_2K": 2000,
    "TIER_10K": 10000,
    "TIER_100K": 100000,
    "TIER_UNLIMITED": -1,
}
#: Throughput levels of the phone number node: 80 mps by default, 1,000 after the automatic
#: upgrade (research §1.5 "Throughput").
THROUGHPUT_LEVELS = {"STANDARD": 80, "HIGH": 1000}


class SendStats:
    """Exact send figures for one number or session (tests and benchmarks read them)."""

    __slots__ = (
        "accepted",
        "callback_data_seen",
        "duplicates",
        "first_accept_at",
        "last_accept_at",
        "max_per_second",
        "media_uploads",
        "rejected",
        "window_failures",
        "webhook_posts_failed",
        "webhook_posts_gave_up",
        "webhook_posts_ok",
        "webhook_statuses",
        "window",
        "without_callback_data",
    )

    def __init__(self) -> None:
        self.accepted = 0
        self.callback_data_seen: set[str] = set()
        self.duplicates = 0
        self.without_callback_data = 0
        self.window: deque[float] = deque()
        self.max_per_second = 0
        self.first_accept_at: float | None = None
        self.last_accept_at: float | None = None
        self.rejected: Counter[str] = Counter()
        self.media_uploads = 0
        self.window_failures = 0
        self.webhook_posts_ok = 0
        self.webhook_posts_failed = 0
        self.webhook_posts_gave_up = 0
        self.webhook_statuses: Counter[str] = Counter()

    def in_window(self, now: float) -> int:
        """Accepts in the sliding window ``(now - 1 s, now]``."""
        window = self.window
        horizon = now - WINDOW_SECONDS
        while window and window[0] <= horizon:
            window.popleft()
        return len(window)

    def record_accept(self, now: float, callback_data: str | None) -> None:
        self.in_window(now)
        self.window.append(now)
        if len(self.window) > self.max_per_second:
            self.max_per_second = len(self.window)
        self.accepted += 1
        wall = time.time()
        if self.first_accept_at is None:
            self.first_accept_at = wall
        self.last_accept_at = wall
        if callback_data is None:
            self.without_callback_data += 1
        elif callback_data in self.callback_data_seen:
            self.duplicates += 1
        else:
            self.callback_data_seen.add(callback_data)

    def as_dict(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "distinct": len(self.callback_data_seen),
            "duplicates": self.duplicates,
            "without_callback_data": self.without_callback_data,
            "max_per_second": self.max_per_second,
            "first_accept_at": self.first_accept_at,
            "last_accept_at": self.last_accept_at,
            "rejected": dict(self.rejected),
            "media_uploads": self.media_uploads,
            "window_failures": self.window_failures,
            "webhooks": {
                "posts_ok": self.webhook_posts_ok,
                "posts_failed": self.webhook_posts_failed,
                "gave_up": self.webhook_posts_gave_up,
                "statuses": dict(self.webhook_statuses),
            },
        }


@dataclass(slots=True)
class Number:
    """A simulated Cloud API phone number, registered by the product through the control API."""

    phone_number_id: str
    display_phone_number: str
    access_token: str
    app_secret: str
    callback_url: str | None
    throughput_per_second: int
    waba_id: str
    banned: bool = False
    rules: str = "simple"
    quality_rating: str = "GREEN"
    messaging_limit_tier: str = "TIER_UNLIMITED"
    throughput_level: str = "STANDARD"
    verified_name: str = "iSend Sandbox"
    stats: SendStats = field(default_factory=SendStats)
    log: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=MESSAGE_LOG_SIZE))

    def public(self) -> dict[str, Any]:
        """What the control API shows (never the token or the secret)."""
        return {
            "phone_number_id": self.phone_number_id,
            "display_phone_number": self.display_phone_number,
            "callback_url": self.callback_url,
            "throughput_per_second": self.throughput_per_second,
            "waba_id": self.waba_id,
            "banned": self.banned,
            "rules": self.rules,
            "quality_rating": self.quality_rating,
            "messaging_limit_tier": self.messaging_limit_tier,
            "throughput_level": self.throughput_level,
            "verified_name": self.verified_name,
        }


@dataclass(slots=True)
class WebSession:
    """A simulated WAHA session (a WhatsApp-Web number paired by QR code)."""

    name: str
    status: str
    webhook_url: str | None
    webhook_events: tuple[str, ...]
    hmac_key: str | None
    metadata: dict[str, Any]
    qr_value: str
    me_id: str | None = None
    stats: SendStats = field(default_factory=SendStats)
    log: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=MESSAGE_LOG_SIZE))

    def dto(self) -> dict[str, Any]:
        """WAHA's SessionDTO ``{name, status, config}`` plus ``me`` once paired."""
        webhooks = []
        if self.webhook_url:
            webhooks.append({"url": self.webhook_url, "events": list(self.webhook_events)})
        return {
            "name": self.name,
            "status": self.status,
            "config": {"webhooks": webhooks, "metadata": self.metadata},
            "me": {"id": self.me_id, "pushName": "iSend Sandbox"} if self.me_id else None,
        }

    def wants(self, event: str) -> bool:
        return bool(self.webhook_url) and (
            "*" in self.webhook_events or event in self.webhook_events
        )


class PairLimiter:
    """Meta's pair rate limit: per (number, recipient) token bucket, ``burst`` deep."""

    __slots__ = ("_buckets",)

    def __init__(self) -> None:
        self._buckets: dict[tuple[str, str], list[float]] = {}

    def allow(self, key: tuple[str, str], now: float, *, burst: int, interval: float) -> bool:
        bucket = self._buckets.get(key)
        if bucket is None:
            self._buckets[key] = [burst - 1.0, now]
            return True
        tokens = min(float(burst), bucket[0] + (now - bucket[1]) / interval)
        bucket[1] = now
        if tokens < 1.0:
            bucket[0] = tokens
            return False
        bucket[0] = tokens - 1.0
        return True

    def clear(self) -> None:
        self._buckets.clear()


@dataclass(slots=True)
class Media:
    """An uploaded media file (Meta ``POST /{phone_number_id}/media``; ids expire in 30 days)."""

    id: str
    phone_number_id: str
    mime_type: str
    sha256: str
    data: bytes
    filename: str
    uploaded_at: float

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "phone_number_id": self.phone_number_id,
            "mime_type": self.mime_type,
            "sha256": self.sha256,
            "file_size": len(self.data),
            "filename": self.filename,
            "uploaded_at": self.uploaded_at,
        }


@dataclass(slots=True)
class SandboxState:
    """All mutable state; :meth:`reset` returns it to empty (optionally keeping numbers).

    Templates and media belong to the numbers' business accounts, so they are kept or dropped
    with the numbers; the 24-hour windows and the message logs go with every reset.
    """

    numbers: dict[str, Number] = field(default_factory=dict)
    sessions: dict[str, WebSession] = field(default_factory=dict)
    pair_limiter: PairLimiter = field(default_factory=PairLimiter)
    message_counter: int = 0
    templates: dict[str, Template] = field(default_factory=dict)
    media: dict[str, Media] = field(default_factory=dict)
    #: (phone_number_id, customer wa_id) -> wall time of the customer's last message.
    last_inbound: dict[tuple[str, str], float] = field(default_factory=dict)
    #: (waba_id, name, language) of deleted approved templates -> wall time of the deletion.
    deleted_templates: dict[tuple[str, str, str], float] = field(default_factory=dict)
    #: Resumable Upload API sessions by "upload:<id>", and the handles they issued -> session id.
    uploads: dict[str, UploadSession] = field(default_factory=dict)
    upload_handles: dict[str, str] = field(default_factory=dict)
    id_counter: int = 0

    def new_graph_id(self) -> str:
        """A numeric Graph object id (templates, media), unique for this server's life."""
        self.id_counter += 1
        return str(1_090_000_000_000_000 + self.id_counter)

    def waba_numbers(self, waba_id: str) -> list[Number]:
        return [n for n in self.numbers.values() if n.waba_id == waba_id]

    def reset(self, *, keep_numbers: bool) -> None:
        self.pair_limiter.clear()
        self.message_counter = 0
        self.last_inbound.clear()
        if keep_numbers:
            for number in self.numbers.values():
                number.stats = SendStats()
                number.log.clear()
            for session in self.sessions.values():
                session.stats = SendStats()
                session.log.clear()
        else:
            self.numbers.clear()
            self.sessions.clear()
            self.templates.clear()
            self.deleted_templates.clear()
            self.media.clear()
            self.uploads.clear()
            self.upload_handles.clear()
