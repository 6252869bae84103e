"""Claims racing on one number take each message once.

A number is drained by one drainer at a time (its Redis lease), but a lease can be lost
(Redis restarted, a drainer paused past its lease), and then two claims run at once. Each
walk of the due index locks the rows it returns with SKIP LOCKED: it steps past rows another
claim holds and goes on to the next, so racing claims take different batches, and none takes a
message twice."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import connection, transaction

from messaging.campaigns.models import Message
from messaging.engine import dispatch

pytestmark = pytest.mark.django_db(transaction=True)

CLAIMERS = 4


def test_claims_racing_on_one_number_take_each_message_exactly_once(
    sandbox_number, contacts, credits, launch
) -> None:
    # given: 2,000 due messages on one number
    number = sandbox_number()
    contacts(2_000)
    credits(2_000)
    campaign = launch([number])
    start = threading.Barrier(CLAIMERS)
    taken: list[list[int]] = [[] for _ in range(CLAIMERS)]
    errors: list[BaseException] = []

    def claimer(index: int) -> None:
        try:
            start.wait()
            while batch := dispatch.claim(sender_id=number.pk, limit=50):
                taken[index].extend(c.id for c in batch)
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            errors.append(exc)
        finally:
            connection.close()

    # when: four claimers race until nothing is left
    threads = [threading.Thread(target=claimer, args=(i,)) for i in range(CLAIMERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    # then: every message was taken once, by exactly one claimer, and all are in flight
    assert errors == []
    counts = Counter(i for ids in taken for i in ids)
    assert len(counts) == 2_000
    assert max(counts.values()) == 1
    assert sum(1 for ids in taken if ids) > 1  # they did race, and the others went on
    assert set(Message.objects.filter(campaign=campaign).values_list("status", flat=True)) == {
        Message.Status.SENDING
    }


def test_a_claim_steps_past_rows_another_claim_holds_and_takes_the_next_ones(
    sandbox_number, contacts, credits, launch
) -> None:
    # given: 200 due messages, the oldest 50 locked by another transaction that stays open
    number = sandbox_number()
    contacts(200)
    credits(200)
    launch([number])
    oldest = list(
        Message.objects.filter(sender=number, status=Message.Status.QUEUED)
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:50]
    )
    locked, release = threading.Event(), threading.Event()

    def holder() -> None:
        try:
            with transaction.atomic():
                list(Message.objects.select_for_update().filter(pk__in=oldest))
                locked.set()
                release.wait(timeout=60)
        finally:
            connection.close()

    thread = threading.Thread(target=holder)
    thread.start()
    assert locked.wait(timeout=30)
    try:
        # when: a claim runs meanwhile (it must neither wait for the lock nor come back empty)
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL statement_timeout = '5s'")
            claimed = dispatch.claim(sender_id=number.pk, limit=50)
    finally:
        release.set()
        thread.join(timeout=30)

    # then: it took the next 50, none of the held ones
    assert len(claimed) == 50
    assert not {c.id for c in claimed} & set(oldest)
