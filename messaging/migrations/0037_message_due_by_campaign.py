"""The due index gains the campaign after the number: (number, campaign, priority, due time),
queued messages only. The drainer reads each running campaign's due range on its own and skips
a paused campaign's queue (`messaging.engine.due`); over (number, priority, due time) every
claim read a paused campaign's due messages to reach a running one's, and a number with only
paused work made its drainer re-queue itself forever. The new index is built before the old
one goes, both concurrently: a plain CREATE or DROP INDEX would block sends."""

from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("messaging", "0036_message_due_oldest_dropped")]

    operations = [
        AddIndexConcurrently(
            model_name="message",
            index=models.Index(
                condition=models.Q(("indexed_status", "queued")),
                fields=["sender", "campaign", "-priority", "next_attempt_at"],
                name="message_due_by_campaign",
            ),
        ),
        RemoveIndexConcurrently(model_name="message", name="message_due"),
    ]
