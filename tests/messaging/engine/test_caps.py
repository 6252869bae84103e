"""The daily cap as a ledger in PostgreSQL (issue 14): Redis forgetting the day's counter never
lets a number go over its cap, a capped number's wait is visible (page, API) with its reason,
the pre-flight warns and estimates across days, and /healthz does not call waiting overdue."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from messaging.analytics.models import MessageStat
from messaging.campaigns import services as campaigns
from messaging.campaigns.models import Campaign, Message
from messaging.engine import dispatch
from messaging.engine.caps import cap_day
from messaging.engine.limiter import Pace
from messaging.engine.recovery import oldest_due_age_check
from messaging.engine.runtime import redis_client
from messaging.numbers.models import Sender

from .conftest import drain_all

pytestmark = pytest.mark.django_db


def _accepted_in_db(number: Sender) -> int:
    return Message.objects.filter(sender=number, accepted_at__isnull=False).count()


def _accepted_today_in_stats(number: Sender) -> int:
    today = cap_day(number).day
    return sum(
        MessageStat.objects.filter(sender=number, day=today).values_list("accepted", flat=True)
    )


def _capped_run(sandbox_number, contacts, credits, launch, *, cap: int = 20, audience: int = 30):
    contacts(audience)
    credits(audience)
    number = sandbox_number(daily_cap=cap)
    campaign = launch([number])
    first = dispatch.drain(sender_id=number.pk, slice_seconds=2.0)
    assert first.accepted == cap
    second = dispatch.drain(sender_id=number.pk, slice_seconds=1.0)
    assert (second.accepted, second.capped) == (0, True)
    number.refresh_from_db()
    return number, campaign


def test_a_redis_flush_does_not_reset_the_daily_cap(
    engine_sandbox, sandbox_number, contacts, credits, launch
):
    number, campaign = _capped_run(sandbox_number, contacts, credits, launch, cap=20)

    redis_client().flushdb()  # Redis restarted without persistence: every key is gone
    for _ in range(3):
        result = dispatch.drain(sender_id=number.pk, slice_seconds=1.0)
        assert result.accepted == 0
        assert result.capped is True

    # Both sides agree: the gateway took 20, the database recorded 20, 10 still wait.
    assert engine_sandbox.number_stats(number.phone_number_id)["accepted"] == 20
    assert _accepted_in_db(number) == 20
    assert _accepted_today_in_stats(number) == 20
    assert Message.objects.filter(campaign=campaign, status=Message.Status.QUEUED).count() == 10


def test_the_rebuilt_counter_includes_sends_in_flight(
    engine_sandbox, sandbox_number, contacts, credits, launch
):
    """Messages another drainer holds (claimed before Redis lost the counter, their outcome not
    yet written) count against the cap: they may already be at the gateway."""
    contacts(30)
    credits(30)
    number = sandbox_number(daily_cap=20)
    launch([number])
    in_flight = dispatch.claim(sender_id=number.pk, limit=3)  # a drainer elsewhere, mid-send
    assert len(in_flight) == 3

    redis_client().flushdb()
    result = dispatch.drain(sender_id=number.pk, slice_seconds=2.0)

    assert result.accepted == 17  # 20 - the 3 in flight
    assert result.capped or dispatch.drain(sender_id=number.pk, slice_seconds=1.0).capped
    assert engine_sandbox.number_stats(number.phone_number_id)["accepted"] == 17


def test_the_cap_day_is_the_workspace_day_and_counts_every_campaign(
    engine_sandbox, workspace, sandbox_number, contacts, credits, launch
):
    """Two campaigns on one number share its cap; the rebuilt counter sums the statistics of
    every campaign of the workspace's day."""
    contacts(10)
    credits(30)
    number = sandbox_number(daily_cap=15)
    launch([number], name="First")
    drain_all([number])
    assert _accepted_today_in_stats(number) == 10

    redis_client().flushdb()
    second = launch([number], name="Second")
    dispatch.drain(sender_id=number.pk, slice_seconds=2.0)
    dispatch.drain(sender_id=number.pk, slice_seconds=1.0)

    assert Message.objects.filter(campaign=second, accepted_at__isnull=False).count() == 5
    assert engine_sandbox.number_stats(number.phone_number_id)["accepted"] == 15
    local = timezone.now().astimezone(ZoneInfo(workspace.time_zone))
    assert cap_day(number).day == local.date()


def test_limiter_seeds_a_missing_day_counter_once():
    gate = dispatch.limiter()
    gate.reset("seeded")
    pace = Pace(rate=1000.0, daily_cap=10)
    calls: list[int] = []

    def seed() -> int:
        calls.append(1)
        return 8

    first = gate.acquire("seeded", 5, pace, now=5000.0, horizon_seconds=60, day="x", seed=seed)
    second = gate.acquire("seeded", 5, pace, now=5000.0, horizon_seconds=60, day="x", seed=seed)

    assert (len(first), first.remaining_today) == (2, 0)
    assert (len(second), second.remaining_today) == (0, 0)
    assert len(calls) == 1  # counted in the database only when Redis had no counter
    gate.reset("seeded")


def test_a_capped_number_says_why_on_the_page_and_in_the_api(
    member_client,
    api_client_with_scopes,
    workspace,
    engine_sandbox,
    sandbox_number,
    contacts,
    credits,
    launch,
):
    number, campaign = _capped_run(sandbox_number, contacts, credits, launch, cap=20)
    resumes = cap_day(number).resumes_at
    assert number.capped_until == resumes
    reason = "daily limit of 20 reached; resumes at 00:00 in your time zone"
    assert number.cap_wait_reason == reason

    page = member_client.get(
        reverse("messaging_campaigns:detail", args=[workspace.slug, campaign.public_id])
    )
    assert reason in page.content.decode()
    progress = member_client.get(
        reverse("messaging_campaigns:progress", args=[workspace.slug, campaign.public_id])
    )
    assert reason in progress.content.decode()

    client = api_client_with_scopes("campaigns:read")
    body = client.get(reverse("api:campaign-detail", args=[campaign.public_id])).json()
    assert body["waiting"] == [
        {
            "sender": str(number.public_id),
            "reason": reason,
            "resumes_at": body["waiting"][0]["resumes_at"],
        }
    ]
    assert body["waiting"][0]["resumes_at"].startswith(
        resumes.astimezone(timezone.get_current_timezone()).strftime("%Y-%m-%dT%H:%M")
    )


def test_the_wait_clears_when_the_number_sends_again(
    engine_sandbox, sandbox_number, contacts, credits, launch
):
    number, campaign = _capped_run(sandbox_number, contacts, credits, launch, cap=20)
    Sender.objects.filter(pk=number.pk).update(daily_cap=40)  # the user raised the cap

    drain_all([number])

    number.refresh_from_db()
    assert number.capped_until is None
    assert number.cap_wait_reason == ""
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.COMPLETED


def test_preflight_warns_when_todays_cap_cannot_cover_the_audience(
    workspace, owner, template, engine_sandbox, sandbox_number, contacts, credits, launch
):
    number, _campaign = _capped_run(sandbox_number, contacts, credits, launch, cap=20)
    draft = campaigns.campaign_create(
        workspace=workspace,
        actor=owner,
        name="Tomorrow",
        template=template,
        senders=[number],
        audience={},
    )

    preflight = campaigns.campaign_preflight(campaign=draft)

    assert preflight["reachable"] == 30
    assert preflight["daily_cap_left"] == 0
    until_reset = (cap_day(number).resumes_at - timezone.now()).total_seconds()
    # 30 recipients, 0 left today, 20 a day: 20 tomorrow, 10 the day after.
    assert until_reset + 86_400 - 1 <= preflight["estimated_seconds"] < until_reset + 86_400 + 60
    assert any(
        "0 more messages today" in w and "other 30 wait" in w and "in 2 days" in w
        for w in preflight["warnings"]
    ), preflight["warnings"]


def test_preflight_has_no_cap_warning_when_the_cap_covers_it(
    workspace, owner, template, engine_sandbox, sandbox_number, contacts
):
    contacts(10)
    number = sandbox_number(daily_cap=20)
    draft = campaigns.campaign_create(
        workspace=workspace,
        actor=owner,
        name="Small",
        template=template,
        senders=[number],
        audience={},
    )

    preflight = campaigns.campaign_preflight(campaign=draft)

    assert preflight["daily_cap_left"] == 20
    assert not any("today" in w for w in preflight["warnings"])
    assert preflight["estimated_seconds"] < 60


def _make_overdue(campaign: Campaign) -> None:
    Message.objects.filter(campaign=campaign, status=Message.Status.QUEUED).update(
        next_attempt_at=timezone.now() - timedelta(minutes=30)
    )


def test_healthz_does_not_count_messages_waiting_for_a_cap(
    engine_sandbox, sandbox_number, contacts, credits, launch
):
    number, campaign = _capped_run(sandbox_number, contacts, credits, launch, cap=20)
    _make_overdue(campaign)

    assert oldest_due_age_check()["ok"] is True

    Sender.objects.filter(pk=number.pk).update(capped_until=None)  # cap left: now it is stuck
    check = oldest_due_age_check()
    assert check["ok"] is False
    assert check["oldest_due_seconds"] >= 1700


def test_healthz_does_not_count_messages_waiting_for_their_send_window(
    workspace, engine_sandbox, sandbox_number, contacts, credits, launch
):
    contacts(5)
    credits(5)
    number = sandbox_number()
    campaign = launch([number])
    local_hour = timezone.now().astimezone(ZoneInfo(workspace.time_zone)).hour
    start = 14 if local_hour < 12 else 2  # a window that is closed now
    Campaign.objects.filter(pk=campaign.pk).update(
        send_window={"start": start, "end": start + 1, "days": []}
    )
    _make_overdue(campaign)

    assert oldest_due_age_check()["ok"] is True

    Campaign.objects.filter(pk=campaign.pk).update(send_window={})
    assert oldest_due_age_check()["ok"] is False


def test_healthz_does_not_count_messages_of_a_paused_campaign(
    workspace, owner, engine_sandbox, sandbox_number, contacts, credits, launch
):
    contacts(5)
    credits(5)
    number = sandbox_number()
    campaign = launch([number])
    campaigns.campaign_pause(workspace=workspace, campaign=campaign, actor=owner)
    _make_overdue(campaign)

    assert oldest_due_age_check()["ok"] is True
