from django.db import migrations

from messaging.engine.stats import trigger_sql


class Migration(migrations.Migration):
    dependencies = [("messaging", "0030_webhook_event_parsed_copy_dropped")]

    # Same figures, computed only for the events a message has had (CREATE OR REPLACE): the
    # triggers computed all seven events' counters for every row, then dropped the empty ones.
    operations = [migrations.RunSQL(trigger_sql(), migrations.RunSQL.noop)]
