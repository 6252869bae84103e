"""Send windows: applied in SQL in each recipient's time zone (else the workspace's), at fan-out
and again at claim; the limiter is not involved."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from messaging.campaigns import services as campaigns
from messaging.campaigns.models import Campaign, Message
from messaging.engine.windows import window_clean

from .conftest import drain_all

pytestmark = pytest.mark.django_db

ZONES = ["Asia/Baku", "Asia/Tokyo", "America/New_York", "Europe/Istanbul", "UTC"]


def expected_opening(t: datetime, zone: str, start: int, end: int, days: list[int]) -> datetime:
    """The reference: the first instant at or after `t` when the recipient's clock reads a
    window hour, found by walking real time (UTC) hour by hour (slow, obviously right; these
    zones' offsets are whole hours, so every local hour starts on a UTC hour). Across a
    daylight-saving change this is the first occurrence of a repeated hour, and the first
    moment after a skipped one."""
    tz = zoneinfo.ZoneInfo(zone)

    def inside(moment: datetime) -> bool:
        local = moment.astimezone(tz)
        return (not days or local.weekday() in days) and start <= local.hour < end

    if inside(t):
        return t
    probe = t.replace(minute=0, second=0, microsecond=0)
    for _ in range(24 * 8):
        probe += timedelta(hours=1)
        if inside(probe):
            return probe
    return t


@settings(max_examples=150, deadline=None)
@given(
    # hypothesis draws naive datetimes; the test makes them UTC
    moment=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31)),  # noqa: DTZ001
    zone=st.sampled_from(ZONES),
    start=st.integers(0, 22),
    length=st.integers(1, 12),
    days=st.lists(st.integers(0, 6), max_size=4, unique=True),
)
def test_the_sql_function_agrees_with_a_reference(moment, zone, start, length, days) -> None:
    t = moment.replace(tzinfo=UTC)
    end = min(start + length, 24)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT isend_window_next(%s, %s, 'UTC', %s, %s, %s::int[])",
            [t, zone, start, end, sorted(days)],
        )
        got = cursor.fetchone()[0]
    assert got == expected_opening(t, zone, start, end, sorted(days))


@pytest.mark.parametrize(
    ("t", "start", "end", "expected"),
    [
        # 2026-11-01, New York: 01:00-01:59 happens twice (EDT, then EST): the first one.
        (datetime(2026, 11, 1, 3, 0, tzinfo=UTC), 1, 5, datetime(2026, 11, 1, 5, 0, tzinfo=UTC)),
        # 2026-03-08, New York: 02:00-02:59 does not happen: the window opens at 03:00 EDT...
        (datetime(2026, 3, 8, 5, 0, tzinfo=UTC), 2, 6, datetime(2026, 3, 8, 7, 0, tzinfo=UTC)),
        # ...unless it is already closed by then: the next day's 02:00 EDT.
        (datetime(2026, 3, 8, 5, 0, tzinfo=UTC), 2, 3, datetime(2026, 3, 9, 6, 0, tzinfo=UTC)),
    ],
)
def test_send_windows_across_daylight_saving_changes(t, start, end, expected) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT isend_window_next(%s, 'America/New_York', 'UTC', %s, %s, '{}'::int[])",
            [t, start, end],
        )
        got = cursor.fetchone()[0]
    assert got == expected == expected_opening(t, "America/New_York", start, end, [])


def _hour_in(zone: str) -> int:
    return timezone.now().astimezone(zoneinfo.ZoneInfo(zone)).hour


def _launch(workspace, owner, template, number, window) -> Campaign:
    from messaging.engine import fanout

    campaign = campaigns.campaign_create(
        workspace=workspace,
        actor=owner,
        name="Windowed",
        template=template,
        senders=[number],
        audience={},
        send_window=window,
    )
    campaigns.campaign_launch(workspace=workspace, campaign=campaign, actor=owner)
    while fanout.fanout_chunk(campaign_id=campaign.pk):
        pass
    return campaign


def test_each_recipient_waits_for_the_window_in_their_own_time_zone(
    workspace, owner, template, sandbox_number, contacts, credits, engine_sandbox
) -> None:
    workspace.time_zone = "Asia/Baku"
    workspace.save(update_fields=["time_zone"])
    tokyo_hour = _hour_in("Asia/Tokyo")
    if tokyo_hour == _hour_in("Asia/Baku"):
        pytest.skip("the two zones show the same hour")  # never: they are 5 hours apart
    in_tokyo, unknown_zone = contacts(2)
    in_tokyo.time_zone = "Asia/Tokyo"
    in_tokyo.save(update_fields=["time_zone"])
    unknown_zone.time_zone = ""  # falls back to the workspace's zone
    unknown_zone.save(update_fields=["time_zone"])
    credits(2)
    number = sandbox_number()
    window = {"start": tokyo_hour, "end": tokyo_hour + 1, "days": []}

    campaign = _launch(workspace, owner, template, number, window)
    _drain_due(number)

    sent = Message.objects.get(campaign=campaign, contact=in_tokyo)
    waiting = Message.objects.get(campaign=campaign, contact=unknown_zone)
    assert sent.status == Message.Status.ACCEPTED
    assert waiting.status == Message.Status.QUEUED
    opens = waiting.next_attempt_at.astimezone(zoneinfo.ZoneInfo("Asia/Baku"))
    assert (opens.hour, opens.minute) == (tokyo_hour, 0)
    assert opens > timezone.now()
    assert engine_sandbox.number_stats(number.phone_number_id)["accepted"] == 1


def _drain_due(number) -> None:
    from messaging.engine import dispatch

    for _ in range(3):
        dispatch.drain(sender_id=number.pk, slice_seconds=1.0)


def test_a_window_that_closes_while_messages_wait_holds_them_at_claim(
    workspace, owner, template, sandbox_number, contacts, credits, engine_sandbox
) -> None:
    contacts(5)
    credits(5)
    number = sandbox_number()
    campaign = _launch(workspace, owner, template, number, {})  # queued without a window
    hour = _hour_in(workspace.time_zone)
    closed = {"start": (hour + 2) % 22, "end": (hour + 2) % 22 + 1, "days": []}
    Campaign.objects.filter(pk=campaign.pk).update(send_window=closed)

    _drain_due(number)

    assert not Message.objects.filter(campaign=campaign).exclude(status="queued").exists()
    later = Message.objects.filter(campaign=campaign, next_attempt_at__gt=timezone.now())
    assert later.count() == 5
    assert Message.objects.filter(campaign=campaign, attempts=0).count() == 5
    assert engine_sandbox.number_stats(number.phone_number_id)["accepted"] == 0

    # the window opens (here: it is moved to now): they go out
    Campaign.objects.filter(pk=campaign.pk).update(send_window={})
    Message.objects.filter(campaign=campaign).update(next_attempt_at=timezone.now())
    drain_all([number])
    assert Message.objects.filter(campaign=campaign, status="accepted").count() == 5


def test_window_input_is_validated(member_client, workspace, template, sandbox_number) -> None:
    with pytest.raises(ValidationError):
        window_clean({"start": 20, "end": 9})
    with pytest.raises(ValidationError):
        window_clean({"start": 9, "end": 20, "days": [7]})
    assert window_clean({"start": "9", "end": "20", "days": ["4", "0", "0"]}) == {
        "start": 9,
        "end": 20,
        "days": [0, 4],
    }

    number = sandbox_number()
    url = reverse("messaging_campaigns:new", args=[workspace.slug])
    base = {"name": "W", "template": template.pk, "senders": [number.pk]}
    bad = member_client.post(url, {**base, "window_start": 20, "window_end": 9})
    assert "The window must end after it starts." in bad.content.decode()
    assert not Campaign.objects.exists()
    good = member_client.post(
        url,
        {
            **base,
            "window_start": 9,
            "window_end": 18,
            "window_days": ["0", "1", "2"],
            "scheduled_at": f"{_soon():%Y-%m-%d}T10:30",
        },
    )
    assert good.status_code == 302
    campaign = Campaign.objects.get()
    assert campaign.send_window == {"start": 9, "end": 18, "days": [0, 1, 2]}
    local = campaign.scheduled_at.astimezone(zoneinfo.ZoneInfo(workspace.time_zone))
    assert (local.hour, local.minute) == (10, 30)
    page = member_client.get(
        reverse("messaging_campaigns:detail", args=[workspace.slug, campaign.public_id])
    )
    assert "Sends between 9:00 and 18:00" in page.content.decode()


def _soon():
    """A day two months ahead (schedules are taken within a year)."""
    from datetime import timedelta

    from django.utils import timezone

    return (timezone.now() + timedelta(days=60)).date()
