"""Reads about campaigns that the pre-flight, the campaign page and the API share: the signals
the ban-risk score is computed from (`messaging.campaigns.risk`), gathered with one query per
kind of figure (never one per contact)."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from accounts.models import Workspace
from messaging.analytics.models import MessageStat
from messaging.campaigns.models import Campaign, Message, SendingPolicy
from messaging.campaigns.risk import Risk, RiskSignals, risk_score
from messaging.contacts.audience import Audience, audience_recipients
from messaging.contacts.models import Contact
from messaging.content.models import MessageTemplate, WhatsAppTemplate
from messaging.content.rendering import Alt, TemplateError, parse, variables_of
from messaging.engine.caps import cap_day, cap_used, effective_daily_cap
from messaging.engine.frequency import within_frequency_cap
from messaging.numbers.models import Sender, WarmupPlan

BLOCK_CODES = (131048, 131049)
#: The most fragile provider first: the score uses the campaign's most fragile number.
_FRAGILITY = {"web_gateway": 2, "sandbox": 1, "cloud_api": 0}
_QUALITY_BADNESS = {"red": 3, "yellow": 2, "unknown": 1, "green": 0}


def _text_diversity(campaign: Campaign) -> tuple[int, int, bool]:
    """(variants, `{a|b}` groups, uses contact variables) of the campaign's text."""
    if campaign.template is None:
        personalised = bool(campaign.template_variables)
        return 1, 0, personalised
    variants = [v for v in campaign.template.variants if v.strip()]
    alternatives, personalised = 0, False
    for text in variants:
        try:
            nodes = parse(text)
        except TemplateError:
            continue
        alternatives = max(alternatives, sum(1 for n in nodes if isinstance(n, Alt)))
        personalised = personalised or bool(variables_of(nodes))
    return max(len(variants), 1), alternatives, personalised


def _per_minute(campaign: Campaign, senders: list[Sender]) -> float:
    """The pace one number sends this campaign at, in messages per minute."""
    per_second = float((campaign.pacing or {}).get("per_second") or 0)
    number_pace = min(
        (
            60.0
            / max(1 / max(s.throughput_per_second, 1), (s.min_interval_ms + s.jitter_ms / 2) / 1000)
            for s in senders
        ),
        default=60.0,
    )
    return min(per_second * 60, number_pace) if per_second else number_pace


def campaign_risk_signals(
    *, campaign: Campaign, senders: list[Sender], recipients: QuerySet[Contact]
) -> RiskSignals:
    """The recorded figures for `campaign` about to go to `recipients` from `senders`."""
    now = timezone.now()
    ids = [s.pk for s in senders]
    earlier = Message.objects.filter(workspace_id=campaign.workspace_id, contact_id__isnull=False)
    if campaign.pk is not None:  # a draft not saved yet (the builder) has no messages of its own
        earlier = earlier.exclude(campaign_id=campaign.pk)
    shares = recipients.aggregate(
        total=Count("id"),
        # NOT IN over one uncorrelated sub-query: PostgreSQL hashes it once (a correlated
        # EXISTS inside FILTER would run once per contact).
        never=Count("id", filter=~Q(id__in=earlier.values("contact_id"))),
        no_consent=Count("id", filter=Q(consent_source="")),
    )
    total = shares["total"] or 0
    # (daily figures are filed under the workspace's own calendar day)
    today = timezone.localdate(now, ZoneInfo(campaign.workspace.time_zone))
    week_ago, month_ago = today - timedelta(days=7), today - timedelta(days=30)
    stats = MessageStat.objects.filter(sender_id__in=ids, day__gte=month_ago).aggregate(
        history=Sum("accepted"),
        sent=Sum("accepted", filter=Q(day__gte=week_ago)),
        opted_out=Sum("opted_out", filter=Q(day__gte=week_ago)),
        failed=Sum(
            "failed_recipient",
            filter=Q(day__gte=week_ago),
        ),
    )
    blocked = Message.objects.filter(
        sender_id__in=ids,
        error_code__in=BLOCK_CODES,
        status_changed_at__gte=now - timedelta(days=7),
    ).count()
    variants, alternatives, personalised = _text_diversity(campaign)
    plans = {
        p.sender_id: p.cap_today
        for p in WarmupPlan.objects.filter(
            sender_id__in=ids, state__in=[WarmupPlan.State.RUNNING, WarmupPlan.State.HOLDING]
        )
    }
    warm_caps = [c for c in plans.values() if c is not None]
    return RiskSignals(
        audience=total,
        numbers=max(len(senders), 1),
        provider=max((s.provider for s in senders), key=lambda p: _FRAGILITY.get(p, 0))
        if senders
        else "cloud_api",
        number_age_days=min(((now - s.created_at).days for s in senders), default=0),
        number_history=int(stats["history"] or 0),
        never_messaged_share=(shares["never"] or 0) / total if total else 0.0,
        without_consent_share=(shares["no_consent"] or 0) / total if total else 0.0,
        variants=variants,
        alternatives=alternatives,
        personalised=personalised,
        whatsapp_template=campaign.whatsapp_template_id is not None,
        per_minute=_per_minute(campaign, senders),
        recent_sent=int(stats["sent"] or 0),
        recent_opted_out=int(stats["opted_out"] or 0),
        recent_blocked=blocked,
        recent_failed=int(stats["failed"] or 0),
        quality=max(
            (s.quality for s in senders),
            key=lambda q: _QUALITY_BADNESS.get(q, 1),
            default="unknown",
        ),
        warmup_cap=min(warm_caps) if warm_caps else None,
    )


def campaign_risk(
    *, campaign: Campaign, senders: list[Sender], recipients: QuerySet[Contact]
) -> Risk:
    """The campaign's ban-risk score with its reasons (`messaging.campaigns.risk`)."""
    signals = campaign_risk_signals(campaign=campaign, senders=senders, recipients=recipients)
    return risk_score(signals, confirm_at=settings.RISK_CONFIRM_SCORE)


def workspace_risk_max(*, workspace_id: int) -> int | None:
    """The highest ban-risk score the workspace lets a launch have, or None (no limit)."""
    policy = SendingPolicy.objects.filter(workspace_id=workspace_id).first()
    return policy.max_risk_score if policy is not None else None


def campaign_draft_risk(
    *,
    workspace: Workspace,
    senders: list[Sender],
    audience: Audience,
    template: MessageTemplate | None = None,
    whatsapp_template: WhatsAppTemplate | None = None,
    template_variables: dict[str, Any] | None = None,
    pacing: dict[str, Any] | None = None,
) -> Risk:
    """The ban-risk score of a campaign still being written in the builder (nothing saved),
    from the same signals and the same recipients (frequency cap applied) as the pre-flight,
    so the score the builder shows is the one the launch will check. The caller passes a
    cleaned audience and resolved pacing (`audience_clean`, `pacing_clean`) and the
    workspace's own objects."""
    if any(s.workspace_id != workspace.pk for s in senders):
        raise ValueError("sender of another workspace")
    draft = Campaign(
        workspace=workspace,
        template=template,
        whatsapp_template=whatsapp_template,
        template_variables=template_variables or {},
        pacing=pacing or {},
    )
    recipients = within_frequency_cap(
        draft, audience_recipients(workspace=workspace, audience=audience)
    )
    return campaign_risk(campaign=draft, senders=senders, recipients=recipients)


def warmup_calendar(
    *,
    senders: list[Sender],
    recipients: int,
    today_left: dict[int, int] | None = None,
    count_today: bool = False,
) -> list[dict[str, Any]]:
    """The days a campaign of `recipients` spread evenly over `senders` is expected to take
    while warm-up plans limit them: [{"day": date, "sends": n}], assuming each plan advances
    after every healthy day (a bad day holds it, and the campaign simply takes longer).
    Empty when no number is warming up. Today holds what is left of each number's cap
    (`today_left`, or counted here with `count_today`): a number that sent its 50 this morning
    sends nothing more today, whatever its step says."""
    plans = {
        p.sender_id: p
        for p in WarmupPlan.objects.filter(
            sender_id__in=[s.pk for s in senders],
            state__in=[WarmupPlan.State.RUNNING, WarmupPlan.State.HOLDING],
        )
    }
    if not plans or not senders or recipients <= 0:
        return []
    if today_left is None and count_today:
        today_left = {
            s.pk: max(effective_daily_cap(s) - cap_used(sender=s, day=cap_day(s).day), 0)
            for s in senders
        }
    share = math.ceil(recipients / len(senders))
    by_day: dict[int, int] = {}
    for sender in senders:
        plan = plans.get(sender.pk)
        left = share
        offset = 0
        first = (today_left or {}).get(sender.pk)
        while left > 0 and offset < 366:
            if plan is None:
                cap = sender.daily_cap
            else:
                cap = min(
                    sender.daily_cap, int(plan.steps[min(plan.step + offset, len(plan.steps) - 1)])
                )
            if offset == 0 and first is not None:
                cap = min(cap, first)
            sends = min(cap, left)
            if sends:
                by_day[offset] = by_day.get(offset, 0) + sends
            left -= sends
            offset += 1
    start = timezone.localdate()
    return [
        {"day": start + timedelta(days=offset), "sends": n} for offset, n in sorted(by_day.items())
    ]


def effective_caps(senders: list[Sender]) -> dict[int, int]:
    """Each number's daily cap today (warm-up included)."""
    return {s.pk: effective_daily_cap(s) for s in senders}
