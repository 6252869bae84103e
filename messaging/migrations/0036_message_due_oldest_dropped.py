"""`message_due_oldest` (queued messages by due time, for /healthz) goes: /healthz now probes
each number's due index, as the claim reads it. While it existed the planner could serve the
claim's per-priority walks with it (every due message of every number in time order, filtered
by number) when its statistics had not seen the queue yet; and each queued message wrote one
more index entry. Dropped concurrently: a plain DROP INDEX would block sends."""

from django.contrib.postgres.operations import RemoveIndexConcurrently
from django.db import migrations


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("messaging", "0035_message_priority_known")]

    operations = [RemoveIndexConcurrently(model_name="message", name="message_due_oldest")]
