"""Live number health: quality rating, messaging-limit tier and throughput level, from Meta's
webhooks (`phone_number_quality_update`, `business_capability_update`, `account_update`) and a
periodic `GET /{phone_number_id}?fields=...`; every change is kept (`NumberHealthChange`).

- A drop in quality tells the workspace (a notice and an e-mail to its owners and admins).
- The tier is the business account's (research §1.5: since 2025 the unique-recipient limit is
  shared by all numbers of a WABA), so a tier change applies to every number of that WABA.
- A throughput upgrade (HIGH: up to 1,000 messages per second) raises the number's pace limit
  when it is still at Meta's standard 80/s (a pace the user chose is left alone).
- `waba_headroom` counts, from our own tables, the unique recipients a WABA's numbers messaged
  in the last 24 h, for the pre-flight's warning and its finish estimate.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.db import transaction
from django.db.models import Count
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Workspace
from accounts.services import audit_record, notify
from core.asyncrun import run_sync
from messaging.campaigns.models import Message
from messaging.engine.adapters import cloud_adapter
from messaging.gateways.base import NumberHealthEvent
from messaging.gateways.cloud_api import QUALITY_CHANGE_EVENTS, PhoneNumberHealth
from messaging.numbers.models import TIER_LIMITS, NumberHealthChange, Sender, tier_label
from messaging.numbers.protection import number_protect_for_quality

STANDARD_THROUGHPUT_PER_SECOND = 80
HIGH_THROUGHPUT_PER_SECOND = 1000
_QUALITY_RANK: dict[str, int] = {
    Sender.Quality.GREEN.value: 3,
    Sender.Quality.YELLOW.value: 2,
    Sender.Quality.RED.value: 1,
    Sender.Quality.UNKNOWN.value: 0,
}
_Source = NumberHealthChange.Source
_Field = NumberHealthChange.Field


def _digits(value: str | None) -> str:
    return "".join(ch for ch in (value or "") if ch.isdigit())


def _quality(value: str | None) -> str | None:
    """Meta's rating as our choice (GREEN -> green); None when absent or unknown (NA)."""
    lowered = (value or "").lower()
    if lowered in (Sender.Quality.GREEN, Sender.Quality.YELLOW, Sender.Quality.RED):
        return lowered
    return None


def _waba_numbers(sender: Sender) -> list[Sender]:
    """The live numbers sharing `sender`'s business account in its workspace, locked in id
    order (the number alone when it has no WABA id)."""
    if not sender.waba_id:
        return list(Sender.objects.select_for_update().filter(pk=sender.pk))
    return list(
        Sender.objects.for_workspace(sender.workspace_id)
        .filter(waba_id=sender.waba_id, removed_at__isnull=True)
        .select_for_update()
        .order_by("id")
    )


def number_health_record(
    *,
    sender: Sender,
    quality: str | None = None,
    tier: str | None = None,
    throughput_level: str | None = None,
    source: str,
    event: str = "",
    at: datetime | None = None,
) -> list[NumberHealthChange]:
    """Apply what Meta reports about a number (None: not reported) and keep each change. The
    number's row (with a tier: all its WABA's rows, in id order, so two reports about sibling
    numbers never wait on each other crosswise) is locked, so two reports racing (a webhook
    and the periodic refresh) each see the other's result. Returns the changes."""
    at = at or timezone.now()
    new_tier = tier if tier in TIER_LIMITS else ""
    with transaction.atomic():
        group = _waba_numbers(sender) if new_tier else []
        locked = next((n for n in group if n.pk == sender.pk), None)
        if locked is None:
            locked = Sender.objects.select_for_update().get(pk=sender.pk)
        changes: list[NumberHealthChange] = []
        updates: dict[str, Any] = {}
        if source in (_Source.REFRESH, _Source.CONNECT):
            updates["health_checked_at"] = at

        def change(number: Sender, field: str, old: str, new: str) -> None:
            changes.append(
                NumberHealthChange(
                    workspace_id=number.workspace_id,
                    sender=number,
                    field=field,
                    old_value=old,
                    new_value=new,
                    source=source,
                    event=event[:64],
                    changed_at=at,
                )
            )

        new_quality = _quality(quality)
        dropped = False
        if new_quality and new_quality != locked.quality:
            change(locked, _Field.QUALITY, locked.quality, new_quality)
            dropped = _QUALITY_RANK.get(new_quality, 0) < _QUALITY_RANK.get(locked.quality, 0)
            updates["quality"] = new_quality
        raised_to = 0
        if throughput_level and throughput_level != locked.throughput_level:
            change(locked, _Field.THROUGHPUT, locked.throughput_level, throughput_level)
            updates["throughput_level"] = throughput_level
            if (
                throughput_level == "HIGH"
                and locked.throughput_per_second == STANDARD_THROUGHPUT_PER_SECOND
            ):
                raised_to = HIGH_THROUGHPUT_PER_SECOND
                updates["throughput_per_second"] = raised_to
        tier_changed: list[Sender] = []
        if new_tier:
            # The tier belongs to the business account: every number of the WABA gets it.
            for number in group:
                if number.messaging_limit_tier != new_tier:
                    change(number, _Field.TIER, number.messaging_limit_tier, new_tier)
                    tier_changed.append(number)
            if tier_changed:
                Sender.objects.filter(pk__in=[n.pk for n in tier_changed]).update(
                    messaging_limit_tier=new_tier
                )
        if updates:
            Sender.objects.filter(pk=locked.pk).update(**updates)
        NumberHealthChange.objects.bulk_create(changes)
        if raised_to:
            audit_record(
                workspace=locked.workspace,
                action="number.throughput_raised",
                target=locked,
                details={"from": locked.throughput_per_second, "to": raised_to, "event": event},
            )
        if dropped:
            _quality_drop_notify(locked, old=locked.quality, new=new_quality or "")
            # Protect the number: slow it, or pause its campaigns (issue #21).
            number_protect_for_quality(sender=locked, old=locked.quality, new=new_quality or "")
    for name, value in updates.items():
        setattr(sender, name, value)
    if tier_changed:
        sender.messaging_limit_tier = new_tier
    return changes


def _quality_drop_notify(sender: Sender, *, old: str, new: str) -> None:
    notify(
        workspace=sender.workspace,
        kind="number.quality_dropped",
        text=_(
            "Meta lowered the quality rating of your number %(number)s from %(old)s to %(new)s. "
            "Recipients are blocking or reporting its messages: slow down, send only to people "
            "who asked for your messages, and check your templates before the number is "
            "limited."
        )
        % {
            "number": sender.phone_number or sender.label,
            "old": Sender.Quality(old).label,
            "new": Sender.Quality(new).label,
        },
        link=reverse("messaging_numbers:detail", args=[sender.workspace.slug, sender.public_id]),
    )


def number_health_apply_event(*, sender: Sender, event: NumberHealthEvent) -> None:
    """Apply a health webhook received on `sender`'s callback URL. Meta names the number by
    its display number within the WABA (`entry.id`); the tier applies to the whole WABA."""
    from messaging.numbers.tasks import number_health_refresh_task

    # Meta calls one URL per app: an event about any number of the WABA may arrive on the
    # callback URL of another of its numbers.
    waba = event.account_id or sender.waba_id
    candidates = [sender]
    if waba:
        candidates = list(
            Sender.objects.for_workspace(sender.workspace_id)
            .filter(waba_id=waba, removed_at__isnull=True)
            .order_by("id")
        ) or [sender]
    display = _digits(event.display_phone_number)
    numbers = [n for n in candidates if display and _digits(n.phone_number) == display]
    for number in numbers:
        number_health_record(
            sender=number,
            quality=event.quality_rating,
            tier=event.messaging_limit_tier,
            throughput_level=event.throughput_level,
            source=_Source.WEBHOOK,
            event=event.event,
            at=event.timestamp,
        )
        if event.event in QUALITY_CHANGE_EVENTS and not event.quality_rating:
            # Meta says the rating changed, not to what: ask the number's node after commit.
            refresh = partial(
                number_health_refresh_task.delay, sender_id=number.pk, event=event.event
            )
            transaction.on_commit(refresh, robust=True)
    if not numbers and event.messaging_limit_tier:
        number_health_record(
            sender=candidates[0],
            tier=event.messaging_limit_tier,
            source=_Source.WEBHOOK,
            event=event.event,
            at=event.timestamp,
        )


def number_health_account_change(*, numbers: list[Sender], status: str, event: str) -> None:
    """`account_update` changed these numbers' status (restriction, ban, reinstatement): kept
    in the history beside quality and tier."""
    NumberHealthChange.objects.bulk_create(
        NumberHealthChange(
            workspace_id=n.workspace_id,
            sender=n,
            field=_Field.STATUS,
            old_value=n.status,
            new_value=status,
            source=_Source.WEBHOOK,
            event=event[:64],
        )
        for n in numbers
    )


def number_health_refresh(
    *, sender: Sender, event: str = "refresh", source: str = _Source.REFRESH
) -> PhoneNumberHealth:
    """Ask Meta for the number's quality, tier and throughput now, and record what changed
    (`event`: why we asked, kept in the history). The network call happens outside any
    transaction."""

    async def fetch() -> PhoneNumberHealth:
        async with cloud_adapter(sender) as adapter:
            return await adapter.fetch_health()

    health = run_sync(fetch)
    if health.ok:
        number_health_record(
            sender=sender,
            quality=health.quality_rating,
            tier=health.messaging_limit_tier,
            throughput_level=health.throughput_level,
            source=source,
            event=event,
        )
    return health


def numbers_health_refresh_due() -> list[int]:
    """The numbers the periodic refresh asks Meta about: live Cloud API numbers not banned."""
    # Platform job: every workspace's numbers (each task then works on one number).
    return list(
        Sender.objects.filter(provider=Sender.Provider.CLOUD_API, removed_at__isnull=True)
        .exclude(status=Sender.Status.BANNED)
        .order_by("id")
        .values_list("pk", flat=True)
    )


# --- the tier's headroom (pre-flight) ------------------------------------------------------


@dataclass(frozen=True)
class WabaHeadroom:
    """One business account's messaging limit against the next 24 h."""

    waba_id: str
    tier: str
    limit: int
    used: int  # unique recipients its numbers messaged in the last 24 h (our tables)

    @property
    def left(self) -> int:
        return max(self.limit - self.used, 0)


def waba_headroom(
    *, workspace: Workspace, senders: list[Sender], now: datetime | None = None
) -> list[WabaHeadroom]:
    """For each business account among `senders` with a known, limited tier: how many unique
    recipients its numbers (all of them, not only these) messaged in the last 24 h."""
    now = now or timezone.now()
    limited: dict[str, str] = {}
    for sender in senders:
        limit = TIER_LIMITS.get(sender.messaging_limit_tier)
        if sender.waba_id and limit is not None:
            limited[sender.waba_id] = sender.messaging_limit_tier
    if not limited:
        return []
    used = dict(
        Message.objects.filter(
            workspace=workspace,
            sender__waba_id__in=list(limited),
            accepted_at__gte=now - timedelta(hours=24),
        )
        .values("sender__waba_id")
        .annotate(n=Count("phone", distinct=True))
        .values_list("sender__waba_id", "n")
    )
    return [
        WabaHeadroom(
            waba_id=waba,
            tier=tier,
            limit=TIER_LIMITS[tier] or 0,
            used=int(used.get(waba) or 0),
        )
        for waba, tier in sorted(limited.items())
    ]


def tier_warnings(
    *, workspace: Workspace, senders: list[Sender], recipients_per_number: float
) -> tuple[list[str], int]:
    """The pre-flight's messaging-limit warnings and the days the campaign needs at least
    (1 when every account has room): a WABA whose numbers would message more unique people
    than its tier leaves in the next 24 h sends the rest on the following days."""
    share: dict[str, float] = defaultdict(float)
    for sender in senders:
        if sender.waba_id:
            share[sender.waba_id] += recipients_per_number
    warnings: list[str] = []
    days = 1
    for room in waba_headroom(workspace=workspace, senders=senders):
        wanted = math.ceil(share.get(room.waba_id, 0))
        if wanted <= room.left:
            continue
        rest = wanted - room.left
        needed = 1 + math.ceil(rest / max(room.limit, 1))
        days = max(days, needed)
        warnings.append(
            _(
                "WhatsApp's messaging limit: business account %(waba)s may start conversations "
                "with %(limit)s (%(tier)s, shared by its numbers); %(used)d were messaged in "
                "the last 24 hours, so %(left)d more can be reached today and the other "
                "%(rest)d wait for the next days. Estimated finish: in %(days)d days."
            )
            % {
                "waba": room.waba_id,
                "limit": tier_label(room.tier),
                "tier": room.tier,
                "used": room.used,
                "left": room.left,
                "rest": rest,
                "days": needed,
            }
        )
    return warnings, days
