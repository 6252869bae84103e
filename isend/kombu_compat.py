"""A guard for kombu's Redis transport so a Celery worker survives a Redis restart.

The bug (celery 5.7.0 + kombu 5.7.0, seen on the dispatch worker, `--pool threads`): when the
consumer loses its broker connection, `Consumer.on_connection_error_after_connected` first calls
`connection.collect()` and then (new in celery 5.7) `connection.close()`. `collect()` closes the
default channel, but that channel is waiting on a BRPOP: its `close()` first reads the BRPOP
reply, which raises `ConnectionError` (Redis is gone) before the channel is marked closed; kombu
swallows that, then detaches the transport from the connection (`transport.client = None`).
The second close, `connection.close()`, closes the same channel again: this time it gets as far
as restoring the unacknowledged messages (the tasks still running with `acks_late`), which
builds a new Redis pool from `transport.client.hostname` -> `AttributeError` on None. That is
not a connection error, so it escapes `ignore_errors` and Celery stops the worker:
`CRITICAL Unrecoverable error: AttributeError("'NoneType' object has no attribute 'hostname'")`.
A late ack from a task thread on that dead channel takes the same path.

The guard: a channel whose transport was already detached raises redis-py's `ConnectionError`
("the transport is closed") instead. That is one of kombu's `connection_errors`, so the second
close is ignored as designed, the late ack is logged as "Couldn't ack" (Redis redelivers it
after the visibility timeout if it still has it; a restarted Redis has nothing to redeliver and
the engine's tick finds the due work in PostgreSQL), and the consumer reconnects.
Nothing can be restored through a closed transport anyway: the messages stay in Redis's
unacked index (restored after the visibility timeout) or were lost with the Redis restart.

See docs/operations.md ("Broker restarts"). Remove this when kombu/celery no longer close the
collected connection twice (tests/reliability/test_processes.py and
tests/test_kombu_compat.py keep the behaviour checked)."""

from __future__ import annotations

import functools
from typing import Any

import redis
from kombu.transport import redis as kombu_redis

_MARK = "_isend_closed_transport_guard"


def install() -> None:
    """Wrap `kombu.transport.redis.Channel._connparams` once (idempotent)."""
    original = kombu_redis.Channel._connparams
    if getattr(original, _MARK, False):
        return

    @functools.wraps(original)
    def _connparams(self: Any, *args: Any, **kwargs: Any) -> Any:
        transport = self.connection
        if transport is None or transport.client is None:
            raise redis.exceptions.ConnectionError(
                "the broker transport of this channel is closed (the connection was lost)"
            )
        return original(self, *args, **kwargs)

    setattr(_connparams, _MARK, True)
    kombu_redis.Channel._connparams = _connparams  # type: ignore[method-assign]
