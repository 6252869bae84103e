"""What the engine does about outcomes beyond the message itself: contacts found invalid or
opted out, campaign counters and completion, the error-rate breaker, and a blocked number."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import redis
from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.services import audit_record, notify
from billing import services as billing
from core.events import campaign_event, events_publish, number_status_event
from messaging.analytics.models import MessageStat
from messaging.campaigns.models import Campaign
from messaging.contacts.models import Contact, OptOutSource, WhatsAppStatus
from messaging.engine.fanout import reassign_queued
from messaging.engine.kick import campaigns_pause_signal, dispatch_kick
from messaging.engine.runtime import redis_client
from messaging.engine.stats import FAILED_COUNTERS
from messaging.gateways.base import Outcome, OutcomeKind
from messaging.numbers.models import Sender

# Campaign counters summed from the per-day statistics (a handful of rows per campaign).
_FROM_STATS = {
    "count_queued": ("pending",),
    "count_accepted": ("accepted",),
    "count_sent": ("sent",),
    "count_delivered": ("delivered",),
    "count_read": ("read",),
    "count_failed": FAILED_COUNTERS,
    "count_skipped": ("skipped",),
    "count_cancelled": ("cancelled",),
    "count_replied": ("replied",),
    "count_opted_out": ("opted_out",),
    "count_credits_used": ("credits_used",),
}


def contacts_mark(*, workspace_id: int, effects: dict[str, list[int]]) -> None:
    """Mark the contacts a send or a status told about. "valid" (a message reached them, or
    they wrote) only writes contacts not already marked, so a campaign's receipts write each
    contact once, not once per status."""
    now = timezone.now()
    if effects.get("valid"):
        Contact.objects.filter(
            workspace_id=workspace_id, pk__in=sorted(set(effects["valid"]))
        ).exclude(whatsapp_status=WhatsAppStatus.VALID).update(
            whatsapp_status=WhatsAppStatus.VALID, whatsapp_error="", updated_at=now
        )
    if effects.get("invalid"):
        Contact.objects.filter(workspace_id=workspace_id, pk__in=effects["invalid"]).update(
            whatsapp_status=WhatsAppStatus.INVALID, whatsapp_error="131026", updated_at=now
        )
    if effects.get("opt_out"):
        Contact.objects.filter(
            workspace_id=workspace_id, pk__in=effects["opt_out"], opted_out_at__isnull=True
        ).update(
            opted_out_at=now,
            opt_out_source=OptOutSource.GATEWAY,
            opt_out_reason="131050: stopped marketing messages",
            updated_at=now,
        )


REFRESH_EVERY_SECONDS = 1.0
DIRTY_KEY = "isend:campaign-refresh:dirty"


def campaigns_refresh_skipped() -> int:
    """Refresh the campaigns whose refresh the hot path skipped (the periodic tick calls this)."""

    ids = [int(i) for i in redis_client().spop(DIRTY_KEY, 10_000) or []]
    campaigns_refresh(campaign_ids=ids)
    return len(ids)


def campaigns_refresh(*, campaign_ids: Iterable[int], force: bool = True) -> None:
    """Recompute the touched campaigns' counters from the per-day statistics (one grouped query),
    complete the finished ones and trip the error-rate breaker. With `force=False` a campaign
    refreshed less than a second ago is skipped (the hot path calls this per batch; the last
    batch of a campaign and the periodic tick always force it)."""
    ids = [i for i in set(campaign_ids) if i]
    if not force and ids:
        client = redis_client()
        try:
            due = [
                i
                for i in ids
                if client.set(
                    f"isend:campaign-refresh:{i}", 1, nx=True, px=int(REFRESH_EVERY_SECONDS * 1000)
                )
            ]
            if skipped := set(ids) - set(due):
                # The tick refreshes these, so a campaign's last webhooks are never left uncounted.
                client.sadd(DIRTY_KEY, *skipped)
        except redis.RedisError:
            # Redis holds only what may be lost: without it, refresh now. Raising here would roll
            # back the drainer's record of a batch already sent (sent again: duplicates).
            due = ids
        ids = due
    if not ids:
        return
    with transaction.atomic():
        # Lock the campaigns first, then read the sums: a refresh that read older sums cannot
        # write them over a newer refresh's (counters going backwards, or a completed campaign
        # left with the figures from before its last batch).
        locked = list(Campaign.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
        _apply_counters(locked, _counters_from_stats(ids))


def campaigns_with_open_messages(campaign_ids: set[int]) -> set[int]:
    """Which of these campaigns still have messages queued, sending or unconfirmed, from the
    per-day statistics (a row per number and day), as their completion is decided. The
    drainer asks at every batch; read from the messages, it walked every queued message of
    the campaign each time (24 ms a batch at 60,000 queued, growing with the campaign)."""
    if not campaign_ids:
        return set()
    return set(
        MessageStat.objects.filter(campaign_id__in=campaign_ids)
        .order_by()
        .values("campaign_id")
        .annotate(open=Sum("pending"))
        .filter(open__gt=0)
        .values_list("campaign_id", flat=True)
    )


def _counters_from_stats(ids: list[int]) -> dict[int, dict[str, int]]:
    sums = {name: Sum(name) for name in {stat for stats in _FROM_STATS.values() for stat in stats}}
    # Typed as mappings: the stubs know a row's "campaign_id", not the sums' dynamic names.
    rows: Iterable[Mapping[str, Any]] = (
        MessageStat.objects.filter(campaign_id__in=ids)
        .order_by()
        .values("campaign_id")
        .annotate(**sums)
    )
    figures = {row["campaign_id"]: row for row in rows}
    return {
        i: {
            field: sum(figures.get(i, {}).get(stat) or 0 for stat in stats)
            for field, stats in _FROM_STATS.items()
        }
        for i in ids
    }


def _apply_counters(campaigns: list[Campaign], counters: dict[int, dict[str, int]]) -> None:
    for campaign in campaigns:
        for field, value in counters[campaign.pk].items():
            setattr(campaign, field, value)
        fields = list(counters[campaign.pk])
        if campaign.status == Campaign.Status.RUNNING and campaign.count_queued == 0:
            campaign.status = Campaign.Status.COMPLETED
            campaign.finished_at = campaign.status_changed_at = timezone.now()
            fields += ["status", "finished_at", "status_changed_at"]
            billing.credits_release(
                workspace=campaign.workspace,
                reference=campaign.credit_reference,
                idempotency_key=f"{campaign.credit_reference}:complete",
            )
        elif campaign.status == Campaign.Status.RUNNING and _breaker_trips(campaign):
            campaign.status = Campaign.Status.PAUSED
            campaign.pause_reason = Campaign.PauseReason.BREAKER
            campaign.status_changed_at = timezone.now()
            fields += ["status", "pause_reason", "status_changed_at"]
            audit_record(
                workspace=campaign.workspace,
                action="campaign.paused",
                target=campaign,
                details={"reason": "breaker", "failed": campaign.count_failed},
            )
            notify(
                workspace=campaign.workspace,
                kind="campaign.paused",
                text=gettext_noop(
                    "Campaign “%(name)s” was paused: %(n)d messages failed. Check the failures, "
                    "then resume it."
                ),
                params={"name": campaign.name, "n": campaign.count_failed},
                link=reverse(
                    "messaging_campaigns:detail", args=[campaign.workspace.slug, campaign.public_id]
                ),
            )
        campaign.save(update_fields=fields)
        if "status" in fields:  # completed, or paused by the breaker
            events_publish(
                workspace_id=campaign.workspace_id,
                events=[campaign_event(f"campaign.{campaign.status}", campaign)],
            )


def _breaker_trips(campaign: Campaign) -> bool:
    done = campaign.attempted_count
    return (
        campaign.count_failed >= settings.ENGINE_BREAKER_MIN_FAILURES
        and campaign.count_failed > settings.ENGINE_BREAKER_FAILURE_RATIO * done
    )


def sender_blocked(*, sender: Sender, outcome: Outcome) -> None:
    """The number is banned, restricted or its credentials stopped working: mark it, move its
    queued messages to the campaigns' other live numbers (of another business account), pause
    what cannot move, and tell the user."""
    status = (
        Sender.Status.DISCONNECTED
        if outcome.kind == OutcomeKind.CREDENTIALS_INVALID
        else Sender.Status.BANNED
    )
    reason = outcome.error.title if outcome.error else outcome.note
    with transaction.atomic():
        changed = (
            Sender.objects.filter(pk=sender.pk)
            .exclude(status=status)
            .update(
                status=status,
                status_reason=f"{outcome.error.code if outcome.error else ''} {reason}".strip(),
                status_changed_at=timezone.now(),
            )
        )
        moved_to, paused = _campaigns_fail_over(sender)
        if changed:
            _sender_blocked_announce(
                sender=sender, status=status, reason=reason, moved_to=moved_to, paused=paused
            )
    if moved_to:
        transaction.on_commit(
            lambda: dispatch_kick(sender_ids=sorted({i for ids in moved_to.values() for i in ids}))
        )


def sender_lost(*, sender: Sender, account_blocked: bool) -> None:
    """A number stopped being able to send outside a send (Meta's account webhook banned or
    restricted it, or the user removed it): its running campaigns fail over exactly as when a
    send finds it blocked (`sender_blocked`), instead of waiting on it forever with their
    credits reserved. `account_blocked`: the whole business account is, so its other numbers
    are no refuge."""
    moved_to, paused = _campaigns_fail_over(sender, other_accounts_only=account_blocked)
    if paused:
        events_publish(
            workspace_id=sender.workspace_id,
            events=[campaign_event("campaign.paused", c) for c in paused],
        )
    if moved_to:
        transaction.on_commit(
            lambda: dispatch_kick(sender_ids=sorted({i for ids in moved_to.values() for i in ids}))
        )


def _campaigns_fail_over(
    sender: Sender, *, other_accounts_only: bool = True
) -> tuple[dict[int, list[int]], list[Campaign]]:
    """Move the queued messages of each running campaign of a blocked number onto its other
    live numbers (of another business account); pause a campaign that has none. Returns
    (campaign id -> the numbers it moved to, the campaigns paused)."""
    moved_to: dict[int, list[int]] = {}
    paused: list[Campaign] = []
    running = Campaign.objects.filter(
        senders=sender, status__in=[Campaign.Status.RUNNING, Campaign.Status.LAUNCHING]
    ).select_related("workspace")
    for campaign in running:
        others = campaign.senders.filter(status=Sender.Status.ACTIVE, removed_at__isnull=True)
        if sender.waba_id and other_accounts_only:
            others = others.exclude(waba_id=sender.waba_id)
        other_ids = list(others.exclude(pk=sender.pk).order_by("id").values_list("id", flat=True))
        if other_ids:
            reassign_queued(campaign_id=campaign.pk, to_sender_ids=other_ids)
            moved_to[campaign.pk] = other_ids
        else:
            campaign.status = Campaign.Status.PAUSED
            campaign.pause_reason = Campaign.PauseReason.NUMBER_BLOCKED
            campaign.status_changed_at = timezone.now()
            campaign.save(update_fields=["status", "pause_reason", "status_changed_at"])
            paused.append(campaign)
    return moved_to, paused


def _sender_blocked_announce(
    *,
    sender: Sender,
    status: str,
    reason: str,
    moved_to: dict[int, list[int]],
    paused: list[Campaign],
) -> None:
    """Events for the number and the paused campaigns, the audit row, the user's notice."""
    events_publish(
        workspace_id=sender.workspace_id,
        events=[
            number_status_event(sender, status=status, reason=reason),
            *[campaign_event("campaign.paused", c) for c in paused],
        ],
    )
    audit_record(
        workspace=sender.workspace,
        action=f"number.{status}",
        target=sender,
        details={"reason": reason, "moved": {str(k): v for k, v in moved_to.items()}},
    )
    notify(
        workspace=sender.workspace,
        kind="number.blocked",
        # "Label: count" needs no plural forms (a sentence per count would need two).
        text=gettext_noop(
            "WhatsApp blocked your number %(number)s (%(reason)s). Campaigns continuing on "
            "your other numbers: %(moved)d; paused: %(paused)d. Your credits stay in the "
            "workspace: connect a replacement number to continue."
        ),
        params={
            "number": sender.phone_number,
            "reason": reason,
            "moved": len(moved_to),
            "paused": len(paused),
        },
        link=reverse("messaging_numbers:detail", args=[sender.workspace.slug, sender.public_id]),
    )


def campaigns_pause_for_template(*, paused: Mapping[int, Outcome]) -> list[Campaign]:
    """Sends answered 132015 (template paused) or 132016 (disabled): pause those campaigns
    with that reason, shown on the campaign page and in the API, until Meta reinstates it."""
    by_reason: dict[tuple[str, str], list[int]] = {}
    for campaign_id, outcome in paused.items():
        code = outcome.error.code if outcome.error else None
        reason = (
            Campaign.PauseReason.TEMPLATE_DISABLED
            if code == 132016
            else Campaign.PauseReason.TEMPLATE_PAUSED
        )
        title = outcome.error.title if outcome.error else outcome.note
        detail = f"{code}: {title}" if code else title
        by_reason.setdefault((str(reason), detail[:255]), []).append(campaign_id)
    done: list[Campaign] = []
    for (why, detail), ids in by_reason.items():
        done += campaigns_pause(campaign_ids=ids, reason=why, detail=detail)
    return done


def campaigns_pause(
    *, campaign_ids: Iterable[int], reason: str, detail: str = ""
) -> list[Campaign]:
    """Pause the running (or launching, or scheduled) campaigns among `campaign_ids` for a reason
    that is not the user's: the status, the reason and its detail, the audit row, the event and
    the user's notice. Returns the campaigns it paused."""
    paused: list[Campaign] = []
    with transaction.atomic():
        campaigns = (
            Campaign.objects.select_for_update()
            .filter(
                pk__in=list(campaign_ids),
                status__in=[
                    Campaign.Status.RUNNING,
                    Campaign.Status.LAUNCHING,
                    Campaign.Status.SCHEDULED,
                ],
            )
            .select_related("workspace")
        )
        # A batch already claimed for them stops before its next send.
        paused_ids = [c.pk for c in campaigns]
        transaction.on_commit(lambda: campaigns_pause_signal(campaign_ids=paused_ids))
        for campaign in campaigns:
            campaign.status = Campaign.Status.PAUSED
            campaign.pause_reason = Campaign.PauseReason(reason)
            campaign.pause_detail = detail[:255]
            campaign.status_changed_at = timezone.now()
            campaign.save(
                update_fields=["status", "pause_reason", "pause_detail", "status_changed_at"]
            )
            paused.append(campaign)
            audit_record(
                workspace=campaign.workspace,
                action="campaign.paused",
                target=campaign,
                details={"reason": reason, "detail": detail},
            )
            notify(
                workspace=campaign.workspace,
                kind="campaign.paused",
                text=_("Campaign “%(name)s” was paused: %(reason)s. %(detail)s")
                % {
                    "name": campaign.name,
                    "reason": campaign.get_pause_reason_display(),
                    "detail": detail,
                },
                link=reverse(
                    "messaging_campaigns:detail", args=[campaign.workspace.slug, campaign.public_id]
                ),
            )
            events_publish(
                workspace_id=campaign.workspace_id,
                events=[campaign_event("campaign.paused", campaign)],
            )
    return paused
