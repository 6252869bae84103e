from django.db import migrations

from messaging.engine.stats import trigger_sql


class Migration(migrations.Migration):
    dependencies = [("messaging", "0022_campaign_pause_reason_workspace_suspended")]

    # Same triggers with JIT off inside them (CREATE OR REPLACE): JIT compiled every status
    # update's grouping, seconds per statement, because transition tables look huge to the planner.
    operations = [migrations.RunSQL(trigger_sql(), migrations.RunSQL.noop)]
