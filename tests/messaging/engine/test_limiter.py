"""The Redis limiter: evenly spaced slots, shared across threads, daily cap, pacing with
jitter, horizon, adaptive slow-down. Real Redis (the test database)."""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Iterator

import pytest
import redis
from django.conf import settings

from messaging.engine.limiter import Pace, SendLimiter


@pytest.fixture
def limiter() -> Iterator[SendLimiter]:
    client = redis.Redis.from_url(settings.REDIS_URL)
    limiter = SendLimiter(client, prefix=f"test-limiter-{uuid.uuid4().hex[:8]}")
    yield limiter
    for key in client.scan_iter(f"{limiter.prefix}:*"):
        client.delete(key)
    client.close()


def _max_in_any_window(slots: list[float], width: float = 1.0) -> int:
    slots = sorted(slots)
    best, start = 0, 0
    for end, t in enumerate(slots):
        while t - slots[start] >= width:
            start += 1
        best = max(best, end - start + 1)
    return best


def test_slots_are_one_emission_interval_apart(limiter) -> None:
    grant = limiter.acquire("n1", 50, Pace(rate=80), now=1000.0, horizon_seconds=10)

    assert len(grant) == 50
    assert grant.slots[0] == pytest.approx(1000.0)
    gaps = [b - a for a, b in zip(grant.slots, grant.slots[1:], strict=False)]
    assert min(gaps) == pytest.approx(1 / 80, abs=1e-6)


def test_consecutive_grants_continue_where_the_last_ended(limiter) -> None:
    first = limiter.acquire("n1", 10, Pace(rate=10), now=1000.0, horizon_seconds=10)
    second = limiter.acquire("n1", 10, Pace(rate=10), now=1000.0, horizon_seconds=10)

    assert second.slots[0] == pytest.approx(first.slots[-1] + 0.1)


def test_horizon_limits_how_far_ahead_slots_are_booked(limiter) -> None:
    grant = limiter.acquire("n1", 1000, Pace(rate=10), now=1000.0, horizon_seconds=2.0)

    assert len(grant) == 21  # t, t+0.1, ..., t+2.0
    assert grant.slots[-1] <= 1002.0 + 1e-9


def test_threads_sharing_a_number_never_get_overlapping_slots(limiter) -> None:
    slots: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(10):
            grant = limiter.acquire("shared", 7, Pace(rate=50), now=2000.0, horizon_seconds=60)
            with lock:
                slots.extend(grant.slots)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(slots) == 560
    assert len(set(slots)) == 560
    assert _max_in_any_window(slots) <= 50


def test_daily_cap_stops_grants(limiter) -> None:
    pace = Pace(rate=100, daily_cap=25)

    first = limiter.acquire("capped", 20, pace, now=3000.0, horizon_seconds=60)
    second = limiter.acquire("capped", 20, pace, now=3000.0, horizon_seconds=60)
    third = limiter.acquire("capped", 20, pace, now=3000.0, horizon_seconds=60)

    assert (len(first), len(second), len(third)) == (20, 5, 0)
    assert third.remaining_today == 0


def test_minimum_interval_with_jitter(limiter) -> None:
    pace = Pace(rate=1, min_interval_ms=30_000, jitter_ms=30_000)

    grant = limiter.acquire("web", 5, pace, now=4000.0, horizon_seconds=600, rng=random.Random(7))

    gaps = [b - a for a, b in zip(grant.slots, grant.slots[1:], strict=False)]
    assert all(30.0 <= gap <= 60.0 for gap in gaps)
    assert len({round(g, 3) for g in gaps}) > 1  # jittered, not a fixed beat


def test_slow_down_stretches_the_interval_and_speed_up_recovers(limiter) -> None:
    assert limiter.slow_down("hot") == pytest.approx(0.5)
    slowed = limiter.acquire("hot", 3, Pace(rate=10), now=5000.0, horizon_seconds=10)
    gaps = [b - a for a, b in zip(slowed.slots, slowed.slots[1:], strict=False)]
    assert gaps == pytest.approx([0.2, 0.2])

    steps = [limiter.speed_up("hot") for _ in range(4)]
    assert steps == pytest.approx([0.625, 0.78125, 0.9765625, 1.0])


def test_numbers_are_independent(limiter) -> None:
    a = limiter.acquire("a", 5, Pace(rate=1), now=6000.0, horizon_seconds=10)
    b = limiter.acquire("b", 5, Pace(rate=1), now=6000.0, horizon_seconds=10)

    assert a.slots == b.slots


def test_catch_up_grants_the_slots_left_unused_in_the_recent_past(limiter) -> None:
    first = limiter.acquire("gap", 5, Pace(rate=10), now=7000.0, horizon_seconds=10)
    assert first.slots[-1] == pytest.approx(7000.4)  # the next free slot is 7000.5

    # the number was silent for 0.3 s after its last slot was due (a record, a new slice)
    caught_up = limiter.acquire(
        "gap", 3, Pace(rate=10), now=7000.8, horizon_seconds=10, catch_up_seconds=1.0
    )
    assert caught_up.slots == pytest.approx([7000.5, 7000.6, 7000.7])


def test_catch_up_reaches_back_no_further_than_asked(limiter) -> None:
    limiter.acquire("long-gap", 1, Pace(rate=10), now=8000.0, horizon_seconds=10)

    late = limiter.acquire(
        "long-gap", 2, Pace(rate=10), now=8005.0, horizon_seconds=10, catch_up_seconds=1.0
    )
    without = limiter.acquire("other", 2, Pace(rate=10), now=8005.0, horizon_seconds=10)

    assert late.slots == pytest.approx([8004.0, 8004.1])
    assert without.slots == pytest.approx([8005.0, 8005.1])


def test_slots_given_back_no_longer_count_in_the_days_use(limiter) -> None:
    pace = Pace(rate=100, daily_cap=10)
    first = limiter.acquire("cap", 8, pace, now=9000.0, horizon_seconds=10, day="20261204")
    assert first.remaining_today == 2

    limiter.give_back("cap", 5, day="20261204")  # five of them went back to the queue

    again = limiter.acquire("cap", 8, pace, now=9001.0, horizon_seconds=10, day="20261204")
    assert (len(again.slots), again.remaining_today) == (7, 0)


def test_a_batch_that_gave_way_hands_its_unused_slots_back_to_the_next_grant(limiter) -> None:
    # given: a batch granted two seconds of slots (20 at 10/s) sent its first 3 and gave way
    pace = Pace(rate=10, daily_cap=100)
    first = limiter.acquire("gave-way", 20, pace, now=9500.0, horizon_seconds=10, day="d")
    assert first.slots[-1] == pytest.approx(9501.9)

    limiter.give_back("gave-way", 17, day="d", from_slot=first.slots[3])

    # then: the number's next grant starts now (the first unused slot is past), not after the
    # two seconds the batch had reserved, and the unused slots no longer count in the day
    again = limiter.acquire("gave-way", 2, pace, now=9500.35, horizon_seconds=10, day="d")
    assert again.slots == pytest.approx([9500.35, 9500.45])
    assert again.remaining_today == 100 - 3 - 2
