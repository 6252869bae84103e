"""The Redis-transport guard of isend.kombu_compat (see its docstring for the crash it prevents).

These rebuild, without a worker, the state Celery 5.7 leaves a channel in after a lost broker
connection: its transport already detached by `connection.collect()` (`transport.client` is
None) while the channel is still open and holds unacknowledged deliveries. Closing it again (what
the consumer's `connection.close()` does) or acking one of its messages (a task thread finishing
late) must raise a connection error, which kombu and Celery handle, not an AttributeError, which
stops the worker. The full story, with a real worker and a real Redis restart, is
tests/reliability/test_processes.py."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from kombu import Connection
from kombu.common import ignore_errors

import isend.celery  # noqa: F401  (installs the guard, as every process using the app does)


@pytest.fixture
def orphaned_channel() -> Iterator[tuple[Connection, Any]]:
    connection = Connection(os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/7"))
    channel = connection.default_channel
    channel.qos._delivered["in-flight-tag"] = object()  # a task still running (acks_late)
    connection.transport.client = None  # what collect() leaves (Connection._do_close_transport)
    try:
        yield connection, channel
    finally:
        channel.qos._delivered.clear()
        channel.qos._delivered.restored = True
        channel.closed = True


def test_closing_a_channel_whose_transport_was_collected_is_a_connection_error(
    orphaned_channel,
) -> None:
    connection, channel = orphaned_channel
    errors = channel.connection.connection_errors
    with pytest.raises(errors) as raised:
        channel.close()
    assert not isinstance(raised.value, AttributeError)
    # ... so the consumer's second close, through `ignore_errors`, is harmless:
    ignore_errors(connection, connection.close)


def test_acking_on_a_channel_whose_transport_was_collected_is_a_connection_error(
    orphaned_channel,
) -> None:
    _connection, channel = orphaned_channel
    with pytest.raises(channel.connection.connection_errors):
        channel.basic_ack("in-flight-tag")
