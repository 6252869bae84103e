"""The drainer: claim -> send -> record, for one number at a time (a Redis lease), in slices
of a few seconds so numbers and tenants share workers fairly.

Claims use SELECT ... FOR UPDATE SKIP LOCKED with a lease deadline; no transaction is open
across the network call; outcomes are written back in bulk; credits are consumed for accepted
messages and released for failed and skipped ones, per batch, idempotently."""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import json
import logging
import math
import threading
import time
import uuid
from collections import Counter, defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import redis
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from core.events import events_publish, message_status_event
from core.queries import binary_array_cursor
from messaging.campaigns.models import Campaign, Message
from messaging.engine import caps, charges, heartbeat, kick, reactions
from messaging.engine.adapters import outgoing_policy, send_timeouts, sender_adapter
from messaging.engine.content import (
    TEMPLATE_PAUSE_CODES,
    Claim,
    Prepared,
    media_forget,
    media_id_refused,
    prepare,
)
from messaging.engine.due import due_walks_sql
from messaging.engine.limiter import Pace, SendLimiter
from messaging.engine.runtime import (
    campaign_credit_reference,
    message_credit_reference,
    redis_client,
)
from messaging.gateways.base import (
    RETRY_LATER_MAX_ATTEMPTS,
    HttpTransport,
    OutboundMessage,
    Outcome,
    OutcomeKind,
    retry_later_backoff,
)
from messaging.numbers.models import Sender

log = logging.getLogger(__name__)

SLICE_SECONDS = 5.0
MAX_BATCH = 500
BATCH_SECONDS = 2.0


def limiter() -> SendLimiter:
    return SendLimiter(redis_client())


Claimed = Claim  # a claimed message (id, public id, phone, campaign, contact, attempts, body)


@dataclass
class DrainResult:
    claimed: int = 0
    accepted: int = 0
    failed: int = 0
    retried: int = 0
    skipped: int = 0
    more: bool = False
    capped: bool = False  # the number's daily cap is used up
    workspace_numbers: int = 1  # the workspace's active numbers (its share of the dispatch queue)
    #: nothing is due now, but a message falls due in this many seconds (a paced campaign's
    #: next one): the drainer is woken then, not at the next tick
    next_due_in: float | None = None


def pace_of(sender: Sender) -> Pace:
    return Pace(
        rate=float(sender.throughput_per_second),
        min_interval_ms=sender.min_interval_ms,
        jitter_ms=sender.jitter_ms,
        daily_cap=caps.effective_daily_cap(sender),  # lowered while a warm-up plan runs
    )


def claim(*, sender_id: int, limit: int) -> list[Claimed]:
    """Take up to `limit` due messages of running campaigns (or transactional ones). A message
    whose send window has closed while it waited is not taken: it goes back to wait for the
    next opening (in the recipient's time zone). Nothing of a suspended workspace is taken,
    campaign or single send: suspension stops sending at once (issue #17 F2).

    The messages are read as walks of the due index that stop after the batch (`due`): each
    priority's single sends, and each running campaign's due range, highest priority first,
    oldest due first. A paused campaign's queue is not read, and neither is what is queued for
    later (a paced campaign: 100-170 ms a claim with 100,000 queued when "due" was a filter)."""
    table = Message._meta.db_table
    walks = due_walks_sql(sender="%(sender)s", limit="%(limit)s", when="%(now)s", lock=True)
    with transaction.atomic(), connection.cursor() as cursor:
        # Walk the due ranges in index order and stop after `limit`, whatever the statistics
        # say. Before ANALYZE has seen a fresh fan-out (autovacuum's ANALYZE comes later; this
        # machine's CI Postgres runs none), the planner believed a number had a few queued
        # messages, joined all of them by hash and sorted them: every claim read the number's
        # whole queue (330 ms a claim with 100,000 queued, sorted on disk).
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute(
            f"""
            WITH due AS (
                SELECT d.id, d.opens FROM ({walks}) d
                 ORDER BY d.rank, d.next_attempt_at
                 LIMIT %(limit)s
            ),
            later AS (
                UPDATE {table} m SET next_attempt_at = due.opens
                  FROM due WHERE m.id = due.id AND due.opens > clock_timestamp()
                RETURNING m.id
            )
            UPDATE {table} m
               SET status = 'sending', attempts = m.attempts + 1,
                   lease_until = clock_timestamp() + make_interval(secs => %(lease)s),
                   status_changed_at = clock_timestamp()
              FROM due WHERE m.id = due.id
               AND (due.opens IS NULL OR due.opens <= clock_timestamp())
               AND NOT EXISTS (SELECT 1 FROM later WHERE later.id = due.id)
            RETURNING m.id, m.public_id, m.phone, m.campaign_id, m.contact_id, m.attempts, m.body,
                      m.content
            """,  # noqa: S608 - table names are our own  # nosec B608 # own table names, values are parameters
            {
                "sender": sender_id,
                "limit": limit,
                "now": timezone.now(),
                "lease": settings.ENGINE_LEASE_SECONDS,
            },
        )
        return [Claimed(*row) for row in cursor.fetchall()]


def unclaim(ids: list[int]) -> None:
    """Give claimed messages back untouched (the limiter granted fewer slots)."""
    if ids:
        Message.objects.filter(id__in=ids, status=Message.Status.SENDING).update(
            status=Message.Status.QUEUED, attempts=F("attempts") - 1, lease_until=None
        )


#: Margin added to the one-second window the releases are checked against, so that network
#: jitter between two releases one second apart never puts rate + 1 sends in the gateway's window.
WINDOW_MARGIN_SECONDS = 0.015
#: How often a large workspace's batch looks whether new work waits for a dispatch thread
#: (a batch of 500 on a saturated machine lasts seconds: checking between batches only kept
#: a small tenant's first send waiting up to a whole batch).
GIVE_WAY_CHECK_SECONDS = 0.1


async def _send_at_slots(
    adapter: Any,
    messages: list[OutboundMessage],
    slots: list[float],
    spacing: float = 0.0,
    released: deque[float] | None = None,
    give_way: Callable[[], bool] | None = None,
) -> list[Outcome]:
    """Each send leaves at its own slot (no burst at the gateway) and runs concurrently with
    the others.

    The rate is kept on the real release times: a send never leaves while the sends of the
    last second (plus a margin) already number the rate, nor sooner than half a slot after the
    previous one. A wake-up a little late (a busy CPU) therefore no longer pushes every later
    send back: each release used to wait a full slot after the previous *actual* release, so
    every late wake-up was lost for good (10 numbers at 80/s saw at most 74-79 sends in any
    second). A loop late by much still never releases a backlog at once: the one-second window
    the gateway counts never sees more than the rate (a burst there is answered 130429, and
    then the number slows down).

    `released` is the release history of the slice's earlier batches (kept by the caller): a
    batch granted while the previous one was still being recorded starts a little late and
    catches up, and the window it catches up in includes the previous batch's sends.

    `give_way` is asked every GIVE_WAY_CHECK_SECONDS: when it answers yes, no further send
    leaves and the outcomes cover only the sends that left (the caller returns the rest)."""
    tasks = []
    per_window = max(1, math.floor(1.0 / spacing + 1e-6)) if spacing > 0 else 0
    released = deque() if released is None else released
    next_check = time.monotonic() + GIVE_WAY_CHECK_SECONDS
    for message, slot in zip(messages, slots, strict=True):
        earliest = slot
        if released:
            earliest = max(earliest, released[-1] + spacing / 2)
        if per_window and len(released) >= per_window:
            earliest = max(earliest, released[-per_window] + 1.0 + WINDOW_MARGIN_SECONDS)
        delay = earliest - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        # Asked after the wait, right before the send: a paced send waits up to seconds for
        # its slot, and a pause in that time must stop it.
        if give_way is not None and time.monotonic() >= next_check:
            if give_way():
                break
            next_check = time.monotonic() + GIVE_WAY_CHECK_SECONDS
        released.append(time.time())
        if len(released) > per_window:
            released.popleft()
        tasks.append(asyncio.ensure_future(adapter.send(message)))
    return list(await asyncio.gather(*tasks))


async def _open_adapter(sender: Sender, transport: HttpTransport) -> Any:
    """Created inside the thread's loop, over the thread's connection pool."""
    return sender_adapter(sender, transport=transport)


THREAD_MAX_CONNECTIONS = 64
_thread = threading.local()
_runtimes: list[tuple[asyncio.AbstractEventLoop, HttpTransport]] = []
_runtimes_lock = threading.Lock()


@atexit.register
def _close_runtimes() -> None:
    """Close every thread's pool and loop at exit (no "unclosed session" noise)."""
    with _runtimes_lock:
        for loop, transport in _runtimes:
            if not loop.is_closed() and not loop.is_running():
                with contextlib.suppress(Exception):
                    loop.run_until_complete(transport.aclose())
                loop.close()
        _runtimes.clear()


def _thread_runtime() -> tuple[asyncio.AbstractEventLoop, HttpTransport]:
    """One event loop and one HTTP connection pool per worker thread, kept from one slice to
    the next (DESIGN: one reused session per worker). A pool per slice reconnected to the
    gateway every few seconds: profiled, ~10% of the drainer's CPU went to opening sockets.
    Rebuilt when the send timeouts or the address policy change (settings are read at call
    time). Every connection is checked against the policy (issue 17, F3)."""
    timeouts = send_timeouts()
    policy = outgoing_policy()
    runtime = getattr(_thread, "runtime", None)
    if runtime is not None and (runtime[0].is_closed() or runtime[2] != (timeouts, policy)):
        if not runtime[0].is_closed():
            runtime[0].run_until_complete(runtime[1].aclose())
            runtime[0].close()
        runtime = None
    if runtime is None:
        loop = asyncio.new_event_loop()
        transport = HttpTransport(
            timeouts=timeouts, max_connections=THREAD_MAX_CONNECTIONS, address_policy=policy
        )
        runtime = (loop, transport, (timeouts, policy))
        _thread.runtime = runtime
        with _runtimes_lock:
            _runtimes.append((loop, transport))
    return runtime[0], runtime[1]


class _SendPath:
    """The slice's way to the gateway: the thread's event loop and connection pool, and the
    number's adapter, opened at the slice's first send and closed at its end."""

    def __init__(
        self, sender: Sender, loop: asyncio.AbstractEventLoop, transport: HttpTransport
    ) -> None:
        self.sender = sender
        self.loop = loop
        self.transport = transport
        self.adapter: Any = None
        # the recent release times (this slice's, and the previous slice's last second), so a
        # batch's catch-up counts the sends before it
        self.released: deque[float] = _releases_load(sender.pk)

    def catch_up_seconds(self, pace: Pace) -> float:
        """How far back unused slots may still be granted: as far as the record of releases
        reaches, which the window check needs. None for numbers paced like a person (a minimum
        interval or jitter between sends: catching up would bunch them)."""
        if not self.released or pace.min_interval_ms or pace.jitter_ms:
            return 0.0
        return CATCH_UP_SECONDS

    def send(
        self,
        messages: list[OutboundMessage],
        slots: list[float],
        *,
        rate: float,
        give_way: Callable[[], bool] | None = None,
    ) -> list[Outcome]:
        """Send each message at its slot (nothing to send: no adapter is opened). Fewer
        outcomes than messages: `give_way` stopped the batch, the rest did not leave."""
        if not messages:
            return []
        if self.adapter is None:
            self.adapter = self.loop.run_until_complete(_open_adapter(self.sender, self.transport))
        return self.loop.run_until_complete(
            _send_at_slots(
                self.adapter,
                messages,
                slots,
                spacing=1.0 / max(rate, 1e-6),
                released=self.released,
                give_way=give_way,
            )
        )

    def upload(self, data: bytes, mime_type: str, filename: str) -> Any:
        """Upload a file to the number (`/{phone_number_id}/media`): a `MediaUpload`."""
        if self.adapter is None:
            self.adapter = self.loop.run_until_complete(_open_adapter(self.sender, self.transport))
        return self.loop.run_until_complete(
            self.adapter.upload_media(data=data, mime_type=mime_type, filename=filename)
        )

    def close(self) -> None:
        if self.adapter is not None:
            self.loop.run_until_complete(self.adapter.aclose())  # the thread's pool stays open
        _releases_store(self.sender.pk, self.released)


#: A number's next slice may use the slots its previous slice left unused in this much of the
#: past (the gap while the last batch was recorded and the next slice started): about a
#: twentieth of a five-second slice, lost at every slice before.
CATCH_UP_SECONDS = 1.0
RELEASES_TTL_MS = 1500


def _releases_key(sender_id: int) -> str:
    return f"isend:released:{sender_id}"


def _releases_load(sender_id: int) -> deque[float]:
    """The previous slice's releases of the last second (none when it ended long ago: then the
    slice starts from now, without catching up). Redis only: lost, pacing starts from now."""
    try:
        raw = redis_client().get(_releases_key(sender_id))
    except redis.RedisError:
        return deque()
    if not raw:
        return deque()
    try:
        horizon = time.time() - 1.0 - WINDOW_MARGIN_SECONDS
        return deque(t for t in json.loads(raw) if isinstance(t, int | float) and t > horizon)
    except ValueError:
        return deque()


def _releases_store(sender_id: int, released: deque[float]) -> None:
    if not released:
        return
    try:
        redis_client().set(_releases_key(sender_id), json.dumps(list(released)), px=RELEASES_TTL_MS)
    except redis.RedisError:
        log.warning("release times not kept", exc_info=True)


def drain(*, sender_id: int, slice_seconds: float = SLICE_SECONDS) -> DrainResult:
    """One slice of sending for one number. Returns what it did and whether work remains."""
    result = DrainResult()
    client = redis_client()
    lease_key, token = f"isend:drain:{sender_id}", uuid.uuid4().hex
    path: _SendPath | None = None
    if not client.set(lease_key, token, nx=True, px=heartbeat.lock_milliseconds()):
        return result  # another worker drains this number now
    # While this drainer lives, its lock and its messages' leases are renewed; if it dies,
    # both expire within seconds and another drainer takes over.
    pulse = heartbeat.Heartbeat(client=client, lock_key=lease_key, token=token).start()
    try:
        sender = Sender.objects.filter(pk=sender_id).select_related("workspace").first()
        if sender is None or sender.status != Sender.Status.ACTIVE or sender.removed_at:
            return result
        pace, gate, number_key = pace_of(sender), limiter(), f"sender:{sender_id}"
        today = caps.cap_day(sender)
        result.workspace_numbers = Sender.objects.filter(
            workspace_id=sender.workspace_id, status=Sender.Status.ACTIVE, removed_at__isnull=True
        ).count()
        deadline = time.monotonic() + slice_seconds
        path = _SendPath(sender, *_thread_runtime())
        # A large workspace's slice ends as soon as new work of others waits for a thread.
        give_way = (
            kick.work_waiting_ahead_of_large
            if result.workspace_numbers > kick.LARGE_WORKSPACE_NUMBERS
            else None
        )
        # The batch sent and not yet recorded. The next batch is claimed and granted first:
        # its slots follow straight on from this one's, and the sends that fall due while
        # this one is recorded go out at once (caught up under the one-second window). Recording
        # first left the number silent for the record, the claim and the rendering: about a
        # tenth of each two-second batch.
        unrecorded: _SentBatch | None = None
        try:
            while time.monotonic() < deadline:
                # Two seconds of slots per claim: fewer, longer batches waste less.
                want = max(
                    1, min(MAX_BATCH, int(sender.throughput_per_second * BATCH_SECONDS) or 1)
                )
                claimed = claim(sender_id=sender_id, limit=want)
                if not claimed:
                    break
                try:
                    grant = gate.acquire(
                        number_key,
                        len(claimed),
                        pace,
                        horizon_seconds=max(deadline - time.monotonic(), 0.5),
                        day=today.key,
                        # No day counter in Redis (the day's first grant, or Redis lost it): count
                        # the day's use in the database before granting anything.
                        seed=caps.cap_seed(
                            sender=sender, day=today.day, claimed=[c.id for c in claimed]
                        ),
                        catch_up_seconds=path.catch_up_seconds(pace),
                    )
                except Exception:
                    # Nothing of this claim has left: it goes back to the queue now, instead
                    # of waiting in `sending` for its lease to run out (and being counted as
                    # in flight against the daily cap meanwhile), e.g. while Redis restarts.
                    unclaim([c.id for c in claimed])
                    raise
                granted, returned = claimed[: len(grant.slots)], claimed[len(grant.slots) :]
                unclaim([c.id for c in returned])
                if grant.remaining_today == 0 and (returned or not granted):
                    caps.cap_reached(sender=sender, resumes_at=today.resumes_at)
                elif granted:
                    caps.cap_left(sender=sender)
                if not granted:
                    # Daily cap reached: stop until the tick looks again (no busy re-queue).
                    result.more = grant.remaining_today > 0
                    result.capped = grant.remaining_today == 0
                    break
                pulse.hold(c.id for c in granted)
                if unrecorded is not None:
                    previous, unrecorded = unrecorded, None  # recorded once, even if it raises
                    granted_ids = [c.id for c in granted]
                    try:
                        stop = _record_sent(
                            previous, pulse=pulse, result=result, not_sent=granted_ids
                        )
                    except Exception:
                        unclaim(granted_ids)  # not sent: back to the queue
                        gate.give_back(number_key, len(granted_ids), day=today.key)
                        raise
                    if stop:
                        # The number is blocked: the new batch went back to the queue and on
                        # to another number with the rest.
                        pulse.release(granted_ids)
                        gate.give_back(number_key, len(granted_ids), day=today.key)
                        break
                unrecorded = _send(
                    sender=sender,
                    path=path,
                    granted=granted,
                    slots=grant.slots,
                    pace=pace,
                    give_way=_stop_or_give_way(granted, give_way),
                )
                result.claimed += len(unrecorded.granted)
                if unrecorded.held_back:
                    # New work waits for a thread: what did not leave goes back to the queue
                    # (its slots no longer count today) and the slice re-queues behind it.
                    held_ids = [c.id for c in unrecorded.held_back]
                    unclaim(held_ids)
                    pulse.release(held_ids)
                    gate.give_back(
                        number_key,
                        len(held_ids),
                        day=today.key,
                        from_slot=unrecorded.held_back_from,
                    )
                    result.more = True
                    break
                if returned:
                    result.more = True
                    break
                if give_way is not None and give_way():
                    result.more = True  # give the thread way; the slice re-queues behind it
                    break
            else:
                result.more = True
        finally:
            if unrecorded is not None:
                _record_sent(unrecorded, pulse=pulse, result=result)
        if not result.more and not result.capped:
            result.more = _work_due(sender_id)
            if not result.more:
                result.next_due_in = next_due_in(sender_id)
    finally:
        pulse.stop()
        if path is not None:
            path.close()
        _lease_release(client, lease_key, token)
    return result


@dataclass
class _SentBatch:
    """A batch sent and not yet recorded: what `record` needs."""

    sender: Sender
    granted: list[Claimed]
    plan: Prepared
    sent: list[Claimed]
    outcomes: list[Outcome]
    #: granted, rendered and not sent: the batch gave its thread way (back to the queue)
    held_back: list[Claimed]
    #: the first of the held-back sends' slots
    held_back_from: float | None = None


def campaigns_stopped(campaign_ids: frozenset[int]) -> bool:
    """Whether one of these campaigns was paused since its messages were claimed: the pause's
    Redis signal (`kick.campaigns_pause_signal`; a resume clears it), one EXISTS. Asked from
    inside the batch's event loop, where the ORM may not run."""
    if not campaign_ids:
        return False
    try:
        return bool(redis_client().exists(*(kick.pause_key(i) for i in campaign_ids)))
    except redis.RedisError:
        return False


def _stop_or_give_way(
    granted: list[Claimed], give_way: Callable[[], bool] | None
) -> Callable[[], bool]:
    """What stops a batch before its next send: one of its campaigns paused, or (a large
    workspace) new work of others waiting for a thread."""
    campaign_ids = frozenset(c.campaign_id for c in granted if c.campaign_id)

    def stop() -> bool:
        return campaigns_stopped(campaign_ids) or (give_way is not None and give_way())

    return stop


def _send(
    *,
    sender: Sender,
    path: _SendPath,
    granted: list[Claimed],
    slots: list[float],
    pace: Pace,
    give_way: Callable[[], bool] | None = None,
) -> _SentBatch:
    """Render the granted messages and send each at its slot."""
    plan = prepare(sender=sender, claimed=granted, upload=path.upload)
    to_send = [c for c in granted if c.id in plan.messages]
    outcomes = path.send(
        [plan.messages[c.id] for c in to_send],
        slots[: len(to_send)],
        rate=pace.rate,
        give_way=give_way,
    )
    held_back = to_send[len(outcomes) :]
    to_send = to_send[: len(outcomes)]
    not_sent = [c for c in granted if c.id in plan.local]
    held = {c.id for c in held_back}
    return _SentBatch(
        sender=sender,
        granted=[c for c in granted if c.id not in held],
        plan=plan,
        sent=[*to_send, *not_sent],
        outcomes=[*outcomes, *(plan.local[c.id] for c in not_sent)],
        held_back=held_back,
        held_back_from=slots[len(outcomes)] if held_back else None,
    )


def _record_sent(
    batch: _SentBatch,
    *,
    pulse: heartbeat.Heartbeat,
    result: DrainResult,
    not_sent: list[int] | None = None,
) -> bool:
    """Record a sent batch, then stop renewing its messages' leases. Returns True when the
    drainer must stop (the number is blocked; `not_sent` is then back in the queue)."""
    plan = batch.plan
    stop = record(
        sender=batch.sender,
        sent=batch.sent,
        outcomes=batch.outcomes,
        bodies=plan.bodies,
        skipped=[c for c in batch.granted if c.id in plan.skip],
        result=result,
        plan=plan,
        not_sent=not_sent,
    )
    pulse.release(c.id for c in batch.granted)
    return stop


def _work_due(sender_id: int) -> bool:
    """Whether a claim would find something on the number now (the drainer re-queues itself).
    Asked with the claim's own definition of due: due messages it would not take (a paused
    campaign's, a suspended workspace's) once made the drainer re-queue itself at once,
    forever."""
    walks = due_walks_sql(sender="%(sender)s", limit="1", when="%(now)s")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute(
            f"SELECT EXISTS ({walks})",  # noqa: S608 # nosec B608 # own SQL, values are parameters
            {"sender": sender_id, "now": timezone.now()},
        )
        return bool(cursor.fetchone()[0])


#: How far ahead the drainer looks for the next message to fall due. Further than this, the
#: tick (every ENGINE_TICK_SECONDS) wakes the number in time.
NEXT_DUE_HORIZON_SECONDS = 30.0


def next_due_in(sender_id: int) -> float | None:
    """Seconds until the number's next message falls due within NEXT_DUE_HORIZON_SECONDS (its
    send window's opening counted), or None. A campaign paced at one message a second has its
    messages due a second apart: without a wake-up at that moment the drainer, finding nothing
    due, ended, and the tick found ten of them due at once and sent them in one burst."""
    walks = due_walks_sql(sender="%(sender)s", limit="1", when="%(when)s")
    now = timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute(
            f"SELECT min(GREATEST(d.next_attempt_at, COALESCE(d.opens, d.next_attempt_at)))"  # noqa: S608 # nosec B608 # own SQL, values are parameters
            f" FROM ({walks}) d",
            {"sender": sender_id, "when": now + timedelta(seconds=NEXT_DUE_HORIZON_SECONDS)},
        )
        due = cursor.fetchone()[0]
    if due is None:
        return None
    wait = (due - timezone.now()).total_seconds()
    return max(wait, 0.0) if wait <= NEXT_DUE_HORIZON_SECONDS else None


def _lease_release(client: redis.Redis, lease_key: str, token: str) -> None:
    """Release only our own lease (compare-and-delete)."""
    client.eval(
        "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end",
        1,
        lease_key,
        token,
    )


class _OutcomeRow(NamedTuple):
    """A message's new state, in the column order of `_write_outcomes`' arrays."""

    id: int
    status: str
    provider_message_id: str
    error_kind: str
    error_code: int | None
    error_title: str
    next_attempt_at: datetime
    body: str


_SENDER_DOWN = (OutcomeKind.SENDER_BLOCKED, OutcomeKind.CREDENTIALS_INVALID)


@dataclass
class _Batch:
    """A batch's outcomes sorted out before anything is written: the rows to write, the credits
    to move per reference (a campaign's reservation, or a single message's), the contacts found
    invalid or opted out, and what the number's health needs (a 130429, a block)."""

    now: datetime
    campaign_refs: dict[int, uuid.UUID]  # campaign id -> public id
    rows: list[_OutcomeRow] = field(default_factory=list)
    # message id -> what its credit does if this record decides the message (see `settle`)
    credit: dict[int, tuple[str, str]] = field(default_factory=dict)  # (consume|release, ref)
    effects: dict[int, tuple[str, int]] = field(default_factory=dict)  # (effect, contact id)
    consume: Counter[str] = field(default_factory=Counter)
    release: Counter[str] = field(default_factory=Counter)
    contact_effects: defaultdict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    blocked: Outcome | None = None  # the batch's first sender-blocked outcome
    rate_limited: int = 0  # sends WhatsApp answered 130429 (throughput reached)
    # campaigns whose sends used an uploaded media id, and those Meta said it does not know
    media_id_campaigns: set[int] = field(default_factory=set)
    media_stale: set[int] = field(default_factory=set)
    # campaign id -> the error (132015 paused / 132016 disabled) of its WhatsApp template
    template_paused: dict[int, Outcome] = field(default_factory=dict)

    def reference(self, item: Claimed) -> str:
        """The credit reference the message's credits are reserved under."""
        if item.campaign_id:
            return campaign_credit_reference(self.campaign_refs[item.campaign_id])
        return message_credit_reference(item.public_id)

    def add_sent(self, item: Claimed, outcome: Outcome, *, body: str, result: DrainResult) -> None:
        """Classify one gateway outcome: accepted, unconfirmed, tried again (later, or on
        another number) or failed for good."""
        kind = outcome.kind
        code = outcome.error.code if outcome.error else None
        title = (outcome.error.title if outcome.error else outcome.note)[:255]
        next_at = self.now
        if kind == OutcomeKind.ACCEPTED:
            status = Message.Status.ACCEPTED
            result.accepted += 1
            self.credit[item.id] = ("consume", self.reference(item))
        elif kind == OutcomeKind.AMBIGUOUS:
            status = Message.Status.AMBIGUOUS  # reconciled by biz_opaque_callback_data later
        elif kind in (OutcomeKind.RATE_LIMITED, OutcomeKind.RECIPIENT_WAIT):
            status = Message.Status.QUEUED
            next_at = self.now + timedelta(seconds=outcome.retry_after or 1)
            self.rate_limited += kind == OutcomeKind.RATE_LIMITED
            result.retried += 1
        elif kind == OutcomeKind.RETRY_LATER and item.attempts < RETRY_LATER_MAX_ATTEMPTS:
            status = Message.Status.QUEUED
            next_at = self.now + timedelta(
                seconds=outcome.retry_after or retry_later_backoff(item.attempts)
            )
            result.retried += 1
        elif code in TEMPLATE_PAUSE_CODES and item.campaign_id:
            # Meta paused (or disabled) the template: the campaign pauses, the message waits
            # uncharged and goes out when the template is reinstated and the campaign resumes.
            status = Message.Status.QUEUED
            self.template_paused.setdefault(item.campaign_id, outcome)
            result.retried += 1
        elif (
            item.campaign_id in self.media_id_campaigns
            and media_id_refused(outcome.error)
            and item.attempts < RETRY_LATER_MAX_ATTEMPTS
        ):
            # The uploaded media id is unknown (expired or dropped): upload again, send again.
            status = Message.Status.QUEUED
            self.media_stale.add(item.campaign_id)
            result.retried += 1
        elif kind in _SENDER_DOWN:
            # Not the recipient's fault: it goes out on another number.
            status = Message.Status.QUEUED
            self.blocked = self.blocked or outcome
            result.retried += 1
        else:  # recipient permanent, fix request, retries exhausted
            status = Message.Status.FAILED
            result.failed += 1
            self.credit[item.id] = ("release", self.reference(item))
            if kind == OutcomeKind.RECIPIENT_PERMANENT and item.contact_id:
                effect = "opt_out" if outcome.opt_out else "invalid"
                self.effects[item.id] = (effect, item.contact_id)
        accepted = status == Message.Status.ACCEPTED
        self.rows.append(
            _OutcomeRow(
                id=item.id,
                status=status,
                provider_message_id=outcome.provider_message_id or "",
                error_kind="" if accepted else str(kind),
                error_code=code,
                error_title="" if accepted else title,
                next_attempt_at=next_at,
                body=body,
            )
        )

    def add_skipped(
        self,
        item: Claimed,
        *,
        result: DrainResult,
        reason: tuple[str, str] = ("opted_out", "opted out before sending"),
    ) -> None:
        """A message not sent (its contact opted out since launch, or a variable has no value
        and no fallback): its credit goes back."""
        self.rows.append(
            _OutcomeRow(
                id=item.id,
                status=Message.Status.SKIPPED,
                provider_message_id="",
                error_kind=reason[0],
                error_code=None,
                error_title=reason[1][:255],
                next_attempt_at=self.now,
                body="",
            )
        )
        result.skipped += 1
        self.credit[item.id] = ("release", self.reference(item))

    def settle(self, current: dict[int, str]) -> list[int]:
        """Decide credits and contact marks from the messages' statuses under lock: only a
        message still `sending` is this record's to decide. One a status webhook already moved
        (delivered: charged by the ingestion; failed: released by it) keeps its status and its
        credits. Returns the ids this record decides."""
        decided = [row.id for row in self.rows if current.get(row.id) == Message.Status.SENDING]
        for message_id in decided:
            if message_id in self.credit:
                verb, reference = self.credit[message_id]
                (self.consume if verb == "consume" else self.release)[reference] += 1
            if message_id in self.effects:
                effect, contact_id = self.effects[message_id]
                self.contact_effects[effect].append(contact_id)
        return decided


def record(
    *,
    sender: Sender,
    sent: list[Claimed],
    outcomes: list[Outcome],
    bodies: dict[int, str],
    skipped: list[Claimed],
    result: DrainResult,
    plan: Prepared | None = None,
    not_sent: list[int] | None = None,
) -> bool:
    """Write every outcome of a batch in bulk, move credits, react to the number's health.
    Returns True when the drainer must stop (the number is blocked).

    `not_sent`: the drainer's next batch, claimed and not sent yet. If this batch finds the
    number blocked, they go back to the queue before its queued messages move to another
    number, so they move too.

    A 132015/132016 (template paused or disabled) re-queues the message and pauses its
    campaign; an unknown media id re-queues it and has the file uploaded again.

    In one transaction: the outcome rows (one UPDATE), their webhook events, the credits, the
    contacts' marks and the campaigns' counters. After it: the send-rate chart and the
    limiter's pace (Redis), then a blocked number's failover."""
    batch = _Batch(now=timezone.now(), campaign_refs=_campaign_public_ids([*sent, *skipped]))
    if plan is not None:
        batch.media_id_campaigns = plan.media_id_campaigns
    for item, outcome in zip(sent, outcomes, strict=True):
        batch.add_sent(item, outcome, body=bodies.get(item.id, ""), result=result)
    for item in skipped:
        if plan is not None and item.id in plan.skip:
            batch.add_skipped(item, result=result, reason=plan.skip[item.id])
        else:
            batch.add_skipped(item, result=result)

    with transaction.atomic():
        # Lock first: a status webhook for these messages waits, or has already been applied
        # (then it decided the message: see `_Batch.settle`).
        current = charges.rows_lock(row.id for row in batch.rows)
        decided = set(batch.settle(current))
        _write_outcomes([row for row in batch.rows if current.get(row.id) in OUTCOME_WRITABLE])
        items = [*sent, *skipped]
        _status_events_publish(
            sender=sender,
            items=[item for item in items if item.id in decided],
            rows=[row for row in batch.rows if row.id in decided],
            campaign_refs=batch.campaign_refs,
        )
        charges.credits_settle(
            workspace=sender.workspace, consume=batch.consume, release=batch.release
        )
        reactions.contacts_mark(workspace_id=sender.workspace_id, effects=batch.contact_effects)
        media_forget(sender_id=sender.pk, campaign_ids=batch.media_stale)
        _campaigns_refresh(items=[*sent, *skipped])
        if batch.template_paused:
            reactions.campaigns_pause_for_template(paused=batch.template_paused)
    send_rate_record(_accepted_per_campaign(sent, outcomes))
    _pace_adjust(
        sender=sender, rate_limited=batch.rate_limited, sent=len(sent), accepted=result.accepted
    )
    if batch.blocked is not None:
        unclaim(not_sent or [])
        reactions.sender_blocked(sender=sender, outcome=batch.blocked)
        return True
    return False


def _campaign_public_ids(items: list[Claimed]) -> dict[int, uuid.UUID]:
    return dict(
        Campaign.objects.filter(pk__in={c.campaign_id for c in items if c.campaign_id}).values_list(
            "pk", "public_id"
        )
    )


def _status_events_publish(
    *,
    sender: Sender,
    items: list[Claimed],
    rows: list[_OutcomeRow],
    campaign_refs: dict[int, uuid.UUID],
) -> None:
    """`message.status` events for the accepted and failed messages (the integrator's webhook)."""
    events_publish(
        workspace_id=sender.workspace_id,
        events=[
            message_status_event(
                message_id=item.public_id,
                status=row.status,
                phone=item.phone,
                campaign_id=campaign_refs.get(item.campaign_id or 0),
                error_code=row.error_code,
                error_title=row.error_title,
            )
            for item, row in zip(items, rows, strict=True)
            if row.status in (Message.Status.ACCEPTED, Message.Status.FAILED)
        ],
    )


def _campaigns_refresh(*, items: list[Claimed]) -> None:
    """Refresh the counters of the batch's campaigns: finished ones now (and completed), the
    rest at most once a second."""
    touched = {c.campaign_id for c in items if c.campaign_id}
    still_open = reactions.campaigns_with_open_messages(touched)
    reactions.campaigns_refresh(campaign_ids=touched - still_open)
    reactions.campaigns_refresh(campaign_ids=touched & still_open, force=False)


def _accepted_per_campaign(sent: list[Claimed], outcomes: list[Outcome]) -> Counter[int]:
    return Counter(
        item.campaign_id
        for item, outcome in zip(sent, outcomes, strict=True)
        if item.campaign_id and outcome.kind == OutcomeKind.ACCEPTED
    )


#: How a batch's 130429 answers (throughput reached) move the number's pace, by the share of
#: its sends refused. Up to 2%: arrival jitter at the edge of the gateway's one-second window
#: (our releases keep the rate; the network and a busy CPU bunch a few of them): the refused
#: sends go out again a second later (Meta: "retry after ~1 s") and the pace stays. Up to
#: 10%: the pace eases a little. More: the number's real limit is lower than its configured
#: pace (a coexistence number is held at 20/s), and the pace halves.
JITTER_REJECTION_SHARE = 0.02
EASE_REJECTION_SHARE = 0.10
EASE_FACTOR = 0.9


def _pace_adjust(*, sender: Sender, rate_limited: int, sent: int, accepted: int) -> None:
    """WhatsApp said 130429 in this batch: slow the number down, by how much depends on how
    many sends it refused. Otherwise, once the slice has had sends accepted, let it recover
    towards its configured pace.

    Halving on any 130429 cost a third of a busy number's sending: one refused send in a
    batch of 160 halved the pace, and four batches passed before it was back (10 numbers at
    80/s on a busy machine: utilisation 0.68 with halving, 0.87 without)."""
    gate = limiter()
    share = rate_limited / max(sent, 1)
    if share > JITTER_REJECTION_SHARE:
        factor = EASE_FACTOR if share <= EASE_REJECTION_SHARE else 0.5
        gate.slow_down(f"sender:{sender.pk}", factor=factor)
    elif accepted:
        gate.speed_up(f"sender:{sender.pk}")


SEND_RATE_TTL_SECONDS = 3 * 86_400


def _send_rate_key(campaign_id: int) -> str:
    return f"isend:send-rate:{campaign_id}"


def send_rate_record(accepted: Counter[int]) -> None:
    """Accepted sends per campaign and minute, for the campaign page's send-rate chart. Kept in
    Redis: losing it loses a chart, never a message, so a Redis error is only logged."""
    if not accepted:
        return
    minute = int(time.time() // 60)
    try:
        pipe = redis_client().pipeline(transaction=False)
        for campaign_id, n in accepted.items():
            pipe.hincrby(_send_rate_key(campaign_id), str(minute), n)
            pipe.expire(_send_rate_key(campaign_id), SEND_RATE_TTL_SECONDS)
        pipe.execute()
    except redis.RedisError:
        log.warning("send-rate counters not written", exc_info=True)


def send_rate_series(*, campaign_id: int, minutes: int = 60) -> list[tuple[int, int]]:
    """(minute as a Unix time, accepted sends) for the last `minutes`, zero-filled."""
    now = int(time.time() // 60)
    fields = [str(m) for m in range(now - minutes + 1, now + 1)]
    try:
        values = redis_client().hmget(_send_rate_key(campaign_id), fields)
    except redis.RedisError:
        values = [None] * len(fields)
    return [(int(f) * 60, int(v or 0)) for f, v in zip(fields, values, strict=True)]


#: The statuses a batch's record may write an outcome over: still sending, or already moved on
#: by a status webhook (the record keeps that status and adds what the webhook did not say).
OUTCOME_WRITABLE = frozenset({"sending", "sent", "delivered", "read"})

#: The outcome of every message of a batch, in one statement driven by the ids (the rows are
#: locked and their statuses read first; only those in OUTCOME_WRITABLE are passed). A filter
#: on the status here let the planner, while its statistics had seen no message sent (a fresh
#: database, or one ANALYZE had not visited since a fan-out), scan the sent messages and run
#: the batch's arrays once for each of them: 5-8 s a batch of 500 at 20,000 messages.
OUTCOMES_SQL = """
UPDATE messaging_message m SET
    -- a message a status webhook already moved on (sent, delivered, read) keeps
    -- its status: the gateway's word about the message beats this attempt's
    status = CASE WHEN m.status = 'sending' THEN v.status ELSE m.status END,
    provider_message_id = CASE WHEN v.pid <> '' AND (m.status = 'sending'
                                                  OR m.provider_message_id = '')
                               THEN v.pid ELSE m.provider_message_id END,
    error_kind = CASE WHEN m.status = 'sending' THEN v.kind ELSE m.error_kind END,
    error_code = CASE WHEN m.status = 'sending' THEN v.code ELSE m.error_code END,
    error_title = CASE WHEN m.status = 'sending' THEN v.title
                       ELSE m.error_title END,
    next_attempt_at = CASE WHEN m.status = 'sending' THEN v.next_at
                           ELSE m.next_attempt_at END,
    lease_until = NULL,
    body = CASE WHEN v.body <> '' THEN v.body ELSE m.body END,
    -- set once, the earliest of this record and a status webhook (LEAST skips
    -- NULL): never moved later than what a webhook already said
    accepted_at = CASE WHEN v.status = 'accepted' THEN LEAST(m.accepted_at, now())
                       ELSE m.accepted_at END,
    status_changed_at = CASE WHEN m.status = 'sending' THEN now()
                             ELSE m.status_changed_at END
FROM unnest(%b::bigint[], %b::text[], %b::text[], %b::text[], %b::int[],
            %b::text[], %b::timestamptz[], %b::text[])
     AS v(id, status, pid, kind, code, title, next_at, body)
WHERE m.id = v.id
"""


def _write_outcomes(rows: list[_OutcomeRow]) -> None:
    if not rows:
        return
    # One array per column: the statement's text is the same for every batch, so psycopg
    # parses it once. A VALUES list of 8 placeholders a row was parsed again at every batch
    # (py-spy: about a tenth of the drainer's CPU, in psycopg's query splitting).
    params = [list(column) for column in zip(*rows, strict=True)]
    with binary_array_cursor() as cursor:
        cursor.execute(
            OUTCOMES_SQL,
            params,
        )
