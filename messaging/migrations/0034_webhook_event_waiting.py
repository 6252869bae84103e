"""The webhook drain's claim (`... WHERE state = 'received' AND attempts = 0 ORDER BY id LIMIT
n`) had only a partial index on `received_at` to serve it, so every plan the planner could pick
read more than the batch:
- a bitmap scan of that index, then a sort: every waiting event (the whole backlog) and every
  applied one VACUUM has not removed yet, at each claim; a bitmap scan never marks the entries
  of applied events dead, so it pays for them again and again;
- with statistics that see a backlog, a walk of the primary key past every applied event (the
  table's history, which retention keeps for months): 104-114 ms a claim at 200,000 applied
  events.
Draining a backlog was quadratic: `bench/webhook_backlog.py`, a claim's p50 13 ms at 60,000
waiting bodies and 29 ms (p95 56 ms) at 120,000.

An index keyed on the id, over waiting events only, and an ordered scan of it (the claim turns
bitmap scans off for its own statement) read from the oldest waiting event and stop after the
batch, marking applied events' entries dead as they pass them: 4-5 ms at either backlog. The
sweep and the engine tick's "still waiting for this number" question read it too.

The table's autovacuum runs at 1% of changed rows instead of 20%, as the message table's does:
applied events keep entries in this index until VACUUM, and at 20% of a table kept for months
that is millions of entries each claim steps over.

Built concurrently: a plain CREATE INDEX would block the webhook receiver while it builds."""

from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("messaging", "0033_message_indexed_status")]

    operations = [
        AddIndexConcurrently(
            model_name="webhookevent",
            index=models.Index(
                condition=models.Q(("state", "received")),
                fields=["id"],
                name="webhook_event_waiting",
            ),
        ),
        RemoveIndexConcurrently(model_name="webhookevent", name="webhook_event_due"),
        migrations.RunSQL(
            "ALTER TABLE messaging_webhookevent SET (autovacuum_vacuum_scale_factor = 0.01, "
            "autovacuum_analyze_scale_factor = 0.02)",
            reverse_sql="ALTER TABLE messaging_webhookevent RESET "
            "(autovacuum_vacuum_scale_factor, autovacuum_analyze_scale_factor)",
        ),
    ]
