"""Automatic protection of a number (issue #21): when its signals turn bad it is first slowed,
then its campaigns are paused, each step with a notice that says why and what to do.

Triggers:
- a quality drop Meta reports (`messaging.numbers.health`): a drop to Medium slows the number;
  a drop to Low, or any drop of a number already slowed, pauses its campaigns;
- a rising block (131048/131049) or opt-out rate over the last 24 hours, checked by the beat
  (`numbers_protect_due`): at `PROTECTION_SLOW_RATE` it slows, at `PROTECTION_PAUSE_RATE` (or
  still rising while slowed) it pauses.

Slowing halves the number's messages per second (at least 1), spaces WhatsApp-Web sends at least
5 s apart and holds its warm-up plan. The state is kept on the number (`Sender.protection`);
the user clears it from the number's page once the cause is fixed (`number_protection_clear`)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q, Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User, Workspace
from accounts.services import audit_record, notify
from messaging.analytics.models import MessageStat
from messaging.campaigns.models import Campaign, Message
from messaging.engine.reactions import campaigns_pause
from messaging.numbers.models import Sender, WarmupPlan

SLOWED, PAUSED = "slowed", "paused"
BLOCK_CODES = (131048, 131049)
WEB_GATEWAY_SLOW_INTERVAL_MS = 5000


def _link(sender: Sender) -> str:
    return reverse("messaging_numbers:detail", args=[sender.workspace.slug, sender.public_id])


def number_protect(*, sender: Sender, reason: str, pause: bool = False) -> str:
    """Slow the number, or (`pause`, or it was slowed already) pause its campaigns. Returns the
    protection it is under now ("slowed" / "paused"). One transaction; the number's row is
    locked, so two triggers at once take one step each, in turn."""
    with transaction.atomic():
        locked = Sender.objects.select_for_update().select_related("workspace").get(pk=sender.pk)
        if locked.protection == PAUSED and not pause:
            return PAUSED
        escalate = pause or locked.protection == SLOWED
        if escalate:
            _pause(locked, reason)
        else:
            _slow(locked, reason)
    for name in ("protection", "protection_reason", "protection_at"):
        setattr(sender, name, getattr(locked, name))
    sender.throughput_per_second = locked.throughput_per_second
    sender.min_interval_ms = locked.min_interval_ms
    return locked.protection


def _slow(sender: Sender, reason: str) -> None:
    before = {"per_second": sender.throughput_per_second, "min_interval_ms": sender.min_interval_ms}
    sender.throughput_per_second = max(1, sender.throughput_per_second // 2)
    if sender.provider == Sender.Provider.WEB_GATEWAY:
        sender.min_interval_ms = max(sender.min_interval_ms, WEB_GATEWAY_SLOW_INTERVAL_MS)
    sender.protection, sender.protection_reason = SLOWED, reason[:255]
    sender.protection_at = timezone.now()
    sender.save(
        update_fields=[
            "throughput_per_second",
            "min_interval_ms",
            "protection",
            "protection_reason",
            "protection_at",
        ]
    )
    WarmupPlan.objects.filter(sender=sender, state=WarmupPlan.State.RUNNING).update(
        state=WarmupPlan.State.HOLDING
    )
    audit_record(
        workspace=sender.workspace,
        action="number.protection_slowed",
        target=sender,
        details={"reason": reason, "before": before, "per_second": sender.throughput_per_second},
    )
    notify(
        workspace=sender.workspace,
        kind="number.protection_slowed",
        text=_(
            "We slowed your number %(number)s to %(rate)d messages per second to protect it: "
            "%(reason)s. What to do: send only to people who asked for your messages, vary "
            "your texts and wait a day before large campaigns. If the signals keep getting "
            "worse, its campaigns will be paused."
        )
        % {
            "number": sender.phone_number or sender.label,
            "rate": sender.throughput_per_second,
            "reason": reason,
        },
        link=_link(sender),
    )


def _pause(sender: Sender, reason: str) -> None:
    sender.protection, sender.protection_reason = PAUSED, reason[:255]
    sender.protection_at = timezone.now()
    sender.save(update_fields=["protection", "protection_reason", "protection_at"])
    ids = list(
        Campaign.objects.filter(
            senders=sender,
            status__in=[
                Campaign.Status.RUNNING,
                Campaign.Status.LAUNCHING,
                Campaign.Status.SCHEDULED,
            ],
        ).values_list("pk", flat=True)
    )
    detail = _("Number %(number)s: %(reason)s") % {
        "number": sender.phone_number or sender.label,
        "reason": reason,
    }
    paused = campaigns_pause(
        campaign_ids=ids, reason=Campaign.PauseReason.NUMBER_PROTECTION, detail=detail
    )
    WarmupPlan.objects.filter(sender=sender, state=WarmupPlan.State.RUNNING).update(
        state=WarmupPlan.State.HOLDING
    )
    audit_record(
        workspace=sender.workspace,
        action="number.protection_paused",
        target=sender,
        details={"reason": reason, "campaigns": len(paused)},
    )
    notify(
        workspace=sender.workspace,
        kind="number.protection_paused",
        text=_(
            "We paused %(n)d campaign(s) on your number %(number)s to protect it from a ban: "
            "%(reason)s. What to do: check who you are sending to and what, wait at least 24 "
            "hours, then resume the campaigns at a slower pace or from another number."
        )
        % {"n": len(paused), "number": sender.phone_number or sender.label, "reason": reason},
        link=_link(sender),
    )


@transaction.atomic
def number_protection_clear(*, workspace: Workspace, sender: Sender, actor: User) -> Sender:
    """The user fixed the cause: the number is no longer under protection (its pace stays as
    it is now; the user raises it on the number's page)."""
    if sender.workspace_id != workspace.pk:
        raise ValueError("sender of another workspace")
    updated = (
        Sender.objects.filter(pk=sender.pk)
        .exclude(protection="")
        .update(protection="", protection_reason="", protection_at=None)
    )
    if updated:
        audit_record(
            workspace=workspace, action="number.protection_cleared", actor=actor, target=sender
        )
    sender.refresh_from_db()
    return sender


def number_protect_for_quality(*, sender: Sender, old: str, new: str) -> str:
    """Meta lowered the number's quality rating from `old` to `new`."""
    reason = _("Meta lowered its quality rating from %(old)s to %(new)s") % {
        "old": Sender.Quality(old).label,
        "new": Sender.Quality(new).label,
    }
    return number_protect(sender=sender, reason=reason, pause=new == Sender.Quality.RED)


def numbers_protect_due(*, now: object = None) -> dict[int, str]:
    """The beat's check of every active number's last 24 hours: share of recipients who
    blocked (131048/131049) or opted out, against the thresholds. Two aggregate queries for
    all numbers."""
    since = timezone.now() - timedelta(hours=24)
    active = Sender.objects.filter(status=Sender.Status.ACTIVE, removed_at__isnull=True).exclude(
        protection=PAUSED
    )
    sent: dict[int, dict[str, Any]] = {
        row["sender_id"]: dict(row)
        for row in MessageStat.objects.filter(sender__in=active, day__gte=since.date())
        .values("sender_id")
        .annotate(accepted=Sum("accepted"), opted_out=Sum("opted_out"))
    }
    blocked = dict(
        Message.objects.filter(
            sender__in=active, error_code__in=BLOCK_CODES, status_changed_at__gte=since
        )
        .values("sender_id")
        .annotate(n=Count("id", filter=Q(error_code__in=BLOCK_CODES)))
        .values_list("sender_id", "n")
    )
    done: dict[int, str] = {}
    for sender in active.filter(pk__in=set(sent) | set(blocked)).select_related("workspace"):
        row: dict[str, Any] = sent.get(sender.pk, {})
        accepted = int(row.get("accepted") or 0) + 0
        total = max(accepted, blocked.get(sender.pk, 0), 1)
        block_rate = blocked.get(sender.pk, 0) / total
        opt_rate = int(row.get("opted_out") or 0) / total
        worst = max(block_rate, opt_rate)
        if worst < settings.PROTECTION_SLOW_RATE:
            continue
        what = _("blocks") if block_rate >= opt_rate else _("opt-outs")
        reason = _("%(p).1f%% of its recipients in the last 24 hours (%(what)s)") % {
            "p": 100 * worst,
            "what": what,
        }
        if sender.protection == SLOWED and worst < settings.PROTECTION_PAUSE_RATE:
            continue  # already slowed and not worse than the pause threshold: wait
        done[sender.pk] = number_protect(
            sender=sender, reason=reason, pause=worst >= settings.PROTECTION_PAUSE_RATE
        )
    return done
