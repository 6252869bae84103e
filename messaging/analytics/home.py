"""Reads for the dashboard home: the last week's figures against the week before, the campaigns
in flight, credits, number health, the latest replies and the "get started" checklist.

Every figure comes from the per-day statistics (`selectors_stats`) or from denormalised
counters; nothing here counts message rows, and the number of queries does not grow with the
number of campaigns, numbers or replies."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from django.db.models import Exists, F, OuterRef
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Workspace
from billing import selectors as billing_selectors
from billing import services as billing
from messaging.analytics.models import MessageStat
from messaging.analytics.selectors import default_scope, stats_by_sender, stats_totals
from messaging.campaigns.models import Campaign, InboundMessage
from messaging.contacts.models import Contact
from messaging.content.models import MessageTemplate
from messaging.numbers.models import Sender

HOME_DAYS = 7
ACTIVE_CAMPAIGNS_SHOWN = 10
RECENT_REPLIES_SHOWN = 5

#: Campaigns the home page follows, and those among them that still move on their own.
ACTIVE_STATUSES = (
    Campaign.Status.LAUNCHING,
    Campaign.Status.RUNNING,
    Campaign.Status.PAUSED,
    Campaign.Status.SCHEDULED,
)
MOVING_STATUSES = (Campaign.Status.LAUNCHING, Campaign.Status.RUNNING, Campaign.Status.SCHEDULED)

# (figure, label, rate shown under it, rate label, whether a rise is good news)
_KPIS: tuple[tuple[str, Any, str, Any, bool], ...] = (
    ("accepted", _("Sent"), "", "", True),
    ("delivered", _("Delivered"), "delivery_rate", _("of sent"), True),
    ("read", _("Read"), "read_rate", _("of delivered"), True),
    ("replied", _("Replied"), "reply_rate", _("of delivered"), True),
    ("failed", _("Failed"), "failure_rate", _("of attempted"), False),
)


def _delta(current: int, previous: int, *, rise_is_good: bool) -> dict[str, Any]:
    if current == previous:
        return {"direction": "flat", "percent": 0 if previous else None, "good": None}
    direction = "up" if current > previous else "down"
    return {
        "direction": direction,
        # No percentage against an empty week: "+100 %" of nothing means nothing.
        "percent": round(100 * abs(current - previous) / previous) if previous else None,
        "good": (direction == "up") == rise_is_good,
    }


def home_kpis(*, workspace: Workspace) -> dict[str, Any]:
    """The last `HOME_DAYS` days (today included) and the same span just before (two queries)."""
    scope = default_scope(workspace=workspace, days=HOME_DAYS)
    before = replace(
        scope,
        date_from=scope.date_from - timedelta(days=HOME_DAYS),
        date_to=scope.date_from - timedelta(days=1),
    )
    totals = stats_totals(workspace=workspace, scope=scope)
    previous = stats_totals(workspace=workspace, scope=before)
    kpis = [
        {
            "key": key,
            "label": label,
            "value": totals[key],
            "previous": previous[key],
            "rate": totals[rate] if rate else None,
            "rate_label": rate_label,
            **_delta(totals[key], previous[key], rise_is_good=good),
        }
        for key, label, rate, rate_label, good in _KPIS
    ]
    return {"scope": scope, "previous_scope": before, "totals": totals, "kpis": kpis}


def home_active_campaigns(*, workspace: Workspace) -> dict[str, Any]:
    """Campaigns in flight with their progress (the counters live on the row: one query)."""
    campaigns = list(
        Campaign.objects.for_workspace(workspace)
        .filter(status__in=ACTIVE_STATUSES)
        .order_by("-launched_at", "scheduled_at", "-created_at")[:ACTIVE_CAMPAIGNS_SHOWN]
    )
    return {
        "campaigns": campaigns,
        "moving": any(c.status in MOVING_STATUSES for c in campaigns),
    }


def home_credits(*, workspace: Workspace) -> dict[str, Any]:
    balance = billing.credits_balance(workspace=workspace)
    prefs = billing_selectors.billing_settings_for(workspace=workspace)
    # The nearest expiry that would cost something: a live lot with unreserved credits
    # (reserved credits stay usable by their campaign after the lot expires).
    next_lot = (
        billing_selectors.lots_for_workspace(workspace=workspace)
        .filter(
            revoked_at__isnull=True,
            expired_at__isnull=True,
            expires_at__gt=timezone.now(),
            credits_remaining__gt=F("credits_reserved"),
        )
        .first()
    )
    return {
        "balance": balance,
        "low_balance": prefs.low_balance_threshold > 0
        and balance.available < prefs.low_balance_threshold,
        "next_expiry": (
            {"at": next_lot.expires_at, "credits": next_lot.credits_free} if next_lot else None
        ),
    }


def home_numbers(*, workspace: Workspace, kpis: dict[str, Any]) -> list[dict[str, Any]]:
    """Each live number: status, quality, today's use of its daily cap, the week's rates."""
    rows = stats_by_sender(workspace=workspace, scope=kpis["scope"])
    return [row for row in rows if row["sender"].is_live]


def home_replies(*, workspace: Workspace, senders: list[int] | None = None) -> list[InboundMessage]:
    """The newest replies; `senders`: only these numbers' (a member restricted to some
    numbers in the inbox sees no reply of the others here either)."""
    qs = InboundMessage.objects.for_workspace(workspace)
    if senders is not None:
        qs = qs.filter(sender_id__in=senders)
    return list(
        qs.select_related("contact", "campaign").order_by("-received_at", "-id")[
            :RECENT_REPLIES_SHOWN
        ]
    )


def home_checklist(*, workspace: Workspace) -> dict[str, bool]:
    """The first steps, each done or not (one query)."""
    ws = OuterRef("pk")
    found = (
        Workspace.objects.filter(pk=workspace.pk)
        .annotate(
            number=Exists(
                Sender.objects.filter(
                    workspace=ws, removed_at__isnull=True, status=Sender.Status.ACTIVE
                )
            ),
            contacts=Exists(Contact.objects.filter(workspace=ws)),
            template=Exists(MessageTemplate.objects.filter(workspace=ws)),
            message=Exists(MessageStat.objects.filter(workspace=ws)),
        )
        .values("number", "contacts", "template", "message")
        .first()
    ) or {"number": False, "contacts": False, "template": False, "message": False}
    steps: dict[str, bool] = {key: bool(value) for key, value in found.items()}
    return {**steps, "all_done": all(steps.values())}


def dashboard_home(*, workspace: Workspace, senders: list[int] | None = None) -> dict[str, Any]:
    """Everything the dashboard home shows, in a constant number of queries; `senders`
    limits the replies to the numbers whose conversations the reader sees (None: all)."""
    kpis = home_kpis(workspace=workspace)
    numbers = home_numbers(workspace=workspace, kpis=kpis)
    return {
        **kpis,
        **home_active_campaigns(workspace=workspace),
        **home_credits(workspace=workspace),
        "numbers": numbers,
        "test_number": next(
            (row["sender"] for row in numbers if row["sender"].status == Sender.Status.ACTIVE),
            None,
        ),
        "replies": home_replies(workspace=workspace, senders=senders),
        "checklist": home_checklist(workspace=workspace),
    }
