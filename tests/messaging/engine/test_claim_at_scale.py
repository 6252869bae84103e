"""A drainer's claim reads its batch, not the number's whole queue, even before Postgres's
statistics have seen the fan-out that filled it.

A new campaign's messages are queued by the thousand at once; until ANALYZE runs (autovacuum
does it later, and not at all on a server where it is off) the planner believes the number has
a few queued messages. It then joined all of them by hash and sorted them to take the batch:
every claim read the whole queue (330 ms a claim with 100,000 queued)."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from messaging.campaigns.models import Message
from messaging.engine import dispatch

pytestmark = pytest.mark.django_db(transaction=True)


def _plan_nodes(plan: dict) -> list[dict]:
    return [plan, *(node for child in plan.get("Plans", []) for node in _plan_nodes(child))]


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

    with CaptureQueriesContext(connection) as captured:
        claimed = dispatch.claim(sender_id=number.pk, limit=100)
    assert len(claimed) == 100
    statement = next(q["sql"] for q in captured if "WITH due AS" in q["sql"])
    setup = [q["sql"] for q in captured if q["sql"].startswith("SET ")]

    with transaction.atomic(), connection.cursor() as cursor:
        for line in setup:
            cursor.execute(line)
        cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {statement}")
        plan = cursor.fetchone()[0][0]["Plan"]
        transaction.set_rollback(True)

    nodes = _plan_nodes(plan)
    queue_reads = [
        node.get("Actual Rows", 0) + node.get("Rows Removed by Filter", 0)
        for node in nodes
        if node.get("Relation Name") == Message._meta.db_table and "Scan" in node["Node Type"]
    ]
    assert queue_reads, plan
    assert max(queue_reads) <= 100, plan
    assert "Sort" not in {node["Node Type"] for node in nodes}, plan
