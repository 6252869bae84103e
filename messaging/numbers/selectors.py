"""Reads of numbers that pages, the API and tasks share."""

from __future__ import annotations

from django.conf import settings
from django.db.models import Count, QuerySet, Sum
from django.urls import reverse
from django.utils import timezone

from accounts.models import Workspace
from messaging.analytics.models import MessageStat
from messaging.campaigns.models import Message
from messaging.engine.caps import cap_day
from messaging.numbers.models import NumberHealthChange, NumberPaceChange, Sender


def sender_webhook_url(sender: Sender) -> str:
    """The callback URL to paste in Meta's app settings (or the gateway's session)."""
    name = (
        "webhook_web_gateway"
        if sender.provider == Sender.Provider.WEB_GATEWAY
        else ("webhook_whatsapp")
    )
    return settings.SITE_URL + reverse(f"messaging_webhooks:{name}", args=[sender.public_id])


def numbers_live(*, workspace: Workspace) -> QuerySet[Sender]:
    """The workspace's connected numbers (removed ones are history)."""
    return Sender.objects.for_workspace(workspace).filter(removed_at__isnull=True)


def numbers_today_used(*, workspace: Workspace, senders: list[Sender]) -> dict[int, int]:
    """Each number's use of today's cap, as the limiter rebuilds it (`engine.caps.cap_used`):
    accepted today in the workspace's day plus in flight, in two queries for all numbers."""
    if not senders:
        return {}
    day = cap_day(senders[0], timezone.now()).day  # one workspace, one time zone, one day
    ids = [s.pk for s in senders]
    accepted = dict(
        MessageStat.objects.filter(workspace=workspace, sender_id__in=ids, day=day)
        .values("sender_id")
        .annotate(n=Sum("accepted"))
        .values_list("sender_id", "n")
    )
    in_flight = dict(
        Message.objects.filter(
            workspace=workspace,
            sender_id__in=ids,
            indexed_status__in=[Message.Status.SENDING, Message.Status.AMBIGUOUS],
            accepted_at__isnull=True,
        )
        .values("sender_id")
        .annotate(n=Count("id"))
        .values_list("sender_id", "n")
    )
    return {pk: int(accepted.get(pk) or 0) + int(in_flight.get(pk) or 0) for pk in ids}


def number_health_history(
    *, workspace: Workspace, sender: Sender, limit: int = 50
) -> list[NumberHealthChange]:
    """The number's quality, tier and throughput changes, newest first."""
    return list(NumberHealthChange.objects.for_workspace(workspace).filter(sender=sender)[:limit])


def number_pace_history(
    *, workspace: Workspace, sender: Sender, limit: int = 30
) -> list[NumberPaceChange]:
    """The pace changes protection made to the number (lowered, raised, restored), newest
    first."""
    return list(NumberPaceChange.objects.for_workspace(workspace).filter(sender=sender)[:limit])


def numbers_last_health_change(
    *, workspace: Workspace, senders: list[Sender]
) -> dict[int, NumberHealthChange]:
    """Each number's latest health change (the numbers list), in one query."""
    return {
        change.sender_id: change
        for change in NumberHealthChange.objects.for_workspace(workspace)
        .filter(sender_id__in=[s.pk for s in senders])
        .order_by("sender_id", "-changed_at", "-id")
        .distinct("sender_id")
    }
