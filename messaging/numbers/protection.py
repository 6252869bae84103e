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
the user clears it from the number's page once the cause is fixed (`number_protection_clear`).

Restoring (`numbers_restore_due`, the same beat): the pace set before protection first lowered
it is kept (`Sender.pace_restore_*`). Once the number is healthy again (quality not lowered, and
High for a Cloud API number; blocks and opt-outs over the last 24 hours under
`PROTECTION_RESTORE_RATE`) and nothing tripped for `PROTECTION_RESTORE_HOURS`, the pace climbs
one step, then one more step every `PROTECTION_RESTORE_HOURS` while it stays healthy, never
above the kept pace. A new trip while it climbs lowers it again from where it is (the kept pace
stays the ceiling). A paused number waits until the user clears it. The user setting the pace
on the number's page ends the restoration (the user's pace wins). Every change is a
`NumberPaceChange` row the number's page lists, and an audit event."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, DateField, DateTimeField, F, Func, Q, Sum, Value
from django.db.models.functions import Cast
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import User, Workspace
from accounts.services import audit_record, notify
from messaging.analytics.models import MessageStat
from messaging.campaigns.models import Campaign, Message
from messaging.engine.reactions import campaigns_pause
from messaging.numbers.models import NumberPaceChange, Sender, WarmupPlan

SLOWED, PAUSED, RESTORING = "slowed", "paused", "restoring"
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
    for name in (
        "throughput_per_second",
        "min_interval_ms",
        "pace_restore_per_second",
        "pace_restore_min_interval_ms",
        "pace_restored_at",
    ):
        setattr(sender, name, getattr(locked, name))
    return locked.protection


def _slow(sender: Sender, reason: str) -> None:
    before = {"per_second": sender.throughput_per_second, "min_interval_ms": sender.min_interval_ms}
    if sender.pace_restore_per_second is None:
        # The first lowering keeps the user's pace as the restoration's ceiling; a trip while
        # the pace climbs back (or after the user cleared protection) keeps the older one.
        sender.pace_restore_per_second = sender.throughput_per_second
        sender.pace_restore_min_interval_ms = sender.min_interval_ms
    sender.throughput_per_second = max(1, sender.throughput_per_second // 2)
    if sender.provider == Sender.Provider.WEB_GATEWAY:
        sender.min_interval_ms = max(sender.min_interval_ms, WEB_GATEWAY_SLOW_INTERVAL_MS)
    sender.protection, sender.protection_reason = SLOWED, reason[:255]
    sender.protection_at = timezone.now()
    sender.pace_restored_at = None
    sender.save(
        update_fields=[
            "throughput_per_second",
            "min_interval_ms",
            "protection",
            "protection_reason",
            "protection_at",
            "pace_restore_per_second",
            "pace_restore_min_interval_ms",
            "pace_restored_at",
        ]
    )
    _pace_log(
        sender,
        NumberPaceChange.Kind.LOWERED,
        per_second_from=before["per_second"],
        min_interval_ms_from=before["min_interval_ms"],
        reason=reason,
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


def _pace_log(
    sender: Sender,
    kind: str,
    *,
    per_second_from: int,
    min_interval_ms_from: int,
    reason: str = "",
) -> NumberPaceChange:
    return NumberPaceChange.objects.create(
        workspace_id=sender.workspace_id,
        sender=sender,
        kind=kind,
        per_second_from=per_second_from,
        per_second_to=sender.throughput_per_second,
        min_interval_ms_from=min_interval_ms_from,
        min_interval_ms_to=sender.min_interval_ms,
        reason=str(reason)[:255],
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
        text=ngettext(
            "We paused %(n)d campaign on your number %(number)s to protect it from a ban: "
            "%(reason)s. What to do: check who you are sending to and what, wait at least 24 "
            "hours, then resume the campaign at a slower pace or from another number.",
            "We paused %(n)d campaigns on your number %(number)s to protect it from a ban: "
            "%(reason)s. What to do: check who you are sending to and what, wait at least 24 "
            "hours, then resume the campaigns at a slower pace or from another number.",
            len(paused),
        )
        % {"n": len(paused), "number": sender.phone_number or sender.label, "reason": reason},
        link=_link(sender),
    )


@transaction.atomic
def number_protection_clear(*, workspace: Workspace, sender: Sender, actor: User) -> Sender:
    """The user fixed the cause: the number is no longer under protection. A lowered pace is
    not raised at once: it climbs back step by step once the number is healthy
    (`numbers_restore_due`); `protection_at` stays, so the healthy period still counts from
    the last trip."""
    if sender.workspace_id != workspace.pk:
        raise ValueError("sender of another workspace")
    updated = (
        Sender.objects.filter(pk=sender.pk)
        .exclude(protection="")
        .update(protection="", protection_reason="")
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


def _since_local_day(since: datetime) -> Func:
    """The day `since` falls on in the row's workspace's time zone: daily figures are filed
    under each workspace's own calendar day."""
    local = Func(
        F("workspace__time_zone"), Value(since), function="timezone", output_field=DateTimeField()
    )
    return Cast(local, DateField())


def _recent_rates(senders: Any, since: datetime) -> dict[int, tuple[float, float]]:
    """(block rate, opt-out rate) of each of `senders` (a queryset) since `since`, for the
    numbers that sent or had a message blocked: two aggregate queries for all numbers."""
    sent: dict[int, dict[str, Any]] = {
        row["sender_id"]: dict(row)
        for row in MessageStat.objects.filter(sender__in=senders, day__gte=_since_local_day(since))
        .values("sender_id")
        .annotate(accepted=Sum("accepted"), opted_out=Sum("opted_out"))
    }
    blocked = dict(
        Message.objects.filter(
            sender__in=senders, error_code__in=BLOCK_CODES, status_changed_at__gte=since
        )
        .values("sender_id")
        .annotate(n=Count("id", filter=Q(error_code__in=BLOCK_CODES)))
        .values_list("sender_id", "n")
    )
    rates: dict[int, tuple[float, float]] = {}
    for sender_id in set(sent) | set(blocked):
        row: dict[str, Any] = sent.get(sender_id, {})
        accepted = int(row.get("accepted") or 0)
        total = max(accepted, blocked.get(sender_id, 0), 1)
        rates[sender_id] = (
            blocked.get(sender_id, 0) / total,
            int(row.get("opted_out") or 0) / total,
        )
    return rates


def numbers_protect_due(*, now: datetime | None = None) -> dict[int, str]:
    """The beat's check of every active number's last 24 hours: share of recipients who
    blocked (131048/131049) or opted out, against the thresholds. Two aggregate queries for
    all numbers."""
    since = (now or timezone.now()) - timedelta(hours=24)
    active = Sender.objects.filter(status=Sender.Status.ACTIVE, removed_at__isnull=True).exclude(
        protection=PAUSED
    )
    rates = _recent_rates(active, since)
    done: dict[int, str] = {}
    for sender in active.filter(pk__in=set(rates)).select_related("workspace"):
        block_rate, opt_rate = rates[sender.pk]
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


def number_is_healthy(sender: Sender, rates: tuple[float, float] | None) -> bool:
    """Healthy enough to raise a lowered pace: Meta has not lowered its quality (a Cloud API
    number must be rated High again) and its block and opt-out rates over the last 24 hours
    are under PROTECTION_RESTORE_RATE (`rates` None: nothing sent, nothing blocked)."""
    if sender.quality in (Sender.Quality.YELLOW, Sender.Quality.RED):
        return False
    if sender.provider == Sender.Provider.CLOUD_API and sender.quality != Sender.Quality.GREEN:
        return False
    return rates is None or max(rates) < settings.PROTECTION_RESTORE_RATE


def _restore_step(sender: Sender) -> tuple[int, int]:
    """The pace one step up: a halved pace (and WhatsApp-Web's 5 s spacing) comes back in
    PROTECTION_RESTORE_STEPS steps; never above the kept pace."""
    steps = max(1, int(settings.PROTECTION_RESTORE_STEPS))
    top = int(sender.pace_restore_per_second or sender.throughput_per_second)
    floor_ms = int(sender.pace_restore_min_interval_ms or 0)
    per_second = min(top, sender.throughput_per_second + max(1, math.ceil(top / (2 * steps))))
    gap_ms = max(0, WEB_GATEWAY_SLOW_INTERVAL_MS - floor_ms)
    interval = max(floor_ms, sender.min_interval_ms - max(1, math.ceil(gap_ms / steps)))
    return max(per_second, sender.throughput_per_second), min(interval, sender.min_interval_ms)


def number_pace_restore(*, sender_id: int, healthy: bool, now: datetime | None = None) -> str:
    """One restoration decision for one number, under its row lock (a trip at the same time
    takes the lock in turn). Returns "raised", "restored", or "" (nothing to do: not lowered,
    paused, unhealthy, or still within the healthy period)."""
    now = now or timezone.now()
    period = timedelta(hours=int(settings.PROTECTION_RESTORE_HOURS))
    with transaction.atomic():
        locked = (
            Sender.objects.select_for_update()
            .select_related("workspace")
            .filter(pk=sender_id, pace_restore_per_second__isnull=False)
            .first()
        )
        if locked is None or locked.protection == PAUSED or not healthy:
            return ""
        last = max(t for t in (locked.protection_at, locked.pace_restored_at, now - period) if t)
        if last > now - period:
            return ""
        before = (locked.throughput_per_second, locked.min_interval_ms)
        locked.throughput_per_second, locked.min_interval_ms = _restore_step(locked)
        done = locked.throughput_per_second >= (
            locked.pace_restore_per_second or 0
        ) and locked.min_interval_ms <= (locked.pace_restore_min_interval_ms or 0)
        kind = NumberPaceChange.Kind.RESTORED if done else NumberPaceChange.Kind.RAISED
        locked.pace_restored_at = now
        if done:
            locked.pace_restore_per_second = locked.pace_restore_min_interval_ms = None
            locked.protection, locked.protection_reason = "", ""
        else:
            locked.protection = RESTORING
        locked.save(
            update_fields=[
                "throughput_per_second",
                "min_interval_ms",
                "pace_restore_per_second",
                "pace_restore_min_interval_ms",
                "pace_restored_at",
                "protection",
                "protection_reason",
            ]
        )
        _pace_log(locked, kind, per_second_from=before[0], min_interval_ms_from=before[1])
        audit_record(
            workspace=locked.workspace,
            action="number.pace_restored" if done else "number.pace_raised",
            target=locked,
            details={
                "from": before[0],
                "per_second": locked.throughput_per_second,
                "min_interval_ms": locked.min_interval_ms,
            },
        )
        if done:
            notify(
                workspace=locked.workspace,
                kind="number.pace_restored",
                text=_(
                    "Your number %(number)s has been healthy again, so its pace is back to the "
                    "%(rate)d messages per second you set."
                )
                % {
                    "number": locked.phone_number or locked.label,
                    "rate": locked.throughput_per_second,
                },
                link=_link(locked),
            )
    return str(kind)


def numbers_restore_due(*, now: datetime | None = None) -> dict[int, str]:
    """The beat's pass over the numbers whose pace protection lowered: each healthy one whose
    healthy period has passed climbs one step (two aggregate queries for all numbers, then
    one locked update per number that moves)."""
    now = now or timezone.now()
    lowered = Sender.objects.filter(
        pace_restore_per_second__isnull=False,
        status=Sender.Status.ACTIVE,
        removed_at__isnull=True,
    ).exclude(protection=PAUSED)
    rates = _recent_rates(lowered, now - timedelta(hours=24))
    done: dict[int, str] = {}
    for sender in lowered:
        outcome = number_pace_restore(
            sender_id=sender.pk, healthy=number_is_healthy(sender, rates.get(sender.pk)), now=now
        )
        if outcome:
            done[sender.pk] = outcome
    return done


def number_pace_set_by_user(*, sender: Sender, before: tuple[int, int]) -> None:
    """The user set the number's pace while protection's restoration was pending: the user's
    pace wins and the restoration ends (logged). Called by `sender_update_pacing` inside its
    transaction, only when the pace changed."""
    if sender.pace_restore_per_second is None:
        return
    sender.pace_restore_per_second = sender.pace_restore_min_interval_ms = None
    sender.pace_restored_at = None
    fields = ["pace_restore_per_second", "pace_restore_min_interval_ms", "pace_restored_at"]
    if sender.protection == RESTORING:
        sender.protection, sender.protection_reason = "", ""
        fields += ["protection", "protection_reason"]
    sender.save(update_fields=fields)
    _pace_log(
        sender,
        NumberPaceChange.Kind.SET_BY_USER,
        per_second_from=before[0],
        min_interval_ms_from=before[1],
    )
