"""Backfill the team inbox: one conversation per (number, phone) where the contact wrote or
was written to alone (a campaign alone starts no conversation, as after this migration), with
its last message, campaigns included, as the preview. One statement per number (batched: a large
workspace's numbers are done one at a time, each in its own statement). Existing replies count
as read: the inbox starts with no unread backlog."""

from django.db import migrations

BACKFILL = """
WITH outgoing AS (
    SELECT DISTINCT ON (m.phone) m.workspace_id, m.phone, m.contact_id,
           m.created_at AS at,
           CASE WHEN m.campaign_id IS NULL THEN 'out' ELSE 'campaign' END AS kind,
           CASE WHEN m.campaign_id IS NULL THEN m.body
                ELSE COALESCE((SELECT c.name FROM messaging_campaign c
                               WHERE c.id = m.campaign_id), '') END AS preview
    FROM messaging_message m
    WHERE m.sender_id = %(sender)s
    ORDER BY m.phone, m.id DESC
),
incoming AS (
    SELECT DISTINCT ON (i.phone) i.workspace_id, i.phone, i.contact_id, i.received_at AS at,
           'in' AS kind, i.text AS preview
    FROM messaging_inboundmessage i
    WHERE i.sender_id = %(sender)s
    ORDER BY i.phone, i.received_at DESC
),
single AS (
    SELECT DISTINCT m.phone FROM messaging_message m
    WHERE m.sender_id = %(sender)s AND m.campaign_id IS NULL
),
latest AS (
    SELECT DISTINCT ON (phone) * FROM (SELECT * FROM outgoing UNION ALL SELECT * FROM incoming) b
    ORDER BY phone, at DESC
)
INSERT INTO messaging_conversation
    (public_id, workspace_id, sender_id, phone, contact_id, status, labels, last_message_at,
     last_kind, last_preview, last_inbound_at, unread_count, created_at, updated_at)
SELECT gen_random_uuid(), l.workspace_id, %(sender)s, l.phone,
       COALESCE(l.contact_id, (SELECT o.contact_id FROM outgoing o WHERE o.phone = l.phone)),
       'open', '{}', l.at, l.kind, left(regexp_replace(l.preview, '\\s+', ' ', 'g'), 160),
       (SELECT i.at FROM incoming i WHERE i.phone = l.phone), 0, now(), now()
FROM latest l
WHERE l.phone IN (SELECT phone FROM incoming) OR l.phone IN (SELECT phone FROM single)
ON CONFLICT (sender_id, phone) DO NOTHING
"""


def backfill(apps, schema_editor):
    Sender = apps.get_model("messaging", "Sender")
    with schema_editor.connection.cursor() as cursor:
        for sender_id in Sender.objects.order_by("id").values_list("id", flat=True).iterator():
            cursor.execute(BACKFILL, {"sender": sender_id})


class Migration(migrations.Migration):
    dependencies = [("messaging", "0026_inbox_conversations")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
