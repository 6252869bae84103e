"""Launch and fan-out: reserve credits for the whole audience first (all or nothing), then write
one Message per recipient with INSERT ... SELECT in bounded chunks (memory flat whatever the
audience; a redelivered task resumes from the cursor kept on the campaign)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.services import audit_record, notify
from billing import services as billing
from core.events import campaign_event, events_publish
from messaging.campaigns.models import Campaign, Message
from messaging.contacts.audience import (
    Audience,
    AudienceCounts,
    audience_clean,
    audience_counts,
    audience_recipients,
)
from messaging.engine import conversations, pacing, windows
from messaging.engine.frequency import within_frequency_cap
from messaging.engine.kick import dispatch_kick
from messaging.numbers.models import Sender

FANOUT_CHUNK = 20_000


def campaign_audience(campaign: Campaign) -> Audience:
    """The campaign's stored audience, validated as it is read (ValidationError if it names a
    key the contract does not know, or a list or segment that is gone)."""
    return audience_clean(workspace=campaign.workspace, data=campaign.audience)


def campaign_audience_counts(*, campaign: Campaign) -> AudienceCounts:
    """Pre-flight figures in one query; `reachable` is what fan-out would queue."""
    return audience_counts(workspace=campaign.workspace, audience=campaign_audience(campaign))


def live_senders(campaign: Campaign) -> list[int]:
    return list(
        campaign.senders.filter(status=Sender.Status.ACTIVE, removed_at__isnull=True)
        .order_by("id")
        .values_list("id", flat=True)
    )


def fanout_chunk(*, campaign_id: int, chunk: int = FANOUT_CHUNK) -> bool:
    """Queue the next chunk of recipients; True while more remain. Each contact sticks to one
    number (its id modulo the campaign's numbers). Never queues more than the launch reserved
    credits for (the count the user confirmed): a larger audience pauses the campaign."""
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign_id)
        if campaign.status != Campaign.Status.LAUNCHING:
            return False
        try:
            audience = campaign_audience(campaign)
        except ValidationError as exc:
            _pause_for_audience(campaign, details={"error": " ".join(exc.messages)})
            return False
        senders = live_senders(campaign)
        room = max(campaign.credits_reserved - campaign.count_queued, 0)
        if room == 0:
            _finish_fanout(campaign, audience)
            return False
        # The workspace's frequency cap leaves out contacts that had their fill (no message,
        # no credit: the launch reserved only for the others).
        qs = (
            within_frequency_cap(
                campaign, audience_recipients(workspace=campaign.workspace, audience=audience)
            )
            .filter(id__gt=campaign.fanout_cursor)
            .values("id", "phone", "time_zone")[: min(chunk, room)]
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
            # The same statement moves the recipients' existing conversations (the team
            # inbox) forward: no statement of its own, no query per message.
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
                    RETURNING workspace_id, sender_id, phone, contact_id, created_at
                ),
                {conversations.fanout_cte(inserted="inserted")}
                SELECT (SELECT max(id) FROM picked), (SELECT count(*) FROM picked),
                       (SELECT count(*) FROM inserted)
                """,  # noqa: S608 - the inner SELECT is Django's own parametrised SQL  # nosec B608 # own table names, values are parameters
                [
                    *params,
                    campaign.workspace_id,
                    campaign.pk,
                    senders,
                    len(senders),
                    *due_params,
                    conversations.preview_of(campaign.name),
                ],
            )
            last_id, picked, inserted = cursor.fetchone()
        if picked:
            campaign.fanout_cursor = last_id
            campaign.count_queued += inserted
            campaign.save(update_fields=["fanout_cursor", "count_queued"])
        if picked and picked == min(chunk, room):
            return True
        _finish_fanout(campaign, audience)
        return False


def _finish_fanout(campaign: Campaign, audience: Audience) -> None:
    """All recipients are queued: give back credits reserved for contacts that vanished or
    opted out while launching, and start sending, unless what was queued differs from the
    count the user confirmed (then the campaign waits, paused, for the user to look)."""
    queued = Message.objects.filter(campaign=campaign).count()
    confirmed = campaign.recipients
    matching_now = within_frequency_cap(
        campaign, audience_recipients(workspace=campaign.workspace, audience=audience)
    ).count()
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
    campaign.save(update_fields=["recipients", "credits_reserved", "count_queued"])
    if queued and (queued != confirmed or matching_now != confirmed):
        _pause_for_audience(
            campaign,
            details={"confirmed": confirmed, "queued": queued, "matching_now": matching_now},
        )
        return
    # A start still ahead: the campaign is scheduled (its messages wait for that moment) and
    # the tick starts it then; shown as running, it looked as if it were sending.
    starts_later = campaign.starts_later
    if not queued:
        campaign.status = Campaign.Status.COMPLETED
    else:
        campaign.status = Campaign.Status.SCHEDULED if starts_later else Campaign.Status.RUNNING
    campaign.status_changed_at = timezone.now()
    if not queued:
        campaign.finished_at = timezone.now()
    campaign.save(update_fields=["status", "status_changed_at", "finished_at"])
    if queued and not starts_later:
        transaction.on_commit(lambda: dispatch_kick(sender_ids=live_senders(campaign)))


def _pause_for_audience(campaign: Campaign, *, details: dict[str, object]) -> None:
    """Fan-out did not queue what the user confirmed: nothing is sent until a person looks
    (resume sends what was queued; cancel releases its credits)."""
    campaign.status = Campaign.Status.PAUSED
    campaign.pause_reason = Campaign.PauseReason.AUDIENCE_CHANGED
    campaign.status_changed_at = timezone.now()
    campaign.save(update_fields=["status", "pause_reason", "status_changed_at"])
    audit_record(
        workspace=campaign.workspace,
        action="campaign.paused",
        actor=None,
        target=campaign,
        details={"reason": Campaign.PauseReason.AUDIENCE_CHANGED, **details},
    )
    if "error" in details:
        text = _("Campaign “%(name)s” was paused before sending: %(error)s") % {
            "name": campaign.name,
            "error": details["error"],
        }
    else:
        text = _(
            "Campaign “%(name)s” was paused before sending: you confirmed %(confirmed)d "
            "recipients, %(queued)d were queued and %(now)d match now. Check the audience, "
            "then resume (sends what was queued) or cancel."
        ) % {
            "name": campaign.name,
            "confirmed": details["confirmed"],
            "queued": details["queued"],
            "now": details["matching_now"],
        }
    notify(
        workspace=campaign.workspace,
        kind="campaign.paused",
        text=text,
        link=reverse(
            "messaging_campaigns:detail", args=[campaign.workspace.slug, campaign.public_id]
        ),
    )
    events_publish(
        workspace_id=campaign.workspace_id, events=[campaign_event("campaign.paused", campaign)]
    )


def reassign_queued(*, campaign_id: int, to_sender_ids: list[int]) -> int:
    """Move a campaign's queued messages that sit on any other number onto `to_sender_ids`
    (each contact sticks to one of them, by id): failover after a ban, or on resume."""
    if not to_sender_ids:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Message._meta.db_table}"  # noqa: S608 - our table name # nosec B608
            " SET sender_id = (%s::bigint[])[1 + (id %% %s)]"
            " WHERE campaign_id = %s AND indexed_status = 'queued' AND NOT (sender_id = ANY(%s))",
            [to_sender_ids, len(to_sender_ids), campaign_id, to_sender_ids],
        )
        moved: int = cursor.rowcount
        return moved
