"""Campaign counters never go backwards (found by tests/reliability/test_processes.py: a campaign
completed with count_accepted 263 of 300). A refresh (the tick's) that read the per-day sums
while the drainer's record of the last batch was still open used to wait for the campaign's row
lock and then write its older figures over the ones the record had just written; the completed
campaign kept them. The refresh now locks the campaign before it reads the sums."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, transaction

from messaging.campaigns.models import Campaign
from messaging.engine import dispatch, reactions
from messaging.gateways.base import Outcome

pytestmark = pytest.mark.django_db(transaction=True)


def _waiting_for_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        return bool(cursor.fetchone()[0])


def test_a_refresh_racing_the_last_batch_does_not_write_older_counters(
    sandbox_number, contacts, credits, launch
) -> None:
    # given: a 3-message campaign whose messages a drainer has claimed and sent
    contacts(3)
    credits(3)
    number = sandbox_number()
    campaign = launch([number])
    claimed = dispatch.claim(sender_id=number.pk, limit=10)
    assert len(claimed) == 3
    recorded, commit = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def drainer() -> None:
        """Records the batch (the campaign completes inside) and holds the commit."""
        try:
            with transaction.atomic():
                dispatch.record(
                    sender=number,
                    sent=claimed,
                    outcomes=[Outcome.accepted(str(c.public_id), f"wamid.{c.id}") for c in claimed],
                    bodies={c.id: "Hi" for c in claimed},
                    skipped=[],
                    result=dispatch.DrainResult(),
                )
                recorded.set()
                commit.wait(timeout=30)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
            recorded.set()
        finally:
            connection.close()

    def tick() -> None:
        """The periodic refresh of the same campaign, meanwhile."""
        try:
            reactions.campaigns_refresh(campaign_ids=[campaign.pk])
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    first = threading.Thread(target=drainer)
    first.start()
    assert recorded.wait(timeout=30)
    second = threading.Thread(target=tick)
    second.start()
    deadline = time.monotonic() + 30
    while not _waiting_for_a_lock():  # the tick's refresh waits for the campaign's lock
        assert time.monotonic() < deadline, "the refresh never waited for the record"
        time.sleep(0.02)

    # when: the record commits, then the waiting refresh goes on
    commit.set()
    first.join(timeout=30)
    second.join(timeout=30)

    # then: the campaign keeps the figures of its last batch
    assert errors == []
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.COMPLETED
    assert (campaign.count_queued, campaign.count_accepted) == (0, 3)
