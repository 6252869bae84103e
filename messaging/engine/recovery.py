"""The periodic tick: settle a dead drainer's expired leases (ambiguous until their status
arrives or the wait is over), resend ambiguous messages no webhook reconciled, expire
campaigns past their deadline, start scheduled campaigns, and make sure every
number with due work has a drainer. A killed worker loses nothing: its leases expire here."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.utils import timezone
from psycopg.errors import QueryCanceled

from accounts.models import Workspace
from billing import services as billing
from messaging.campaigns.models import Campaign, Message
from messaging.engine import reactions
from messaging.engine.due import due_walks_sql
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
    # A suspended workspace's scheduled campaigns keep waiting (nothing of it is sent): they
    # start at the first tick after the workspace is restored.
    for campaign_id in (
        Campaign.objects.filter(status=Campaign.Status.SCHEDULED, scheduled_at__lte=now)
        .exclude(workspace__status=Workspace.Status.SUSPENDED)
        .values_list("pk", flat=True)
    ):
        Campaign.objects.filter(pk=campaign_id, status=Campaign.Status.SCHEDULED).update(
            status=Campaign.Status.RUNNING, status_changed_at=now
        )
        started += 1
    senders = _senders_with_work_due(now)
    if senders:
        dispatch_kick(sender_ids=senders)
    return {
        "expired_leases": expired_leases,
        "unconfirmed_requeued": unconfirmed + interrupted_requeued,
        "campaigns_expired": expired,
        "campaigns_started": started,
        "drainers": len(senders),
    }


def _senders_with_work_due(now: datetime) -> list[int]:
    """The numbers a claim would find something on now: one probe per number and walk of the
    due index (`due`), stopping at the first due message. A number whose only queued messages
    are a paused campaign's is left alone (it was kicked at every tick, and its drainer then
    spun). A DISTINCT over every queued message read them all at each tick (0.47 s every 10 s
    with 3.6 million queued)."""
    walks = due_walks_sql(sender="s.id", limit="1", when="%(now)s")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute(
            f"SELECT s.id FROM {Sender._meta.db_table} s WHERE EXISTS ({walks}) ORDER BY s.id",  # noqa: S608 # nosec B608 # own SQL, values are parameters
            {"now": now},
        )
        return [row[0] for row in cursor.fetchall()]


def oldest_due_age_check() -> dict[str, object]:
    """For /healthz: how long the oldest due message has waited. Stale means no drainer is
    working (workers or beat down), which a user would notice as a stuck campaign.

    Only messages a drainer would send now count: queued and due, of a running campaign (or a
    single message), on a number not waiting for its daily cap (`Sender.capped_until`, a
    database field), and inside the campaign's send window now. A message that waits for a
    cap, a window or a paused campaign is not overdue.

    For each number, each of the claim's walks of the due index (`due`) goes from its oldest
    due message and stops at the first one that counts; the oldest of those is the answer (20
    numbers with 3.6 million queued in a few ms). A paused campaign's queue is not read. Many
    due messages outside their window (not yet moved to its opening by a claim) could still
    make a walk long: a health check must answer in time, so the query gives up after
    HEALTHZ_QUERY_TIMEOUT_MS and the check says it could not tell (not a failure: the
    orchestrator must not restart a busy but working product)."""
    senders = Sender._meta.db_table
    now = timezone.now()
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "SELECT set_config('statement_timeout', %s, true)",
                [str(settings.HEALTHZ_QUERY_TIMEOUT_MS)],
            )
            # Each number's walks in the due index's order, whatever the statistics say.
            cursor.execute("SET LOCAL enable_sort = off")
            walks = due_walks_sql(
                sender="s.id",
                limit="1",
                when="%(now)s",
                condition=f"COALESCE({WINDOW_OPENS_SQL}, clock_timestamp()) <= clock_timestamp()",
            )
            cursor.execute(
                f"""
                SELECT min(d.next_attempt_at) FROM {senders} s
                CROSS JOIN LATERAL ({walks}) d
                WHERE s.capped_until IS NULL OR s.capped_until <= %(now)s
                """,  # noqa: S608 - table names are our own  # nosec B608 # own table names, values are parameters
                {"now": now},
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
