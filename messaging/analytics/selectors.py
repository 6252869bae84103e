"""Reads of the per-day statistics that the analytics page, the dashboard home, the exports and
the statistics API share, so every place shows the same figures. Nothing here counts message
rows except the drill-down, which lists the messages behind one figure a page at a time."""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import connection
from django.db.models import Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Workspace
from messaging.analytics.models import MessageStat
from messaging.campaigns.models import MESSAGE_PRIORITIES, Campaign, Message, ProgressSplit
from messaging.engine.stats import COUNTERS, FAILED_COUNTERS
from messaging.numbers.models import Sender

MAX_RANGE_DAYS = 366


@dataclass(frozen=True)
class StatsScope:
    """Which figures: a date range (inclusive, in the workspace's time zone) and filters."""

    date_from: date
    date_to: date
    sender_ids: tuple[int, ...] = ()
    campaign_ids: tuple[int, ...] = ()
    template_ids: tuple[int, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def days(self) -> list[date]:
        return [
            self.date_from + timedelta(days=i)
            for i in range((self.date_to - self.date_from).days + 1)
        ]


def default_scope(*, workspace: Workspace, days: int = 30) -> StatsScope:
    today = timezone.localdate(timezone=zoneinfo.ZoneInfo(workspace.time_zone))
    return StatsScope(date_from=today - timedelta(days=days - 1), date_to=today)


def stats_rows(*, workspace: Workspace, scope: StatsScope) -> QuerySet[MessageStat]:
    rows = MessageStat.objects.filter(
        workspace=workspace, day__gte=scope.date_from, day__lte=scope.date_to
    )
    if scope.sender_ids:
        rows = rows.filter(sender_id__in=scope.sender_ids)
    if scope.campaign_ids:
        rows = rows.filter(campaign_id__in=scope.campaign_ids)
    if scope.template_ids:
        rows = rows.filter(campaign__template_id__in=scope.template_ids)
    return rows.order_by()


def _sums() -> dict[str, Sum]:
    return {name: Sum(name) for name in COUNTERS}


def with_rates(figures: dict[str, Any]) -> dict[str, Any]:
    """Add `failed` and the rates a user reads: delivery and failure over what was attempted,
    read/reply/opt-out over what was delivered."""
    row = {name: figures.get(name) or 0 for name in COUNTERS}
    row.update({k: v for k, v in figures.items() if k not in row})
    row["failed"] = sum(row[name] for name in FAILED_COUNTERS)
    attempted = row["accepted"] + row["failed"] - _failed_after_acceptance(row)
    row["attempted"] = attempted

    def rate(part: int, whole: int) -> float | None:
        return round(100.0 * part / whole, 1) if whole else None

    row["delivery_rate"] = rate(row["delivered"], row["accepted"])
    row["read_rate"] = rate(row["read"], row["delivered"])
    row["reply_rate"] = rate(row["replied"], row["delivered"])
    row["failure_rate"] = rate(row["failed"], attempted)
    row["opt_out_rate"] = rate(row["opted_out"], row["delivered"])
    return row


def _failed_after_acceptance(row: dict[str, int]) -> int:
    # Accepted messages that failed later are in both `accepted` and `failed`; accepted minus
    # credits used is exactly those.
    return max(row["accepted"] - row["credits_used"], 0)


def _keyed(rows: Iterable[Mapping[str, Any]], key: str) -> dict[Any, dict[str, Any]]:
    """Rows of a `.values(key).annotate(...)` query by their key (the key taken out)."""
    keyed: dict[Any, dict[str, Any]] = {}
    for row in rows:
        values = dict(row)
        keyed[values.pop(key)] = values
    return keyed


def stats_totals(*, workspace: Workspace, scope: StatsScope) -> dict[str, Any]:
    return with_rates(stats_rows(workspace=workspace, scope=scope).aggregate(**_sums()))


def stats_daily(*, workspace: Workspace, scope: StatsScope) -> list[dict[str, Any]]:
    by_day = _keyed(
        stats_rows(workspace=workspace, scope=scope).values("day").annotate(**_sums()), "day"
    )
    return [{"day": day, **with_rates(by_day.get(day, {}))} for day in scope.days]


def stats_by_sender(*, workspace: Workspace, scope: StatsScope) -> list[dict[str, Any]]:
    """Per number, with its health: status, quality, and today's use of its daily cap."""
    figures = _keyed(
        stats_rows(workspace=workspace, scope=scope).values("sender_id").annotate(**_sums()),
        "sender_id",
    )
    senders = Sender.objects.for_workspace(workspace).filter(
        Q(pk__in=figures) | Q(removed_at__isnull=True)
    )
    if scope.sender_ids:
        senders = senders.filter(pk__in=scope.sender_ids)
    today = timezone.localdate(timezone=zoneinfo.ZoneInfo(workspace.time_zone))
    used_today = dict(
        MessageStat.objects.filter(workspace=workspace, day=today, sender__in=senders)
        .order_by()
        .values("sender_id")
        .annotate(n=Sum("accepted"))
        .values_list("sender_id", "n")
    )
    rows = []
    for sender in senders.order_by("id"):
        row = with_rates(figures.get(sender.pk, {}))
        used = used_today.get(sender.pk) or 0
        row.update(
            sender=sender,
            used_today=used,
            cap_percent=min(100, round(100 * used / sender.daily_cap)) if sender.daily_cap else 0,
        )
        rows.append(row)
    return rows


def stats_by_campaign(
    *, workspace: Workspace, scope: StatsScope, limit: int = 100
) -> list[dict[str, Any]]:
    """Campaign comparison: the campaigns with activity in the range, newest first."""
    figures = _keyed(
        stats_rows(workspace=workspace, scope=scope)
        .filter(campaign__isnull=False)
        .values("campaign_id")
        .annotate(**_sums()),
        "campaign_id",
    )
    campaigns = (
        Campaign.objects.for_workspace(workspace)
        .filter(pk__in=figures)
        .select_related("template", "whatsapp_template")
        .order_by("-created_at")[:limit]
    )
    return [{"campaign": c, **with_rates(figures[c.pk])} for c in campaigns]


FAILURE_ADVICE: dict[str, tuple[Any, Any]] = {
    "failed_recipient": (
        _("Recipient cannot receive"),
        _(
            "The number is not on WhatsApp, or the person stopped marketing messages. These "
            "contacts are marked and left out of later campaigns; clean your list at the source."
        ),
    ),
    "failed_content": (
        _("Message or template rejected"),
        _(
            "The request itself was refused (template not approved, wrong parameters, media "
            "not reachable). Retrying sends the same error: fix the template and send again."
        ),
    ),
    "failed_temporary": (
        _("Refused for now"),
        _(
            "WhatsApp kept answering 'try later', or held the message back to protect the "
            "recipient (131049: send to them again no sooner than tomorrow). Send again later, "
            "slower, or to fewer people at once."
        ),
    ),
    "failed_sender": (
        _("Number blocked or disconnected"),
        _(
            "The sending number was banned, restricted or logged out. Check it on the Numbers "
            "page, reconnect it or add another number; queued messages move to healthy numbers."
        ),
    ),
    "failed_other": (
        _("Other errors"),
        _("Unclassified errors. Open the messages to see each error code and its text."),
    ),
}


def stats_failures(*, workspace: Workspace, scope: StatsScope) -> list[dict[str, Any]]:
    totals = stats_totals(workspace=workspace, scope=scope)
    return [
        {
            "metric": name,
            "label": FAILURE_ADVICE[name][0],
            "advice": FAILURE_ADVICE[name][1],
            "count": totals[name],
        }
        for name in FAILED_COUNTERS
    ]


# The drill-down: the messages behind a figure, selected by the same events the table counts.
DRILL_METRICS = (*COUNTERS, "failed")
_OPEN = ("queued", "sending", "ambiguous")
_KIND_GROUPS = {
    "failed_recipient": ("recipient_permanent",),
    "failed_content": ("fix_request",),
    "failed_temporary": ("retry_later", "rate_limited", "recipient_wait", "ambiguous"),
    "failed_sender": ("sender_blocked", "credentials_invalid"),
}


def _between(column: str, start: datetime, end: datetime) -> Q:
    return Q(**{f"{column}__gte": start, f"{column}__lt": end})


def metric_filter(metric: str, start: datetime, end: datetime) -> Q:
    """The messages that added to `metric` between two moments (mirrors engine/stats.py)."""
    changed = _between("status_changed_at", start, end)
    failed = Q(status="failed") & changed
    known_kinds = [kind for kinds in _KIND_GROUPS.values() for kind in kinds]
    return {
        "created": _between("created_at", start, end),
        "pending": _between("created_at", start, end) & Q(status__in=_OPEN),
        "skipped": _between("created_at", start, end) & Q(status="skipped"),
        "accepted": _between("accepted_at", start, end),
        "sent": _between("accepted_at", start, end) & Q(status__in=("sent", "delivered", "read")),
        "credits_used": _between("accepted_at", start, end) & ~Q(status="failed"),
        "delivered": _between("delivered_at", start, end)
        | (Q(delivered_at__isnull=True) & _between("read_at", start, end)),
        "read": _between("read_at", start, end),
        "replied": _between("replied_at", start, end),
        "opted_out": _between("opted_out_at", start, end)
        | (Q(opted_out_at__isnull=True, error_code=131050) & failed),
        "failed": failed,
        "failed_other": failed & ~Q(error_kind__in=known_kinds),
        "cancelled": Q(status__in=("cancelled", "expired")) & changed,
        **{name: failed & Q(error_kind__in=kinds) for name, kinds in _KIND_GROUPS.items()},
    }[metric]


def drill_messages(*, workspace: Workspace, scope: StatsScope, metric: str) -> QuerySet[Message]:
    tz = zoneinfo.ZoneInfo(workspace.time_zone)
    start = datetime.combine(scope.date_from, time.min, tzinfo=tz)
    end = datetime.combine(scope.date_to + timedelta(days=1), time.min, tzinfo=tz)
    messages = Message.objects.filter(workspace=workspace).filter(metric_filter(metric, start, end))
    if scope.sender_ids:
        messages = messages.filter(sender_id__in=scope.sender_ids)
    if scope.campaign_ids:
        messages = messages.filter(campaign_id__in=scope.campaign_ids)
    if scope.template_ids:
        messages = messages.filter(campaign__template_id__in=scope.template_ids)
    return messages


@dataclass(frozen=True)
class CampaignFigures:
    """Everything the live campaign page counts, from one grouped query of the statistics
    table: the per-number rows, the top cards (their sums, so the two always agree), the
    failure classes and how many accepted messages still wait for their final status."""

    per_number: list[dict[str, Any]]
    totals: dict[str, Any]
    failure_classes: list[dict[str, Any]]

    @property
    def unsettled(self) -> int:
        """Accepted, not failed and not delivered yet (in `accepted` or `sent`): their
        delivery, read or failure reports may still arrive."""
        return max(self.totals["credits_used"] - self.totals["delivered"], 0)

    def progress(self, recipients: int) -> ProgressSplit:
        return ProgressSplit.of(
            attempted=self.totals["attempted"],
            not_sent=self.totals["skipped"] + self.totals["cancelled"],
            recipients=recipients,
        )

    def progress_percent(self, recipients: int) -> int:
        return self.progress(recipients).done


def campaign_figures(*, campaign: Campaign) -> CampaignFigures:
    """The campaign's figures (all days) for its live page: two queries whatever its size."""
    by_sender = _keyed(
        MessageStat.objects.filter(campaign=campaign)
        .order_by()
        .values("sender_id")
        .annotate(**_sums()),
        "sender_id",
    )
    senders = {s.pk: s for s in Sender.objects.filter(pk__in=by_sender)}
    per_number = [
        {"sender": senders[pk], **with_rates(row)}
        for pk, row in sorted(by_sender.items())
        if pk in senders
    ]
    summed = {name: sum(row.get(name) or 0 for row in by_sender.values()) for name in COUNTERS}
    totals = with_rates(summed)
    failure_classes = [
        {
            "metric": name,
            "label": FAILURE_ADVICE[name][0],
            "advice": FAILURE_ADVICE[name][1],
            "count": totals[name],
        }
        for name in FAILED_COUNTERS
        if totals[name]
    ]
    return CampaignFigures(per_number=per_number, totals=totals, failure_classes=failure_classes)


#: After a campaign stops (completed, cancelled, expired, paused) its page keeps refreshing
#: for at least SETTLE_QUIET, and while accepted messages still wait for their delivery
#: report, for up to SETTLE_MAX: late statuses and failures (refunds) then show by themselves.
SETTLE_QUIET = timedelta(seconds=60)
SETTLE_MAX = timedelta(minutes=15)


def campaign_page_is_live(*, campaign: Campaign, figures: CampaignFigures | None) -> bool:
    """Whether the campaign page should keep polling (see SETTLE_QUIET and SETTLE_MAX)."""
    if campaign.status in (Campaign.Status.LAUNCHING, Campaign.Status.RUNNING):
        return True
    if campaign.status in (Campaign.Status.DRAFT, Campaign.Status.SCHEDULED):
        return False
    since = campaign.finished_at or campaign.status_changed_at
    age = timezone.now() - since
    if age < SETTLE_QUIET:
        return True
    return figures is not None and figures.unsettled > 0 and age < SETTLE_MAX


#: A running campaign whose next message is further away than this shows when it goes out.
NEXT_SEND_SHOWN_AFTER = timedelta(seconds=30)


def campaign_next_send(*, campaign: Campaign) -> datetime | None:
    """When a running campaign's next message is due, if that is a while away (a planned
    break, the send window, a number's pause): the page then says so instead of just
    "Running". One probe of the due index per number and priority, never a count."""
    if campaign.status != Campaign.Status.RUNNING:
        return None
    senders = list(campaign.senders.values_list("pk", flat=True))
    if not senders:
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT min(first.due) FROM unnest(%s::bigint[]) AS s(id)
            CROSS JOIN unnest(%s::smallint[]) AS p(priority)
            CROSS JOIN LATERAL (
                SELECT m.next_attempt_at AS due FROM {Message._meta.db_table} m
                WHERE m.sender_id = s.id AND m.campaign_id = %s
                  AND m.indexed_status = 'queued' AND m.priority = p.priority
                ORDER BY m.sender_id, m.campaign_id, m.priority DESC, m.next_attempt_at
                LIMIT 1
            ) AS first
            """,  # noqa: S608 # nosec B608: the table's name from the model, values are parameters
            [senders, list(MESSAGE_PRIORITIES), campaign.pk],
        )
        due: datetime | None = cursor.fetchone()[0]
    if due is None or due - timezone.now() < NEXT_SEND_SHOWN_AFTER:
        return None
    return due


def campaign_cap_waits(*, campaign: Campaign) -> list[dict[str, Any]]:
    """The campaign's numbers whose share waits for their daily cap, with the reason ("daily
    limit of N reached; resumes at HH:MM in your time zone") and when they resume. Read from
    the numbers' rows (`Sender.capped_until`, set by the drainer), never from Redis."""
    if campaign.status not in (Campaign.Status.RUNNING, Campaign.Status.PAUSED):
        return []
    waiting = campaign.senders.filter(capped_until__gt=timezone.now()).select_related("workspace")
    return [
        {
            "sender": sender,
            "reason": sender.cap_wait_reason,
            "resumes_at": sender.capped_until,
        }
        for sender in waiting.order_by("pk")
    ]
