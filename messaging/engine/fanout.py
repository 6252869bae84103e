"""Launch and fan-out: reserve credits for the whole audience first (all or nothing), then write
one Message per recipient with INSERT ... SELECT in bounded chunks (memory flat whatever the
audience; a redelivered task resumes from the cursor kept on the campaign)."""

from __future__ import annotations

from django.db import connection, transaction
from django.utils import timezone

from billing import services as billing
from messaging.engine import pacing, windows
from messaging.models_engine import Campaign, Message
from messaging.models_senders import Sender
from messaging.selectors import contacts_matching, reachable_contacts

FANOUT_CHUNK = 20_000


def audience_counts(*, campaign: Campaign) -> dict[str, int]:
    """Pre-flight figures in one query: matching, opted out, invalid, reachable."""
    from django.db.models import Count, Q

    from messaging.models import WhatsAppStatus

    matching = contacts_matching(workspace=campaign.workspace, filters=campaign.audience)
    figures = matching.order_by().aggregate(
        total=Count("id"),
        opted_out=Count("id", filter=Q(opted_out_at__isnull=False)),
        invalid=Count(
            "id",
            filter=Q(opted_out_at__isnull=True, whatsapp_status=WhatsAppStatus.INVALID),
        ),
    )
    figures["reachable"] = figures["total"] - figures["opted_out"] - figures["invalid"]
    return figures


def live_senders(campaign: Campaign) -> list[int]:
    return list(
        campaign.senders.filter(status=Sender.Status.ACTIVE, removed_at__isnull=True)
        .order_by("id")
        .values_list("id", flat=True)
    )


def fanout_chunk(*, campaign_id: int, chunk: int = FANOUT_CHUNK) -> bool:
    """Queue the next chunk of recipients; True while more remain. Each contact sticks to one
    number (its id modulo the campaign's numbers)."""
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign_id)
        if campaign.status != Campaign.Status.LAUNCHING:
            return False
        senders = live_senders(campaign)
        qs = (
            reachable_contacts(workspace=campaign.workspace, filters=campaign.audience)
            .filter(id__gt=campaign.fanout_cursor)
            .order_by("id")
            .values("id", "phone", "time_zone")[:chunk]
        )
        select_sql, params = qs.query.sql_with_params()
        start_at = max(campaign.scheduled_at or timezone.now(), timezone.now())
        # Each message waits for its recipient's send window (their time zone, else ours).
        window = windows.window_clean(campaign.send_window)
        if window:
            due_sql = "isend_window_next(%s::timestamptz, p.time_zone, %s, %s, %s, %s::int[])"
            due_params = [start_at, campaign.workspace.time_zone, *windows.window_sql_args(window)]
        else:
            due_sql, due_params = "%s", [start_at]
        with connection.cursor() as cursor:
            # Safe: the chunk and its cursor commit together (losing both on a crash just
            # means the chunk is written again), and a second run of the task waits on the
            # campaign's row lock, then starts after the cursor. No ON CONFLICT clause: its
            # speculative insertion doubled the cost of every row, and the unique
            # (campaign, contact) constraint still refuses any path that would queue twice.
            cursor.execute("SET LOCAL synchronous_commit = off")
            cursor.execute(
                f"""
                WITH picked AS ({select_sql}),
                inserted AS (
                    INSERT INTO {Message._meta.db_table}
                        (public_id, workspace_id, campaign_id, contact_id, sender_id, phone, body,
                         status, priority, attempts, next_attempt_at, provider_message_id,
                         error_kind, error_title, created_at, status_changed_at)
                    SELECT gen_random_uuid(), %s, %s, p.id,
                           (%s::bigint[])[1 + (p.id %% %s)], p.phone, '',
                           'queued', 0, 0, {due_sql}, '', '', '', now(), now()
                    FROM picked p
                    RETURNING 1
                )
                SELECT (SELECT max(id) FROM picked), (SELECT count(*) FROM picked),
                       (SELECT count(*) FROM inserted)
                """,  # noqa: S608 - the inner SELECT is Django's own parametrised SQL
                [*params, campaign.workspace_id, campaign.pk, senders, len(senders), *due_params],
            )
            last_id, picked, inserted = cursor.fetchone()
        if picked:
            campaign.fanout_cursor = last_id
            campaign.count_queued += inserted
            campaign.save(update_fields=["fanout_cursor", "count_queued"])
        if picked == chunk:
            return True
        _finish_fanout(campaign)
        return False


def _finish_fanout(campaign: Campaign) -> None:
    """All recipients are queued: give back credits reserved for contacts that vanished or
    opted out while launching, and start sending."""
    queued = Message.objects.filter(campaign=campaign).count()
    surplus = campaign.credits_reserved - queued
    if surplus > 0:
        billing.credits_release(
            workspace=campaign.workspace,
            reference=campaign.credit_reference,
            amount=surplus,
            idempotency_key=f"{campaign.credit_reference}:fanout-surplus",
        )
    if queued and campaign.pacing:
        pacing.respace_queued(
            campaign_id=campaign.pk,
            pace=campaign.pacing,
            window=windows.window_clean(campaign.send_window),
            start=campaign.scheduled_at or timezone.now(),
        )
    campaign.recipients = queued
    campaign.credits_reserved = queued
    campaign.count_queued = queued
    campaign.status = Campaign.Status.RUNNING if queued else Campaign.Status.COMPLETED
    campaign.status_changed_at = timezone.now()
    if not queued:
        campaign.finished_at = timezone.now()
    campaign.save(
        update_fields=[
            "recipients",
            "credits_reserved",
            "count_queued",
            "status",
            "status_changed_at",
            "finished_at",
        ]
    )
    if queued:
        from messaging.tasks_engine import dispatch_kick

        transaction.on_commit(lambda: dispatch_kick(sender_ids=live_senders(campaign)))


def reassign_queued(*, campaign_id: int, to_sender_ids: list[int]) -> int:
    """Move a campaign's queued messages that sit on any other number onto `to_sender_ids`
    (each contact sticks to one of them, by id): failover after a ban, or on resume."""
    if not to_sender_ids:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Message._meta.db_table}"  # noqa: S608 - our table name
            " SET sender_id = (%s::bigint[])[1 + (id %% %s)]"
            " WHERE campaign_id = %s AND status = 'queued' AND NOT (sender_id = ANY(%s))",
            [to_sender_ids, len(to_sender_ids), campaign_id, to_sender_ids],
        )
        return cursor.rowcount
