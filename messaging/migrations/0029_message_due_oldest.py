"""/healthz's oldest due message walks this index from the oldest queued message. Built
concurrently: the message table is the largest, and a plain CREATE INDEX would block sends
while it builds."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("accounts", "0011_membership_inbox_numbers"),
        ("messaging", "0028_number_pace_restoration"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="message",
            index=models.Index(
                condition=models.Q(("status", "queued")),
                fields=["next_attempt_at"],
                name="message_due_oldest",
            ),
        ),
    ]
