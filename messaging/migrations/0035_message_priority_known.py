"""Only the priorities the drainer's claim walks (`MESSAGE_PRIORITIES`): the claim now reads the
due messages of each priority in turn, so a message of any other priority would never be sent.
Added NOT VALID and then validated: a plain ADD CONSTRAINT scans the table under an exclusive
lock (sends blocked meanwhile); VALIDATE scans it under a lock that lets writes go on."""

from django.db import migrations, models

SQL = (
    "ALTER TABLE messaging_message ADD CONSTRAINT message_priority_known "
    "CHECK (priority IN (10, 0)) NOT VALID; "
    "ALTER TABLE messaging_message VALIDATE CONSTRAINT message_priority_known"
)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("messaging", "0034_webhook_event_waiting")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddConstraint(
                    model_name="message",
                    constraint=models.CheckConstraint(
                        condition=models.Q(("priority__in", (10, 0))),
                        name="message_priority_known",
                    ),
                )
            ],
            database_operations=[
                migrations.RunSQL(
                    SQL,
                    reverse_sql="ALTER TABLE messaging_message "
                    "DROP CONSTRAINT message_priority_known",
                )
            ],
        )
    ]
