"""Warm-up plans for new and replacement numbers (issue #21).

A plan is a schedule of daily caps (`WARMUP_STEPS`: 50, 100, 200, ...). The engine sends at most
min(the number's daily cap, the plan's cap today) a day (`messaging.engine.caps`), so a campaign
larger than today's cap simply continues the next day (the campaign page says so and shows the
calendar). Once a day the previous local day is judged (`warmup_decide`, pure):

- healthy (something was delivered, opt-outs and blocks under their thresholds): one step up,
  and after the last step the plan is done (the number's own cap applies);
- no sends, or deliveries not yet up: hold (nothing learned);
- bad (blocks 131048/131049 or opt-outs above the thresholds, or a red quality rating): fall
  back one step and hold.

The state lives in PostgreSQL: a restarted worker or a flushed Redis keeps the plan's cap."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy

from accounts.models import User, Workspace
from accounts.services import audit_record
from messaging.analytics.models import MessageStat
from messaging.campaigns.models import Message
from messaging.engine.caps import cap_day
from messaging.numbers.models import Sender, WarmupPlan

BLOCK_CODES = (131048, 131049)
#: A judged day, as the number's page says it.
OUTCOME_LABELS = {
    "advanced": gettext_lazy("one step up"),
    "held": gettext_lazy("held"),
    "fell_back": gettext_lazy("one step back"),
}
WHY_LABELS = {
    "healthy": gettext_lazy("a healthy day"),
    "no_deliveries": gettext_lazy("nothing delivered yet"),
    "opt_outs": gettext_lazy("too many opt-outs"),
    "blocks": gettext_lazy("messages blocked as spam (131048/131049)"),
    "quality_red": gettext_lazy("Meta rates the quality low"),
}
HEALTHY_OPT_OUT_RATE = 0.02
HEALTHY_BLOCK_RATE = 0.005
BAD_OPT_OUT_RATE = 0.05
BAD_BLOCK_RATE = 0.02


@dataclass(frozen=True)
class DaySignals:
    """One number's figures for one day."""

    accepted: int = 0
    delivered: int = 0
    opted_out: int = 0
    blocked: int = 0
    quality: str = "unknown"


def warmup_decide(signals: DaySignals) -> tuple[str, str]:
    """("advanced" | "held" | "fell_back", why) for a day's signals. Pure."""
    sent = max(signals.accepted, 0)
    if signals.quality == Sender.Quality.RED:
        return "fell_back", "quality_red"
    if sent:
        if signals.blocked / sent > BAD_BLOCK_RATE:
            return "fell_back", "blocks"
        if signals.opted_out / sent > BAD_OPT_OUT_RATE:
            return "fell_back", "opt_outs"
        if signals.blocked / sent > HEALTHY_BLOCK_RATE:
            return "held", "blocks"
        if signals.opted_out / sent > HEALTHY_OPT_OUT_RATE:
            return "held", "opt_outs"
    if signals.delivered <= 0:
        return "held", "no_deliveries"
    return "advanced", "healthy"


@transaction.atomic
def warmup_start(
    *,
    workspace: Workspace,
    sender: Sender,
    actor: User | None = None,
    steps: list[int] | None = None,
) -> WarmupPlan:
    """Start (or restart) `sender`'s warm-up plan from its first step."""
    if sender.workspace_id != workspace.pk:
        raise ValueError("sender of another workspace")
    steps = [int(n) for n in (steps or settings.WARMUP_STEPS) if int(n) > 0]
    plan, _created = WarmupPlan.objects.update_or_create(
        sender=sender,
        defaults={
            "workspace": workspace,
            "steps": steps,
            "step": 0,
            "state": WarmupPlan.State.RUNNING,
            "started_on": cap_day(sender).day,
            "evaluated_on": None,
            "history": [],
        },
    )
    audit_record(
        workspace=workspace,
        action="number.warmup_started",
        actor=actor,
        target=sender,
        details={"first_cap": steps[0] if steps else 0, "steps": len(steps)},
    )
    return plan


@transaction.atomic
def warmup_stop(*, workspace: Workspace, sender: Sender, actor: User | None) -> None:
    """The owner ends the plan early: the number's own daily cap applies again."""
    updated = WarmupPlan.objects.filter(
        workspace=workspace,
        sender=sender,
        state__in=[WarmupPlan.State.RUNNING, WarmupPlan.State.HOLDING],
    ).update(state=WarmupPlan.State.STOPPED)
    if updated:
        audit_record(
            workspace=workspace, action="number.warmup_stopped", actor=actor, target=sender
        )


def _day_signals(plan: WarmupPlan, day: date, start: datetime, end: datetime) -> DaySignals:
    stats = MessageStat.objects.filter(sender_id=plan.sender_id, day=day).aggregate(
        accepted=Sum("accepted"), delivered=Sum("delivered"), opted_out=Sum("opted_out")
    )
    blocked = Message.objects.filter(
        sender_id=plan.sender_id,
        error_code__in=BLOCK_CODES,
        status_changed_at__gte=start,
        status_changed_at__lt=end,
    ).count()
    return DaySignals(
        accepted=int(stats["accepted"] or 0),
        delivered=int(stats["delivered"] or 0),
        opted_out=int(stats["opted_out"] or 0),
        blocked=blocked,
        quality=plan.sender.quality,
    )


def warmup_evaluate(*, plan_id: int, now: datetime | None = None) -> str | None:
    """Judge the plan's previous local day once (locked, so two beats never judge it twice).
    Returns the outcome, or None when there was nothing to judge."""
    with transaction.atomic():
        plan = (
            WarmupPlan.objects.select_for_update()
            .select_related("sender", "sender__workspace")
            .filter(pk=plan_id, state__in=[WarmupPlan.State.RUNNING, WarmupPlan.State.HOLDING])
            .first()
        )
        if plan is None:
            return None
        today = cap_day(plan.sender, now)
        yesterday = today.day - timedelta(days=1)
        if yesterday < plan.started_on or (plan.evaluated_on and plan.evaluated_on >= yesterday):
            return None
        end = today.resumes_at - timedelta(days=1)  # today's local midnight
        signals = _day_signals(plan, yesterday, end - timedelta(days=1), end)
        outcome, why = warmup_decide(signals)
        cap_before = plan.cap_today
        if outcome == "advanced":
            if plan.step + 1 >= len(plan.steps):
                plan.state = WarmupPlan.State.DONE
            else:
                plan.step += 1
                plan.state = WarmupPlan.State.RUNNING
        elif outcome == "fell_back":
            plan.step = max(plan.step - 1, 0)
            plan.state = WarmupPlan.State.HOLDING
        else:
            plan.state = WarmupPlan.State.HOLDING if why != "no_deliveries" else plan.state
        plan.evaluated_on = yesterday
        plan.history = [
            *plan.history,
            {
                "day": yesterday.isoformat(),
                "cap": cap_before,
                "outcome": outcome,
                "why": why,
                "accepted": signals.accepted,
                "delivered": signals.delivered,
                "opted_out": signals.opted_out,
                "blocked": signals.blocked,
            },
        ][-120:]
        plan.save(update_fields=["step", "state", "evaluated_on", "history"])
        if outcome != "held":
            audit_record(
                workspace=plan.sender.workspace,
                action=f"number.warmup_{outcome}",
                target=plan.sender,
                details={"cap": plan.cap_today or plan.sender.daily_cap, "why": why},
            )
    return outcome


def warmups_evaluate(now: datetime | None = None) -> dict[int, str]:
    """The beat's pass over every running plan (a plan is judged once a day)."""
    ids = list(
        WarmupPlan.objects.filter(
            state__in=[WarmupPlan.State.RUNNING, WarmupPlan.State.HOLDING]
        ).values_list("pk", flat=True)
    )
    done: dict[int, str] = {}
    for plan_id in ids:
        outcome = warmup_evaluate(plan_id=plan_id, now=now)
        if outcome:
            done[plan_id] = outcome
    return done


def warmup_schedule(plan: WarmupPlan, *, daily_cap: int, days: int = 14) -> list[dict[str, Any]]:
    """The plan's expected caps for the next `days` days if every day is healthy."""
    start = timezone.localdate()
    rows = []
    for offset in range(days):
        index = plan.step + offset
        if index >= len(plan.steps):
            break
        rows.append(
            {"day": start + timedelta(days=offset), "cap": min(daily_cap, plan.steps[index])}
        )
    return rows


def warmup_history(plan: WarmupPlan) -> list[dict[str, Any]]:
    """The plan's judged days, newest first, in words."""
    return [
        {
            **row,
            "outcome_label": OUTCOME_LABELS.get(row.get("outcome", ""), row.get("outcome", "")),
            "why_label": WHY_LABELS.get(row.get("why", ""), row.get("why", "")),
        }
        for row in reversed(plan.history)
    ]
