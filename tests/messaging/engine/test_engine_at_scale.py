"""The drainer's claim and record read their batch, not the number's whole queue nor every
message sent, even while Postgres's statistics have not seen them yet.

A new campaign's messages are queued by the thousand at once, and a first campaign sends the
first messages a database ever had; until ANALYZE runs (autovacuum does it later, and not at
all on a server where it is off) the planner believes there are a few. The claim then joined
every queued message by hash and sorted them to take its batch (330 ms a claim with 100,000
queued), and the record ran the batch's arrays once per message already sent (5-8 s a batch)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.queries import binary_array_cursor
from messaging.campaigns.models import Message
from messaging.engine import dispatch, recovery
from tests.plans import explain_analyze, plan_nodes

pytestmark = pytest.mark.django_db(transaction=True)


def _history_then_statistics(number, count: int, *, status: str) -> None:
    """`count` earlier single sends of `number` in `status`, then ANALYZE: the statistics the
    planner will believe until the next one."""
    Message.objects.bulk_create(
        Message(
            workspace_id=number.workspace_id,
            sender=number,
            phone=f"+99455{i:07d}",
            body="Earlier",
            status=status,
        )
        for i in range(count)
    )
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Message._meta.db_table}")


def _claim_and_plan(number, *, limit: int) -> tuple[list, list[dict]]:
    """Read the plan of the very statement a claim runs (the claim made once and rolled back,
    its statement replayed with its settings and rolled back), then claim."""
    with transaction.atomic(), CaptureQueriesContext(connection) as captured:
        dispatch.claim(sender_id=number.pk, limit=limit)
        transaction.set_rollback(True)
    statement = next(q["sql"] for q in captured if "WITH due AS" in q["sql"])
    setup = tuple(q["sql"] for q in captured if q["sql"].startswith("SET "))
    nodes = explain_analyze(statement, setup=setup)
    return dispatch.claim(sender_id=number.pk, limit=limit), nodes


def _queue_reads(nodes: list[dict]) -> list[int]:
    """Rows each scan of the message table read: those it returned and those it dropped."""
    return [
        node.get("Actual Rows", 0) * node.get("Actual Loops", 1)
        + node.get("Rows Removed by Filter", 0)
        for node in nodes
        if node.get("Relation Name") == Message._meta.db_table and "Scan" in node["Node Type"]
    ]


def assert_queue_read_at_most(nodes: list[dict], rows: int) -> None:
    """Some scan of the message table ran, and none read more than `rows` rows."""
    queue_reads = _queue_reads(nodes)
    assert queue_reads, nodes
    assert max(queue_reads) <= rows, nodes


def test_a_claim_reads_its_batch_even_before_the_statistics_see_the_queue(
    sandbox_number, contacts, credits, launch
) -> None:
    number = sandbox_number()
    contacts(3_000)
    credits(3_000)
    # The number's history (sent long ago), then the statistics: they see no queued message.
    _history_then_statistics(number, 20_000, status=Message.Status.DELIVERED)
    campaign = launch([number])
    assert Message.objects.filter(campaign=campaign, status="queued").count() == 3_000

    claimed, nodes = _claim_and_plan(number, limit=100)
    assert len(claimed) == 100
    assert_queue_read_at_most(nodes, 100)


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
    assert_queue_read_at_most(nodes, 100)


def test_a_batchs_record_runs_its_arrays_once_even_before_the_statistics_see_a_message_sent(
    sandbox_number, contacts, credits, launch
) -> None:
    """The record of a batch wrote its outcomes in one statement that also filtered on the
    status. While the statistics had seen no message sent (a fresh database's first campaign,
    or one ANALYZE had not visited since a fan-out), the planner took the sent messages as the
    outer side and ran the batch's arrays once for each of them: 5-8 s a batch of 500 at 20,000
    messages, with the batch's rows locked meanwhile."""
    number = sandbox_number()
    contacts(3_000)
    credits(3_000)
    campaign = launch([number])
    # The number's earlier single sends, none of them sent, then the statistics.
    _history_then_statistics(number, 17_000, status=Message.Status.FAILED)
    ids = list(
        Message.objects.filter(campaign=campaign).order_by("pk").values_list("pk", flat=True)
    )
    Message.objects.filter(pk__in=ids[:2_000]).update(status="delivered")
    batch = ids[2_000:2_500]
    Message.objects.filter(pk__in=batch).update(status="sending")
    now = timezone.now()
    params = [
        batch,
        ["accepted"] * len(batch),
        [f"wamid.record-{i}" for i in batch],
        [""] * len(batch),
        [None] * len(batch),
        [""] * len(batch),
        [now] * len(batch),
        [""] * len(batch),
    ]

    with transaction.atomic(), binary_array_cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {dispatch.OUTCOMES_SQL}", params)
        nodes = plan_nodes(cursor.fetchone()[0][0]["Plan"])
        transaction.set_rollback(True)

    assert nodes[1]["Actual Rows"] == len(batch), nodes
    arrays = [node for node in nodes if node["Node Type"] == "Function Scan"]
    assert arrays, nodes
    assert all(node["Actual Loops"] == 1 for node in arrays), nodes


def test_the_ticks_probe_reads_no_queue_even_when_one_number_holds_every_message(
    sandbox_number, contacts, credits, launch
) -> None:
    """The tick asks each number whether a claim would find something (a probe of the due
    index per number, campaign and priority). With statistics that saw one number hold every
    message, no probe may read the busy number's queue, least of all the idle number's."""
    busy, idle = sandbox_number(), sandbox_number()
    contacts(3_000)
    credits(3_000)
    launch([busy])
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Message._meta.db_table}")

    with CaptureQueriesContext(connection) as captured:
        kicked = recovery._senders_with_work_due(timezone.now())  # noqa: SLF001
    statement = next(q["sql"] for q in captured if "WITH RECURSIVE" in q["sql"])
    nodes = explain_analyze(statement, setup=("SET LOCAL enable_sort = off",))

    assert busy.pk in kicked
    assert idle.pk not in kicked
    assert_queue_read_at_most(nodes, 10)


def test_a_batchs_record_asks_whether_its_campaign_is_finished_without_reading_its_queue(
    sandbox_number, contacts, credits, launch
) -> None:
    """At every batch the record asks whether the batch's campaigns still have open messages
    (a finished one is completed at once). Asked of the messages, that walked every queued
    message of the campaign at every batch: 24 ms a batch at 60,000 queued, growing with the
    campaign (quadratic over its whole run)."""
    number = sandbox_number()
    contacts(3_000)
    credits(3_000)
    campaign = launch([number])
    claimed = dispatch.claim(sender_id=number.pk, limit=100)

    with CaptureQueriesContext(connection) as captured:
        dispatch._campaigns_refresh(items=claimed)  # noqa: SLF001
    reads = [
        read
        for q in captured
        if q["sql"].startswith("SELECT") and "FOR UPDATE" not in q["sql"]
        for read in _queue_reads(explain_analyze(q["sql"]))
    ]

    assert all(read <= 100 for read in reads), reads
    campaign.refresh_from_db()
    assert campaign.status == campaign.Status.RUNNING
    assert campaign.count_queued == 3_000
