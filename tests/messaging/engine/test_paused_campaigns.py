"""A paused campaign's queue costs the engine nothing: its messages stay queued and due, and
no claim, no "more to do?" and no tick reads them.

A number's due messages were read as one walk over (number, priority, due time) with "campaign
running" as a filter. A number shared by a paused campaign and a running one read every due
message of the paused one at each claim; and a number whose only queued messages were a
paused campaign's made its drainer claim nothing, see due messages, and re-queue itself at
once, forever (and the tick kicked it again every ten seconds)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from messaging.campaigns import services as campaigns
from messaging.campaigns.models import PRIORITY_TRANSACTIONAL, Message
from messaging.engine import dispatch, recovery
from tests.messaging.engine.test_engine_at_scale import (
    _claim_and_plan,
    assert_queue_read_at_most,
)

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_number_whose_only_work_is_a_paused_campaign_leaves_its_drainer_idle(
    workspace, owner, sandbox_number, contacts, credits, launch, monkeypatch
) -> None:
    # given: a campaign paused with all its messages queued and due on its number
    contacts(20)
    credits(20)
    number = sandbox_number()
    campaign = launch([number])
    campaigns.campaign_pause(workspace=workspace, campaign=campaign, actor=owner)
    kicked: list[list[int]] = []
    monkeypatch.setattr(recovery, "dispatch_kick", lambda *, sender_ids: kicked.append(sender_ids))

    # when: a drainer runs on the number, and the tick looks for numbers with work
    result = dispatch.drain(sender_id=number.pk, slice_seconds=1.0)
    recovery.tick()

    # then: nothing is taken, the drainer does not re-queue itself, the tick kicks nobody,
    # and /healthz does not count the paused messages as overdue
    assert (result.claimed, result.more) == (0, False)
    assert kicked == []
    assert recovery.oldest_due_age_check()["oldest_due_seconds"] == 0
    assert Message.objects.filter(campaign=campaign, status="queued").count() == 20

    # and: once resumed, the tick kicks the number and its drainer has work
    campaigns.campaign_resume(workspace=workspace, campaign=campaign, actor=owner)
    recovery.tick()
    assert kicked == [[number.pk]]
    assert dispatch.drain(sender_id=number.pk, slice_seconds=1.0).claimed > 0


def test_a_claim_on_a_number_shared_with_a_paused_campaign_reads_only_the_running_one(
    workspace, owner, sandbox_number, contacts, credits, launch
) -> None:
    # given: a number with 3,000 due messages of a paused campaign, queued before those of a
    # running campaign on the same number, and up-to-date statistics
    number = sandbox_number()
    contacts(3_000)
    credits(6_000)
    paused = launch([number], name="Paused")
    campaigns.campaign_pause(workspace=workspace, campaign=paused, actor=owner)
    running = launch([number], name="Running")
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Message._meta.db_table}")

    # when: the drainer claims a batch
    claimed, nodes = _claim_and_plan(number, limit=100)

    # then: the batch is the running campaign's, and no read of the queue went past a batch
    assert len(claimed) == 100
    assert {c.campaign_id for c in claimed} == {running.pk}
    assert_queue_read_at_most(nodes, 100)
    assert Message.objects.filter(campaign=paused, status="queued").count() == 3_000


def test_a_claim_takes_single_sends_first_then_the_oldest_due_across_running_campaigns(
    workspace, sandbox_number, contacts, credits, launch
) -> None:
    # given: two running campaigns on one number, the second one's messages due earlier, and a
    # single send due last of all
    number = sandbox_number()
    contacts(30)
    credits(100)
    first = launch([number], name="First")
    second = launch([number], name="Second")
    now = timezone.now()
    Message.objects.filter(campaign=first).update(next_attempt_at=now - timedelta(seconds=10))
    Message.objects.filter(campaign=second).update(next_attempt_at=now - timedelta(seconds=20))
    single = Message.objects.create(
        workspace=workspace,
        sender=number,
        phone="+994501234567",
        body="Your code is 1234",
        priority=PRIORITY_TRANSACTIONAL,
        next_attempt_at=now - timedelta(seconds=1),
    )

    # when: the drainer claims 31 messages
    claimed = dispatch.claim(sender_id=number.pk, limit=31)

    # then: the single send and the second campaign's 30 (due first): priority, then due time
    assert {c.id for c in claimed} == {single.pk} | set(
        Message.objects.filter(campaign=second).values_list("pk", flat=True)
    )
