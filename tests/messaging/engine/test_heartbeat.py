"""The drainer's heartbeat: a living drainer keeps its number's lock and its messages' leases;
a dead one's expire in seconds (the reliability suite kills real processes to prove the rest)."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from messaging.campaigns.models import Message
from messaging.engine import dispatch, heartbeat
from messaging.engine.runtime import redis_client

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_beat_renews_our_lock_takes_it_back_after_redis_lost_it_and_never_takes_another(
    sandbox_number,
) -> None:
    client = redis_client()
    key = f"isend:drain:test-{sandbox_number().pk}"
    pulse = heartbeat.Heartbeat(client=client, lock_key=key, token="ours")
    client.set(key, "ours", px=500)

    pulse.beat()
    renewed = client.pttl(key)
    client.delete(key)  # Redis restarted: the lock is gone while we still run
    pulse.beat()
    taken_back = client.get(key)
    client.set(key, "theirs", px=60_000)  # another drainer's lock
    pulse.beat()

    assert renewed > 10_000  # ENGINE_DRAIN_LOCK_SECONDS, not the 0.5 s it had
    assert taken_back == b"ours"
    assert client.get(key) == b"theirs"
    client.delete(key)


def test_a_beat_extends_the_leases_of_the_messages_the_drainer_holds(
    sandbox_number, contacts, credits, launch
) -> None:
    number = sandbox_number()
    contacts(3)
    credits(3)
    campaign = launch([number])
    claimed = dispatch.claim(sender_id=number.pk, limit=3)
    soon = timezone.now() + timedelta(seconds=1)
    Message.objects.filter(campaign=campaign).update(lease_until=soon)
    pulse = heartbeat.Heartbeat(client=redis_client(), lock_key="isend:drain:x", token="t")
    pulse.hold(c.id for c in claimed[:2])

    pulse.beat()

    leases = dict(Message.objects.filter(campaign=campaign).values_list("id", "lease_until"))
    held, other = [leases[c.id] for c in claimed[:2]], leases[claimed[2].id]
    assert all(lease > soon + timedelta(seconds=20) for lease in held)  # ENGINE_LEASE_SECONDS
    assert other == soon  # not ours to keep alive: it expires and the tick re-queues it


def test_a_beat_leaves_fresh_leases_alone_and_renews_them_before_they_run_low(
    sandbox_number, contacts, credits, launch
) -> None:
    """A batch recorded within a beat of its claim is never rewritten by the heartbeat; one
    that is held longer is renewed while its lease still has well over a beat left."""
    number = sandbox_number()
    contacts(2)
    credits(2)
    campaign = launch([number])
    fresh, aged = dispatch.claim(sender_id=number.pk, limit=2)
    skip = heartbeat.renewal_skip_seconds()
    claimed_lease = Message.objects.get(pk=fresh.id).lease_until
    aged_lease = timezone.now() + timedelta(seconds=30 - skip - 1)  # claimed skip + 1 s ago
    Message.objects.filter(pk=aged.id).update(lease_until=aged_lease)
    pulse = heartbeat.Heartbeat(client=redis_client(), lock_key="isend:drain:y", token="t")
    pulse.hold([fresh.id, aged.id])

    pulse.beat()

    leases = dict(Message.objects.filter(campaign=campaign).values_list("id", "lease_until"))
    assert skip == 5.0  # the defaults: lease 30 s, a beat every 5 s
    assert leases[fresh.id] == claimed_lease  # untouched: not even a new row version
    assert leases[aged.id] > aged_lease + timedelta(seconds=skip)
    assert leases[aged.id] > timezone.now() + timedelta(seconds=25)


@pytest.mark.parametrize(
    ("lease", "beat", "skip"), [(30, 5.0, 5.0), (12, 5.0, 0.0), (40, 10.0, 10.0), (35, 10.0, 5.0)]
)
def test_a_lease_survives_a_missed_beat_whatever_the_settings(lease, beat, skip) -> None:
    """Renewed at the first beat after it is `skip` old (at most skip + beat), one beat
    missed: the lease still has time left in every configuration the settings accept
    (a lease longer than two beats)."""
    with override_settings(ENGINE_LEASE_SECONDS=lease, ENGINE_HEARTBEAT_SECONDS=beat):
        assert heartbeat.renewal_skip_seconds() == skip
        assert lease - (skip + 2 * beat) > 0


def test_the_heartbeat_thread_beats_until_stopped(sandbox_number) -> None:
    """A slow drainer stays alive for several beats; once stopped, it renews nothing more."""
    key = f"isend:drain:{sandbox_number().pk}"
    with override_settings(ENGINE_HEARTBEAT_SECONDS=0.05):
        pulse = heartbeat.Heartbeat(client=redis_client(), lock_key=key, token="t").start()
        time.sleep(0.4)
        pulse.stop()
        beats = pulse.beats
        time.sleep(0.2)

    assert beats >= 3
    assert pulse.beats == beats
    redis_client().delete(key)
