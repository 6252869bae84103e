"""The periodic tick: settle a dead drainer's expired leases (ambiguous until their status
arrives or the wait is over), resend ambiguous messages no webhook reconciled, expire
campaigns past their deadline, start scheduled campaigns, and make sure every
number with due work has a drainer. A killed worker loses nothing: its leases expire here."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from psycopg.errors import QueryCanceled

from billing import services as billing
from messaging.campaigns.models import MESSAGE_PRIORITIES, Campaign, Message
from messaging.engine import reactions
from messaging.engine.kick import dispatch_kick
from messaging.engine.windows import WINDOW_OPENS_SQL
from messaging.numbers.models import Sender, WebhookEvent

log = logging.getLogger(__name__)


def tick() -> dict[str, int]:
    now = timezone.now()
    expired_leases, interrupted_requeued = _interrupted_sends_settle(now)
    unconfirmed = (
        Message.objects.filter(
            indexed_status=Message.Status.AMBIGUOUS,
            status_changed_at__lt=now - timedelta(seconds=settings.ENGINE_AMBIGUOUS_RESEND_AFTER),
        )
        .exclude(error_kind=INTERRUPTED)
        .update(status=Message.Status.QUEUED, error_kind="", status_changed_at=now)
    )
    expired = 0
    for campaign in Campaign.objects.filter(
        status__in=[Campaign.Status.RUNNING, Campaign.Status.PAUSED], expires_at__lt=now
    ).select_related("workspace"):
        with transaction.atomic():
            dropped = Message.objects.filter(
                campaign=campaign, indexed_status=Message.Status.QUEUED
            ).update(status=Message.Status.EXPIRED, status_changed_at=now)
            Campaign.objects.filter(pk=campaign.pk).update(
                status=Campaign.Status.EXPIRED, status_changed_at=now, finished_at=now
            )
            if dropped:
                billing.credits_release(
                    workspace=campaign.workspace,
                    reference=campaign.credit_reference,
                    amount=dropped,
                    idempotency_key=f"{campaign.credit_reference}:expired",
                )
            reactions.campaigns_refresh(campaign_ids=[campaign.pk])
            expired += 1
    # Counters the hot path skipped (it refreshes each campaign at most once a second),
    # including late webhooks of campaigns that already completed.
    reactions.campaigns_refresh(
        campaign_ids=Campaign.objects.filter(status=Campaign.Status.RUNNING).values_list(
            "pk", flat=True
        )
    )
    reactions.campaigns_refresh_skipped()
    started = 0
    for campaign_id in Campaign.objects.filter(
        status=Campaign.Status.SCHEDULED, scheduled_at__lte=now
    ).values_list("pk", flat=True):
        Campaign.objects.filter(pk=campaign_id, status=Campaign.Status.SCHEDULED).update(
            status=Campaign.Status.RUNNING, status_changed_at=now
        )
        started += 1
    # Per number, one probe of its due index (`message_due`) that stops at the first due
    # message: a DISTINCT over every queued message read them all at each tick (0.47 s every
    # 10 s with 3.6 million queued; this: 0.03 s).
    senders = list(
        Sender.objects.filter(
            Exists(
                Message.objects.filter(
                    sender=OuterRef("pk"),
                    indexed_status=Message.Status.QUEUED,
                    next_attempt_at__lte=now,
                )
            )
        ).values_list("pk", flat=True)
    )
    if senders:
        dispatch_kick(sender_ids=senders)
    return {
        "expired_leases": expired_leases,
        "unconfirmed_requeued": unconfirmed + interrupted_requeued,
        "campaigns_expired": expired,
        "campaigns_started": started,
        "drainers": len(senders),
    }


def oldest_due_age_check() -> dict[str, object]:
    """For /healthz: how long the oldest due message has waited. Stale means no drainer is
    working (workers or beat down), which a user would notice as a stuck campaign.

    Only messages a drainer would send now count: queued and due, of a running campaign (or a
    single message), on a number not waiting for its daily cap (`Sender.capped_until`, a
    database field), and inside the campaign's send window now. A message that waits for a
    cap, a window or a paused campaign is not overdue.

    For each number and priority, the walk goes from its oldest due message (the due index,
    as the claim reads it) and stops at the first one that counts; the oldest of those is the
    answer (a probe per number: 20 numbers with 3.6 million queued in a few ms). Millions queued
    behind a paused campaign could still make a walk long: a health check must answer in time,
    so the query gives up after HEALTHZ_QUERY_TIMEOUT_MS and the check says it could not tell
    (not a failure: the orchestrator must not restart a busy but working product)."""
    table, campaigns, senders = (
        Message._meta.db_table,
        Campaign._meta.db_table,
        Sender._meta.db_table,
    )
    now = timezone.now()
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "SELECT set_config('statement_timeout', %s, true)",
                [str(settings.HEALTHZ_QUERY_TIMEOUT_MS)],
            )
            # Each number's walk in the due index's order, whatever the statistics say.
            cursor.execute("SET LOCAL enable_sort = off")
            cursor.execute(
                f"""
                SELECT min(d.next_attempt_at) FROM {senders} s
                CROSS JOIN unnest(%s::smallint[]) AS p(priority)
                CROSS JOIN LATERAL (
                    SELECT m.next_attempt_at FROM {table} m
                    LEFT JOIN {campaigns} c ON c.id = m.campaign_id
                    LEFT JOIN messaging_contact ct ON ct.id = m.contact_id
                    JOIN accounts_workspace w ON w.id = m.workspace_id
                    WHERE m.sender_id = s.id AND m.indexed_status = 'queued'
                      AND m.priority = p.priority AND m.next_attempt_at <= %s
                      AND (m.campaign_id IS NULL OR c.status = 'running')
                      AND COALESCE({WINDOW_OPENS_SQL}, clock_timestamp()) <= clock_timestamp()
                    ORDER BY m.priority DESC, m.next_attempt_at
                    LIMIT 1
                ) d
                WHERE s.capped_until IS NULL OR s.capped_until <= %s
                """,  # noqa: S608 - table names are our own  # nosec B608 # own table names, values are parameters
                [list(MESSAGE_PRIORITIES), now, now],
            )
            row = cursor.fetchone()
    except OperationalError as exc:
        if not isinstance(exc.__cause__, QueryCanceled):
            raise
        log.warning("oldest due message: no answer within %s ms", settings.HEALTHZ_QUERY_TIMEOUT_MS)
        return {"ok": True, "oldest_due_seconds": None, "timed_out": True}
    if row is None or row[0] is None:
        return {"ok": True, "oldest_due_seconds": 0}
    oldest: datetime = row[0]
    age = (now - oldest).total_seconds()
    return {"ok": age < settings.HEALTHZ_MAX_DUE_AGE_SECONDS, "oldest_due_seconds": round(age, 1)}


#: `error_kind` of a message whose drainer died while it was in flight.
INTERRUPTED = "interrupted"


def _interrupted_sends_settle(now: datetime) -> tuple[int, int]:
    """A dead drainer's leased messages may already be at the gateway (sent, not yet recorded):
    resending them at once is how a crash turns into duplicates. They become ambiguous; a
    status webhook (matched by `biz_opaque_callback_data`) settles them as sent, and those no
    webhook claims go back to the queue once ENGINE_INTERRUPTED_RESEND_AFTER has passed and
    their number has no stored webhook still waiting to be applied (the evidence is read
    before the resend, never after). Returns (leases expired, messages requeued)."""
    expired = Message.objects.filter(
        indexed_status=Message.Status.SENDING, lease_until__lt=now
    ).update(
        status=Message.Status.AMBIGUOUS,
        error_kind=INTERRUPTED,
        lease_until=None,
        status_changed_at=now,
    )
    unapplied = (
        WebhookEvent.objects.filter(state=WebhookEvent.State.RECEIVED, sender_id__isnull=False)
        .order_by()
        .values("sender_id")
    )
    requeued = (
        Message.objects.filter(
            indexed_status=Message.Status.AMBIGUOUS,
            error_kind=INTERRUPTED,
            status_changed_at__lt=now - timedelta(seconds=settings.ENGINE_INTERRUPTED_RESEND_AFTER),
        )
        .exclude(sender_id__in=unapplied)
        .update(status=Message.Status.QUEUED, error_kind="", status_changed_at=now)
    )
    return expired, requeued
