"""The daily cap's ledger side: what a number has used today, counted in PostgreSQL, and the
"waits for its cap" mark the campaign page, the API and /healthz read.

Redis is a cache, never a ledger (DESIGN.md): the limiter's day counter is rebuilt from here
when Redis has none (a restart without persistence, a flush). The day is the workspace's local
date, the same day the statistics table counts in, so the cap resets at the workspace's
midnight and the rebuilt figure is the one the statistics show."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db.models import Sum
from django.utils import timezone

from messaging.analytics.models import MessageStat
from messaging.campaigns.models import Message
from messaging.numbers.models import Sender, WarmupPlan


@dataclass(frozen=True)
class CapDay:
    """The cap's day for a number: its local date, the limiter's key for it, and the moment
    the next day starts (when a capped number resumes)."""

    day: date
    key: str
    resumes_at: datetime


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def cap_day(sender: Sender, now: datetime | None = None) -> CapDay:
    zone = _zone(sender.workspace.time_zone)
    local = (now or timezone.now()).astimezone(zone)
    midnight = datetime.combine(local.date() + timedelta(days=1), time.min, tzinfo=zone)
    return CapDay(day=local.date(), key=local.strftime("%Y%m%d"), resumes_at=midnight)


def effective_daily_cap(sender: Sender) -> int:
    """The number's daily cap today: its configured cap, lowered to its warm-up plan's step
    while one runs (issue #21). Read from PostgreSQL on every slice, so a restarted worker or a
    flushed Redis keeps the plan's cap."""
    plan = (
        WarmupPlan.objects.filter(
            sender_id=sender.pk,
            state__in=[WarmupPlan.State.RUNNING, WarmupPlan.State.HOLDING],
        )
        .only("steps", "step", "state")
        .first()
    )
    warm = plan.cap_today if plan is not None else None
    return sender.daily_cap if warm is None else min(sender.daily_cap, warm)


def cap_used(*, sender: Sender, day: date, exclude_ids: Iterable[int] = ()) -> int:
    """The number's sends on `day` as the database knows them: the statistics table's accepted
    count (every campaign and single message), plus what may have left without being recorded
    yet: messages in flight (`sending`) or unconfirmed (`ambiguous`). `exclude_ids`: messages
    the caller is asking slots for now (claimed, not sent)."""
    accepted = (
        MessageStat.objects.filter(sender_id=sender.pk, day=day).aggregate(n=Sum("accepted"))["n"]
        or 0
    )
    in_flight = (
        Message.objects.filter(
            sender_id=sender.pk,
            indexed_status__in=[Message.Status.SENDING, Message.Status.AMBIGUOUS],
            accepted_at__isnull=True,
        )
        .exclude(id__in=list(exclude_ids))
        .count()
    )
    return int(accepted) + in_flight


def cap_seed(*, sender: Sender, day: date, claimed: list[int]) -> Callable[[], int]:
    """The limiter's `seed`: counted only when Redis has no counter for the day."""
    return lambda: cap_used(sender=sender, day=day, exclude_ids=claimed)


def cap_reached(*, sender: Sender, resumes_at: datetime) -> None:
    """Mark the number as waiting for its cap (its share of every campaign waits)."""
    if sender.capped_until != resumes_at:
        Sender.objects.filter(pk=sender.pk).update(capped_until=resumes_at)
        sender.capped_until = resumes_at


def cap_left(*, sender: Sender) -> None:
    """The number may send again: clear the mark (one cheap check per grant)."""
    if sender.capped_until is not None:
        Sender.objects.filter(pk=sender.pk).update(capped_until=None)
        sender.capped_until = None
