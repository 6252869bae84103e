"""The message log reads its page, not the table. It lists a workspace's messages newest
first; with only an index on the workspace the planner walked the whole table's ids from the
newest down, past every newer message of every other workspace (241 ms at 340,000 messages
for a workspace whose messages were older), or read all of the workspace's and sorted them."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from messaging.campaigns.models import Message
from tests.plans import explain_analyze

pytestmark = pytest.mark.django_db


def _messages(workspace, number, count: int, *, prefix: str, failed_every: int = 0) -> None:
    Message.objects.bulk_create(
        Message(
            workspace=workspace,
            sender=number,
            phone=f"+99455{prefix}{i:05d}",
            body="Hello",
            status="failed" if failed_every and i % failed_every == 0 else "delivered",
        )
        for i in range(count)
    )


def _log_reads(client, workspace, **filters) -> tuple[int, list[int]]:
    """Rows shown, and what each scan of the message table read for the page's statement."""
    with CaptureQueriesContext(connection) as captured:
        page = client.get(reverse("messaging_campaigns:messages", args=[workspace.slug]), filters)
    assert page.status_code == 200
    statement = next(
        q["sql"]
        for q in captured
        if f'FROM "{Message._meta.db_table}"' in q["sql"] and "ORDER BY" in q["sql"]
    )
    reads = [
        node.get("Actual Rows", 0) * node.get("Actual Loops", 1)
        + node.get("Rows Removed by Filter", 0)
        for node in explain_analyze(statement)
        if node.get("Relation Name") == Message._meta.db_table and "Scan" in node["Node Type"]
    ]
    return page.content.decode().count('data-testid="message-row"'), reads


def test_the_message_log_reads_its_workspaces_messages_not_every_newer_one(
    member_client, workspace, other_workspace, sandbox_number
) -> None:
    number = sandbox_number()
    _messages(workspace, number, 300, prefix="1", failed_every=30)
    # Another workspace's messages, all newer (the number's id only fills the column).
    _messages(other_workspace, number, 6_000, prefix="2")
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Message._meta.db_table}")

    shown, reads = _log_reads(member_client, workspace)
    assert shown == 50
    assert reads
    assert max(reads) <= 51, reads

    shown, reads = _log_reads(member_client, workspace, status="failed")
    assert shown == 10
    assert reads
    assert max(reads) <= 300, reads

    shown, reads = _log_reads(member_client, workspace, phone="5510001")
    assert shown == 10
    assert reads
    assert max(reads) <= 300, reads
