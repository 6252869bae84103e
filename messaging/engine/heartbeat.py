"""A living drainer proves it is alive; a dead one is forgotten in seconds.

The drain lock (Redis, one per number) and the messages' leases (`lease_until`, PostgreSQL) are
short and renewed by a heartbeat thread while the drainer runs. A drainer killed mid-slice stops
renewing: its lock expires within `ENGINE_DRAIN_LOCK_SECONDS` and its messages' leases within
`ENGINE_LEASE_SECONDS`, after which the tick puts them back in the queue and another drainer
takes over. A drainer that is merely slow (a gateway taking its time) keeps renewing both, so
its messages are never handed to a second drainer while it still may send them."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable

import redis
from django.conf import settings
from django.db import connection

from messaging.campaigns.models import Message

log = logging.getLogger(__name__)

# Renew our lock (compare-and-extend); take it back if Redis lost it (a restart) while we run.
_RENEW = """
local current = redis.call('GET', KEYS[1])
if current == ARGV[1] then
    return redis.call('PEXPIRE', KEYS[1], ARGV[2])
elseif not current then
    return redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) and 1 or 0
end
return 0
"""


def renewal_skip_seconds() -> float:
    """How fresh a lease a beat leaves alone: at most one beat interval, and only as much as
    keeps a lease alive through a missed beat.

    Most batches are recorded within a beat or two of their claim. Renewing each of their
    leases at every beat rewrote every in-flight message (a row update touching all of its
    indexes) for nothing; with the defaults (lease 30 s, beat 5 s) a lease is now renewed
    once it is more than 5 s old, so it never has less than 15 s left, a missed beat
    included (a lease renewed every beat kept 20 s)."""
    beat, lease = float(settings.ENGINE_HEARTBEAT_SECONDS), float(settings.ENGINE_LEASE_SECONDS)
    return max(0.0, min(beat, lease - 3 * beat))


def lock_milliseconds() -> int:
    return int(float(settings.ENGINE_DRAIN_LOCK_SECONDS) * 1000)


class Heartbeat:
    """Renews one drainer's lock and the leases of the messages it holds, every
    `ENGINE_HEARTBEAT_SECONDS`, from a daemon thread, until `stop()`."""

    def __init__(self, *, client: redis.Redis, lock_key: str, token: str) -> None:
        self.client, self.lock_key, self.token = client, lock_key, token
        self._held: set[int] = set()
        self._guard = threading.Lock()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat {lock_key}", daemon=True)
        self.beats = 0

    def start(self) -> Heartbeat:
        self._thread.start()
        return self

    def hold(self, ids: Iterable[int]) -> None:
        with self._guard:
            self._held.update(ids)

    def release(self, ids: Iterable[int]) -> None:
        with self._guard:
            self._held.difference_update(ids)

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=float(settings.ENGINE_HEARTBEAT_SECONDS) + 5)

    def beat(self) -> None:
        """One renewal (the thread's loop; tests call it directly)."""
        try:
            self.client.eval(_RENEW, 1, self.lock_key, self.token, lock_milliseconds())
        except redis.RedisError as exc:  # Redis away: the leases below still hold the work
            log.warning("drain lock %s not renewed: %s", self.lock_key, exc)
        with self._guard:
            ids = sorted(self._held)
        if ids:
            lease = float(settings.ENGINE_LEASE_SECONDS)
            with connection.cursor() as cursor:
                # SKIP LOCKED: rows the drainer is recording right now are about to leave
                # "sending" anyway; never wait on them. Leases claimed or renewed within the
                # last `renewal_skip_seconds()` are left alone (see there).
                cursor.execute(
                    f"""
                    UPDATE {Message._meta.db_table} m
                       SET lease_until = clock_timestamp() + make_interval(secs => %s)
                     WHERE m.id IN (
                         SELECT id FROM {Message._meta.db_table}
                          WHERE id = ANY(%s) AND status = 'sending'
                            AND lease_until < clock_timestamp() + make_interval(secs => %s)
                          FOR UPDATE SKIP LOCKED
                     )
                    """,  # noqa: S608 - our table name  # nosec B608 # own table names, values are parameters
                    [lease, ids, lease - renewal_skip_seconds()],
                )
        self.beats += 1

    def _run(self) -> None:
        try:
            while not self._stopping.wait(float(settings.ENGINE_HEARTBEAT_SECONDS)):
                try:
                    self.beat()
                except Exception:  # a missed beat must not kill the drainer
                    log.exception("heartbeat of %s failed", self.lock_key)
        finally:
            connection.close()  # this thread's own database connection
