"""The periodic tick: return expired leases to the queue, resend ambiguous messages no webhook
reconciled, expire campaigns past their deadline, start scheduled campaigns, and make sure every
number with due work has a drainer. A killed worker loses nothing: its leases expire here."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from billing import services as billing
from messaging.campaigns.models import Campaign, Message
from messaging.engine import reactions
from messaging.engine.kick import dispatch_kick


def tick() -> dict[str, int]:
    now = timezone.now()
    expired_leases = Message.objects.filter(
        status=Message.Status.SENDING, lease_until__lt=now
    ).update(status=Message.Status.QUEUED, lease_until=None, status_changed_at=now)
    unconfirmed = Message.objects.filter(
        status=Message.Status.AMBIGUOUS,
        status_changed_at__lt=now - timedelta(seconds=settings.ENGINE_AMBIGUOUS_RESEND_AFTER),
    ).update(status=Message.Status.QUEUED, status_changed_at=now)
    expired = 0
    for campaign in Campaign.objects.filter(
        status__in=[Campaign.Status.RUNNING, Campaign.Status.PAUSED], expires_at__lt=now
    ).select_related("workspace"):
        with transaction.atomic():
            dropped = Message.objects.filter(
                campaign=campaign, status=Message.Status.QUEUED
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
    senders = list(
        Message.objects.filter(status=Message.Status.QUEUED, next_attempt_at__lte=now)
        .order_by()
        .values_list("sender_id", flat=True)
        .distinct()
    )
    if senders:
        dispatch_kick(sender_ids=senders)
    return {
        "expired_leases": expired_leases,
        "unconfirmed_requeued": unconfirmed,
        "campaigns_expired": expired,
        "campaigns_started": started,
        "drainers": len(senders),
    }


def oldest_due_age_check() -> dict[str, object]:
    """For /healthz: how long the oldest due message has waited. Stale means no drainer is
    working (workers or beat down), which a user would notice as a stuck campaign."""
    oldest = (
        Message.objects.filter(status=Message.Status.QUEUED, next_attempt_at__lte=timezone.now())
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first()
    )
    if oldest is None:
        return {"ok": True, "oldest_due_seconds": 0}
    age = (timezone.now() - oldest).total_seconds()
    return {"ok": age < settings.HEALTHZ_MAX_DUE_AGE_SECONDS, "oldest_due_seconds": round(age, 1)}
