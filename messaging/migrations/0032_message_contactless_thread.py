"""A conversation with a number that is no contact lists its messages on this index (the
thread page scanned the message table). Built concurrently: a plain CREATE INDEX would block
sends while it builds."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("messaging", "0031_message_stats_triggers_event_first")]

    operations = [
        AddIndexConcurrently(
            model_name="message",
            index=models.Index(
                condition=models.Q(("contact__isnull", True)),
                fields=["sender", "phone", "-id"],
                name="message_contactless_thread",
            ),
        ),
    ]
