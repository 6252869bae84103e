"""A drainer's claim reads its batch, not the number's whole queue, even before Postgres's
statistics have seen the fan-out that filled it.

A new campaign's messages are queued by the thousand at once; until ANALYZE runs (autovacuum
does it later, and not at all on a server where it is off) the planner believes the number has
a few queued messages. It then joined all of them by hash and sorted them to take the batch:
every claim read the whole queue (330 ms a claim with 100,000 queued)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from messaging.campaigns.models import Message
from messaging.engine import dispatch

pytestmark = pytest.mark.django_db(transaction=True)


def _plan_nodes(plan: dict) -> list[dict]:
    return [plan, *(node for child in plan.get("Plans", []) for node in _plan_nodes(child))]


def _claim_and_plan(number, *, limit: int) -> tuple[list, list[dict]]:
    """Read the plan of the very statement a claim runs (the claim made once and rolled back,
    its statement replayed with its settings and rolled back), then claim."""
    with transaction.atomic(), CaptureQueriesContext(connection) as captured:
        dispatch.claim(sender_id=number.pk, limit=limit)
        transaction.set_rollback(True)
    statement = next(q["sql"] for q in captured if "WITH due AS" in q["sql"])
    setup = [q["sql"] for q in captured if q["sql"].startswith("SET ")]
    with transaction.atomic(), connection.cursor() as cursor:
        for line in setup:
            cursor.execute(line)
        cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {statement}")
        plan = cursor.fetchone()[0][0]["Plan"]
        transaction.set_rollback(True)
    return dispatch.claim(sender_id=number.pk, limit=limit), _plan_nodes(plan)


def _queue_reads(nodes: list[dict]) -> list[int]:
    """Rows each scan of the message table read: those it returned and those it dropped."""
    return [
        node.get("Actual Rows", 0) * node.get("Actual Loops", 1)
        + node.get("Rows Removed by Filter", 0)
        for node in nodes
        if node.get("Relation Name") == Message._meta.db_table and "Scan" in node["Node Type"]
    ]


def test_a_claim_reads_its_batch_even_before_the_statistics_see_the_queue(
    sandbox_number, contacts, credits, launch
) -> None:
    number = sandbox_number()
    contacts(3_000)
    credits(3_000)
    # The number's history (sent long ago), then the statistics: they see no queued message.
    Message.objects.bulk_create(
        Message(
            workspace_id=number.workspace_id,
            sender=number,
            phone=f"+99455{i:07d}",
            body="Earlier",
            status=Message.Status.DELIVERED,
        )
        for i in range(20_000)
    )
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Message._meta.db_table}")
    campaign = launch([number])
    assert Message.objects.filter(campaign=campaign, status="queued").count() == 3_000

    claimed, nodes = _claim_and_plan(number, limit=100)
    assert len(claimed) == 100
    queue_reads = _queue_reads(nodes)
    assert queue_reads, nodes
    assert max(queue_reads) <= 100, nodes


def test_a_claim_of_a_paced_campaign_reads_what_is_due_not_what_is_queued_for_later(
    sandbox_number, contacts, credits, launch
) -> None:
    """A paced campaign (one message a second, say) has its messages spread over hours: at
    any moment a few are due and the rest wait. The claim asked for a batch and, finding
    fewer due, read every message queued for later on its way (100-170 ms a claim with
    100,000 queued)."""
    number = sandbox_number()
    contacts(3_000)
    credits(3_000)
    campaign = launch([number])
    queued = list(
        Message.objects.filter(campaign=campaign).order_by("pk").values_list("pk", flat=True)
    )
    now = timezone.now()
    Message.objects.filter(pk__in=queued[:20]).update(next_attempt_at=now - timedelta(seconds=5))
    Message.objects.filter(pk__in=queued[20:]).update(next_attempt_at=now + timedelta(hours=1))
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Message._meta.db_table}")  # statistics up to date this time

    claimed, nodes = _claim_and_plan(number, limit=100)

    assert sorted(c.id for c in claimed) == queued[:20]
    queue_reads = _queue_reads(nodes)
    assert queue_reads, nodes
    assert max(queue_reads) <= 100, nodes
