"""Campaigns count the messages accepted and not failed afterwards. A message WhatsApp accepted
and then reported failed was in both `count_accepted` and `count_failed`, so a campaign's "done"
(and its progress) counted it twice: a finished campaign with failures showed 106%, and the
error-rate breaker divided by too much. Existing campaigns get the figure from the per-day
statistics, where it already is."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("messaging", "0038_message_workspace_log")]

    operations = [
        migrations.AddField(
            model_name="campaign",
            name="count_credits_used",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.RunSQL(
            """
            UPDATE messaging_campaign c SET count_credits_used = s.used
            FROM (
                SELECT campaign_id, SUM(credits_used) AS used FROM messaging_messagestat
                WHERE campaign_id IS NOT NULL GROUP BY campaign_id
            ) s
            WHERE s.campaign_id = c.id
            """,
            reverse_sql=migrations.RunSQL.noop,
        ),
    ]
