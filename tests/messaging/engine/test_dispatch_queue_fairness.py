"""Fairness between tenants on the dispatch queue: a number's new work (a kick) is taken before
the re-queued slices of numbers that are already draining, through the real Redis broker."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import pytest
from celery import current_app
from django.conf import settings
from kombu import Connection

from messaging.campaigns.models import Message
from messaging.engine import dispatch, kick
from messaging.engine.runtime import redis_client

from .conftest import drain_all


@pytest.fixture
def broker() -> Iterator[Connection]:
    """The Celery app publishing to the test Redis for real (not eagerly), with the dispatch
    queue empty before and after."""
    client = redis_client()

    def empty() -> None:
        for key in client.scan_iter("dispatch*"):
            client.delete(key)

    empty()
    eager = current_app.conf.task_always_eager
    current_app.conf.task_always_eager = False
    try:
        with Connection(settings.CELERY_BROKER_URL) as connection:
            yield connection
    finally:
        current_app.conf.task_always_eager = eager
        empty()


def _taken_in_order(connection: Connection) -> list[int]:
    """Pop the dispatch queue as a worker does (lowest priority step first)."""
    queue = connection.SimpleQueue("dispatch")
    taken = []
    try:
        while True:
            try:
                message = queue.get(block=False)
            except queue.Empty:
                return taken
            body = message.body if isinstance(message.body, bytes | str) else message.payload
            _args, kwargs, _embed = json.loads(body) if not isinstance(body, list) else body
            taken.append(kwargs["sender_id"])
            message.ack()
    finally:
        queue.close()


def test_a_new_campaigns_kick_is_taken_before_the_slices_already_waiting(
    broker: Connection, settings
) -> None:
    settings.ENGINE_KICK_DRAINERS = True
    # given: a large workspace's 20 numbers each have their next slice waiting in the queue
    for sender_id in range(1, 21):
        kick.dispatch_continue(sender_id=sender_id, workspace_numbers=20)

    # when: a small workspace launches a campaign on its own number
    kick.dispatch_kick(sender_ids=[99])
    kick.dispatch_continue(sender_id=21, workspace_numbers=20)  # re-queued after the launch

    # then: the next free dispatch thread takes the new number's work first; the waiting
    # slices keep their own order among themselves (no number starves another)
    assert _taken_in_order(broker) == [99, *range(1, 22)]


def test_a_small_workspaces_next_slice_goes_before_a_large_workspaces_slices(
    broker: Connection,
) -> None:
    # given: a large workspace's 20 numbers each have their next slice waiting
    for sender_id in range(1, 21):
        kick.dispatch_continue(sender_id=sender_id, workspace_numbers=20)

    # when: the small workspace's number finishes its first slice with work left
    kick.dispatch_continue(sender_id=99, workspace_numbers=1)

    # then: its campaign goes on at the next free thread instead of after 20 slices
    assert _taken_in_order(broker) == [99, *range(1, 21)]


@pytest.fixture
def four_numbers_with_work(sandbox_number, contacts, credits, launch):
    """A large workspace (more than LARGE_WORKSPACE_NUMBERS numbers) with a campaign that keeps
    each of its numbers busy for several batches; each number may send 50 a day, its share."""
    contacts(200)
    credits(200)
    numbers = [
        sandbox_number(rate=20, daily_cap=50) for _ in range(kick.LARGE_WORKSPACE_NUMBERS + 1)
    ]
    launch(numbers)
    return numbers


def _kick_later(seconds: float) -> threading.Timer:
    """A small workspace's launch, published while the large drain is mid-batch."""
    timer = threading.Timer(seconds, kick.dispatch_kick, kwargs={"sender_ids": [99]})
    timer.start()
    return timer


@pytest.mark.django_db
def test_a_large_workspaces_slice_gives_way_when_new_work_waits(
    broker: Connection, settings, four_numbers_with_work, engine_sandbox
) -> None:
    settings.ENGINE_KICK_DRAINERS = True
    number = four_numbers_with_work[0]
    # given: every dispatch thread is busy and a small workspace's launch waits for one
    kick.dispatch_kick(sender_ids=[99])

    result = dispatch.drain(sender_id=number.pk, slice_seconds=30)

    # then: the slice ends within its first batch (two seconds at 20/s), not after 30 s, and
    # says its number has work left; what did not leave is queued again, untouched
    assert result.more
    assert 0 < result.claimed < 40
    sent = engine_sandbox.number_stats(number.phone_number_id)["accepted"]
    assert sent == result.claimed
    assert Message.objects.filter(sender=number, status="queued").count() == 50 - sent
    assert not Message.objects.filter(sender=number, status="sending").exists()


@pytest.mark.django_db
def test_a_batch_in_flight_stops_when_new_work_arrives_and_its_rest_goes_out_later(
    broker: Connection, settings, four_numbers_with_work, engine_sandbox
) -> None:
    settings.ENGINE_KICK_DRAINERS = True
    number = four_numbers_with_work[0]
    # given: the large drain's first batch (40 sends over two seconds) is under way
    timer = _kick_later(0.6)  # when: a small workspace's launch waits for a thread

    result = dispatch.drain(sender_id=number.pk, slice_seconds=30)
    timer.join()

    # then: the batch stopped within a check of the kick (not at its end, 2 s in)
    assert result.more
    assert 0 < result.claimed < 30
    assert Message.objects.filter(sender=number, status="queued").count() == 50 - result.claimed

    # and once the small campaign has its thread, the rest goes out: each message exactly once,
    # and the slots the stopped batch did not use no longer count against the day's cap of 50
    _taken_in_order(broker)  # the kick was taken
    drain_all([number])
    stats = engine_sandbox.number_stats(number.phone_number_id)
    assert (stats["accepted"], stats["distinct"], stats["duplicates"]) == (50, 50, 0)
    assert Message.objects.filter(sender=number, status="accepted").count() == 50


@pytest.mark.django_db
def test_a_large_workspaces_slice_goes_on_when_nothing_waits(
    broker: Connection, settings, four_numbers_with_work
) -> None:
    settings.ENGINE_KICK_DRAINERS = True
    number = four_numbers_with_work[0]

    result = dispatch.drain(sender_id=number.pk, slice_seconds=3)

    assert result.claimed == 50  # all its messages (2.5 s at 20/s) in one slice
