"""Warm-up plans (issue #21): a new number's daily cap follows the plan's steps; a campaign
larger than today's cap goes out over the plan's days (the pre-flight and the campaign page show
the calendar, the wait says why); the plan's cap holds after a worker restart and a Redis flush;
a healthy day advances the plan, a bad one falls back."""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connections
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from messaging.analytics.models import MessageStat
from messaging.campaigns import services as campaigns
from messaging.campaigns.models import Campaign, Message
from messaging.engine import dispatch
from messaging.engine.caps import cap_day, effective_daily_cap
from messaging.engine.runtime import redis_client
from messaging.numbers.models import Sender, WarmupPlan
from messaging.numbers.warmup import DaySignals, warmup_decide, warmup_evaluate, warmup_start

pytestmark = pytest.mark.django_db

STEPS = [50, 100, 200, 400, 800]


def test_a_1000_recipient_campaign_goes_out_over_the_plans_days_and_holds_after_a_restart(
    workspace,
    owner,
    member_client,
    engine_sandbox,
    sandbox_number,
    contacts,
    credits,
    launch,
    template,
):
    # given: a new number on a warm-up plan (50, 100, 200, 400, 800 a day) and 1,000 contacts
    contacts(1000)
    credits(1000)
    number = sandbox_number(rate=500, daily_cap=10_000)
    warmup_start(workspace=workspace, sender=number, actor=owner, steps=STEPS)
    assert effective_daily_cap(number) == 50

    # when: the pre-flight looks at a campaign to all of them
    draft = campaigns.campaign_create(
        workspace=workspace,
        actor=owner,
        name="Big",
        template=template,
        senders=[number],
        audience={},
    )
    preflight = campaigns.campaign_preflight(campaign=draft)

    # then: it goes out over five days: 50, 100, 200, 400 and the last 250
    assert [row["sends"] for row in preflight["warmup_calendar"]] == [50, 100, 200, 400, 250]
    today = timezone.localdate()
    assert preflight["warmup_calendar"][0]["day"] == today.isoformat()
    assert preflight["warmup_calendar"][4]["day"] == (today + timedelta(days=4)).isoformat()
    assert preflight["daily_cap_left"] == 50
    assert any("over 5 days" in w for w in preflight["warnings"])

    # when: it runs today
    campaign = launch([number], name="Big run")
    first = dispatch.drain(sender_id=number.pk, slice_seconds=2.0)
    second = dispatch.drain(sender_id=number.pk, slice_seconds=1.0)

    # then: 50 left, the rest waits for tomorrow, and the campaign page says why, with the days
    assert first.accepted == 50
    assert (second.accepted, second.capped) == (0, True)
    page = member_client.get(
        reverse("messaging_campaigns:detail", args=[workspace.slug, campaign.public_id])
    ).content.decode()
    assert "warm-up limit of 50 for today reached" in page
    assert 'data-testid="warmup-calendar"' in page
    # today's 50 are spent: the other 950 start tomorrow (the calendar said "today: 50")
    calendar = page.split('data-testid="warmup-calendar"', 1)[1].split("</div>", 1)[0]
    assert re.findall(r":\s*(\d+)</span>", calendar) == ["100", "200", "400", "250"]

    # when: the worker restarts and Redis comes back empty
    redis_client().flushdb()
    restarted = [dispatch.drain(sender_id=number.pk, slice_seconds=1.0) for _ in range(3)]

    # then: the plan's cap holds (it is kept in PostgreSQL)
    assert [r.accepted for r in restarted] == [0, 0, 0]
    assert engine_sandbox.number_stats(number.phone_number_id)["accepted"] == 50
    assert Message.objects.filter(campaign=campaign, status=Message.Status.QUEUED).count() == 950

    # when: the day is judged healthy (its 50 were delivered) on the next morning
    day = cap_day(number).day
    MessageStat.objects.filter(sender=number, day=day).update(delivered=F("accepted"))
    tomorrow = cap_day(number).resumes_at + timedelta(hours=1)
    assert warmup_evaluate(plan_id=number.warmup.pk, now=tomorrow) == "advanced"

    # then: the cap is the plan's second step, and the engine sends up to it
    assert effective_daily_cap(number) == 100
    assert dispatch.drain(sender_id=number.pk, slice_seconds=2.0).accepted == 50
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.RUNNING
    plan = WarmupPlan.objects.get(sender=number)
    assert plan.history[-1]["outcome"] == "advanced"
    # and a second judgement of the same day changes nothing
    assert warmup_evaluate(plan_id=plan.pk, now=tomorrow) is None
    # and the number's page shows the judged day in words
    number_page = member_client.get(
        reverse("messaging_numbers:detail", args=[workspace.slug, number.public_id])
    ).content.decode()
    assert "one step up: a healthy day" in number_page
    assert "at most 100 messages today" in number_page


@pytest.mark.parametrize(
    ("signals", "outcome"),
    [
        (DaySignals(accepted=50, delivered=48, opted_out=0, blocked=0), ("advanced", "healthy")),
        (DaySignals(accepted=0, delivered=0), ("held", "no_deliveries")),
        (DaySignals(accepted=100, delivered=90, opted_out=3), ("held", "opt_outs")),
        (DaySignals(accepted=100, delivered=90, blocked=1), ("held", "blocks")),
        (DaySignals(accepted=100, delivered=80, blocked=3), ("fell_back", "blocks")),
        (DaySignals(accepted=100, delivered=80, opted_out=6), ("fell_back", "opt_outs")),
        (DaySignals(accepted=100, delivered=100, quality="red"), ("fell_back", "quality_red")),
    ],
)
def test_a_day_advances_holds_or_falls_back_by_its_signals(signals, outcome) -> None:
    assert warmup_decide(signals) == outcome


def test_a_bad_day_falls_back_one_step_and_holds(workspace, owner, engine_sandbox, sandbox_number):
    # given: a number on its third step whose last day had 5% of its sends blocked (131048)
    number = sandbox_number()
    plan = warmup_start(workspace=workspace, sender=number, actor=owner, steps=STEPS)
    WarmupPlan.objects.filter(pk=plan.pk).update(step=2)
    today = cap_day(number)
    MessageStat.objects.create(
        workspace=workspace, sender=number, day=today.day, accepted=100, delivered=90
    )
    Message.objects.bulk_create(
        Message(
            workspace=workspace,
            sender=number,
            phone=f"+99455000{i:04d}",
            status=Message.Status.FAILED,
            error_code=131048,
            status_changed_at=timezone.now(),
        )
        for i in range(5)
    )

    # when: the next morning's beat judges it
    assert warmup_evaluate(plan_id=plan.pk, now=today.resumes_at + timedelta(hours=2)) == (
        "fell_back"
    )

    # then: one step down (200 -> 100) and holding
    plan.refresh_from_db()
    assert (plan.step, plan.state, plan.cap_today) == (1, WarmupPlan.State.HOLDING, 100)
    assert plan.history[-1] == {
        "day": today.day.isoformat(),
        "cap": 200,
        "outcome": "fell_back",
        "why": "blocks",
        "accepted": 100,
        "delivered": 90,
        "opted_out": 0,
        "blocked": 5,
    }


@pytest.mark.django_db(transaction=True)
def test_two_beats_judging_the_same_day_at_once_advance_the_plan_once(workspace, owner) -> None:
    # given: a plan whose first day was healthy
    number = Sender.objects.create(
        workspace=workspace,
        provider=Sender.Provider.SANDBOX,
        phone_number="+994501230000",
        status=Sender.Status.ACTIVE,
    )
    plan = warmup_start(workspace=workspace, sender=number, actor=owner, steps=STEPS)
    today = cap_day(number)
    MessageStat.objects.create(
        workspace=workspace, sender=number, day=today.day, accepted=50, delivered=50
    )
    tomorrow = today.resumes_at + timedelta(hours=1)
    barrier = threading.Barrier(2)

    def judge() -> str | None:
        try:
            barrier.wait(timeout=10)
            return warmup_evaluate(plan_id=plan.pk, now=tomorrow)
        finally:
            connections.close_all()

    # when: two beat workers judge it at the same moment
    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = sorted(map(str, pool.map(lambda _i: judge(), range(2))))

    # then: one advanced it, the other found the day judged (the row lock and `evaluated_on`)
    assert outcomes == ["None", "advanced"]
    plan.refresh_from_db()
    assert (plan.step, plan.cap_today, len(plan.history)) == (1, 100, 1)
