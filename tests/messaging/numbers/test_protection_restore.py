"""A number protection slowed gets its pace back (issue #21 follow-up): step by step once it is
healthy and nothing tripped for a day, never above the pace the user had set, lowered again by
a new trip, visible on the number's page and in the notifications."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent, Notification, Workspace
from messaging.analytics.models import MessageStat
from messaging.campaigns.models import Campaign, Message
from messaging.numbers.models import NumberPaceChange, Sender
from messaging.numbers.protection import (
    number_protect,
    number_protect_for_quality,
    number_protection_clear,
    numbers_protect_due,
    numbers_restore_due,
)
from messaging.numbers.tasks import numbers_keep_alive_task

pytestmark = pytest.mark.django_db

DAY = timedelta(hours=24, minutes=1)


def _number(workspace: Workspace, **fields: object) -> Sender:
    values: dict[str, object] = {
        "provider": Sender.Provider.SANDBOX,
        "status": Sender.Status.ACTIVE,
        "phone_number": "+994502220101",
        "throughput_per_second": 80,
    }
    values.update(fields)
    return Sender.objects.create(workspace=workspace, **values)


def _slowed(workspace: Workspace, **fields: object) -> tuple[Sender, datetime]:
    sender = _number(workspace, **fields)
    assert number_protect(sender=sender, reason="2.0% blocks") == "slowed"
    sender.refresh_from_db()
    assert sender.protection_at is not None
    return sender, sender.protection_at


def _pace(sender: Sender) -> tuple[int, int, str]:
    sender.refresh_from_db()
    return sender.throughput_per_second, sender.min_interval_ms, sender.protection


def _blocks(
    workspace: Workspace,
    sender: Sender,
    *,
    accepted: int,
    blocked: int,
    at: datetime | None = None,
) -> None:
    """A day's figures at `at` (default now): `accepted` sent, `blocked` of them refused as
    spam (131048)."""
    at = at or timezone.now()
    # (figures are filed under the workspace's own calendar day, as the statistics trigger does)
    day = timezone.localdate(at, ZoneInfo(workspace.time_zone))
    stat, _ = MessageStat.objects.get_or_create(
        workspace=workspace, sender=sender, campaign=None, day=day
    )
    MessageStat.objects.filter(pk=stat.pk).update(accepted=F("accepted") + accepted)
    Message.objects.bulk_create(
        Message(
            workspace=workspace,
            sender=sender,
            phone=f"+9945520{at.day:02d}{i:03d}",
            status=Message.Status.FAILED,
            error_code=131048,
            status_changed_at=at,
        )
        for i in range(blocked)
    )


def test_the_pace_stays_lowered_while_the_number_is_unhealthy(workspace: Workspace) -> None:
    # given: a number slowed from 80 to 40, still seeing blocks each day (1 in 100: under the
    # slow threshold, over the healthy one)
    sender, tripped = _slowed(workspace)
    assert _pace(sender) == (40, 0, "slowed")
    _blocks(workspace, sender, accepted=100, blocked=1, at=tripped + DAY - timedelta(hours=2))
    _blocks(workspace, sender, accepted=100, blocked=1, at=tripped + 2 * DAY - timedelta(hours=2))

    # when: the beat looks a day later, and again two days later
    assert numbers_restore_due(now=tripped + DAY) == {}
    assert numbers_restore_due(now=tripped + 2 * DAY) == {}

    # then: nothing moved
    assert _pace(sender) == (40, 0, "slowed")
    assert not NumberPaceChange.objects.filter(kind=NumberPaceChange.Kind.RAISED).exists()


def test_a_workspace_west_of_utc_counts_its_sends_of_the_evening_before(
    workspace: Workspace,
) -> None:
    # given: a workspace in Los Angeles whose number sent 200 messages last evening (local
    # time), before midnight UTC, and saw 1 of them blocked this morning: 0.5%, under the 1%
    # that slows a number
    workspace.time_zone = "America/Los_Angeles"
    workspace.save(update_fields=["time_zone"])
    sender = _number(workspace)
    now = timezone.now().replace(hour=3, minute=0, second=0, microsecond=0)
    if now > timezone.now():
        now -= timedelta(days=1)
    since = now - timedelta(hours=24)
    _blocks(workspace, sender, accepted=200, blocked=0, at=since + timedelta(hours=3))
    _blocks(workspace, sender, accepted=0, blocked=1, at=since + timedelta(hours=7))

    # when: the beat checks the last 24 hours
    result = numbers_protect_due(now=now)

    # then: the evening's sends count (they are filed under the workspace's own day, which is
    # the day before the UTC date), so the number keeps its pace
    assert result == {}
    assert _pace(sender) == (80, 0, "")


def test_a_cloud_number_waits_for_meta_to_rate_it_high_again(workspace: Workspace) -> None:
    # given: a Cloud API number Meta rated Medium, which slowed it
    sender = _number(workspace, provider=Sender.Provider.CLOUD_API, quality="yellow")
    assert number_protect_for_quality(sender=sender, old="green", new="yellow") == "slowed"
    tripped = Sender.objects.get(pk=sender.pk).protection_at

    # when: a day passes, still Medium; then Meta rates it High again
    assert numbers_restore_due(now=tripped + DAY) == {}
    assert _pace(sender)[0] == 40
    Sender.objects.filter(pk=sender.pk).update(quality="green")

    # then: the pace goes up one step
    assert numbers_restore_due(now=tripped + DAY) == {sender.pk: "raised"}
    assert _pace(sender) == (50, 0, "restoring")


def test_a_healthy_number_climbs_back_step_by_step_to_the_users_pace(
    workspace: Workspace, member_client
) -> None:
    # given: a number slowed from 80 to 40; healthy since (nothing blocked, no opt-outs)
    sender, tripped = _slowed(workspace)
    _blocks(workspace, sender, accepted=200, blocked=0)

    # when: less than a day after the trip
    assert numbers_restore_due(now=tripped + timedelta(hours=23)) == {}
    assert _pace(sender) == (40, 0, "slowed")

    # then: a day after, one step (a halved pace comes back in 4 steps), one per healthy day
    steps = []
    for day in range(1, 5):
        numbers_restore_due(now=tripped + day * DAY)
        numbers_restore_due(now=tripped + day * DAY + timedelta(hours=1))  # same day: waits
        steps.append(_pace(sender))
    assert steps == [
        (50, 0, "restoring"),
        (60, 0, "restoring"),
        (70, 0, "restoring"),
        (80, 0, ""),
    ]
    sender.refresh_from_db()
    assert sender.pace_restore_per_second is None
    assert sender.protection_reason == ""

    # and: it stays at the user's pace from then on
    assert numbers_restore_due(now=tripped + 10 * DAY) == {}
    assert _pace(sender) == (80, 0, "")

    # and: every step is logged, audited and the last one announced
    log = list(
        NumberPaceChange.objects.filter(sender=sender)
        .order_by("changed_at", "pk")
        .values_list("kind", "per_second_from", "per_second_to")
    )
    assert log == [
        ("lowered", 80, 40),
        ("raised", 40, 50),
        ("raised", 50, 60),
        ("raised", 60, 70),
        ("restored", 70, 80),
    ]
    assert AuditEvent.objects.filter(workspace=workspace, action="number.pace_raised").count() == 3
    assert (
        AuditEvent.objects.filter(workspace=workspace, action="number.pace_restored").count() == 1
    )
    notice = Notification.objects.get(workspace=workspace, kind="number.pace_restored")
    assert "back to the 80 messages per second you set" in notice.text

    # and: the number's page lists what happened and when
    page = member_client.get(
        reverse("messaging_numbers:detail", args=[workspace.slug, sender.public_id])
    ).content.decode()
    assert 'data-testid="number-pace-history"' in page
    assert page.count('data-testid="number-pace-change"') == 5
    assert "Restored to your pace" in page
    assert "Lowered to protect the number" in page
    assert "2.0% blocks" in page
    assert 'data-testid="number-pace-restore"' not in page  # nothing pending any more


def test_the_page_says_the_pace_is_coming_back(workspace: Workspace, member_client) -> None:
    sender, tripped = _slowed(workspace)
    url = reverse("messaging_numbers:detail", args=[workspace.slug, sender.public_id])

    page = member_client.get(url).content.decode()
    assert "Its pace is lowered to 40 messages per second; your pace was 80." in page

    numbers_restore_due(now=tripped + DAY)
    page = member_client.get(url).content.decode()
    assert "now 50 of your 80 messages per second" in page
    assert "Last step:" in page
    assert "Raised one step (healthy again)" in page


def test_the_pace_never_goes_above_what_the_user_had_set(workspace: Workspace) -> None:
    # given: an odd pace (7 a second, slowed to 3) and a WhatsApp-Web number spaced 3 s apart
    # (slowed to 1 a second, 5 s apart)
    odd, tripped = _slowed(workspace, throughput_per_second=7)
    web, _tripped = _slowed(
        workspace,
        provider=Sender.Provider.WEB_GATEWAY,
        phone_number="+994502220102",
        throughput_per_second=1,
        min_interval_ms=3000,
    )
    assert _pace(odd)[:2] == (3, 0)
    assert _pace(web)[:2] == (1, 5000)

    # when: the beat runs for ten healthy days
    seen_odd, seen_web = [], []
    for day in range(1, 11):
        numbers_restore_due(now=tripped + day * DAY)
        seen_odd.append(_pace(odd)[0])
        seen_web.append(_pace(web)[:2])

    # then: each climbs to exactly the pace set before, never past it
    assert seen_odd == [4, 5, 6, 7, 7, 7, 7, 7, 7, 7]
    assert seen_web[:4] == [(1, 4500), (1, 4000), (1, 3500), (1, 3000)]
    assert set(seen_web[4:]) == {(1, 3000)}
    assert _pace(web)[2] == ""


def test_a_new_trip_while_climbing_lowers_it_again_and_the_ceiling_stays(
    workspace: Workspace,
) -> None:
    # given: slowed 80 -> 40, then one step back up to 50
    sender, tripped = _slowed(workspace)
    assert numbers_restore_due(now=tripped + DAY) == {sender.pk: "raised"}
    assert _pace(sender) == (50, 0, "restoring")

    # when: the signals turn bad again (blocks over the slow threshold), seen by the beat
    _blocks(workspace, sender, accepted=100, blocked=2)
    result = numbers_keep_alive_task()

    # then: lowered again from where it was (not paused: it was climbing, not slowed)
    assert result["protected"] == 1
    assert _pace(sender) == (25, 0, "slowed")
    sender.refresh_from_db()
    assert sender.pace_restore_per_second == 80  # the user's pace, not the 50 it had reached
    retripped = sender.protection_at

    # and: once healthy again it waits a full day from the new trip, then climbs to 80 only
    Message.objects.filter(sender=sender).delete()
    assert numbers_restore_due(now=retripped + timedelta(hours=12)) == {}
    paces = []
    for day in range(1, 10):
        numbers_restore_due(now=retripped + day * DAY)
        paces.append(_pace(sender)[0])
    assert paces == [35, 45, 55, 65, 75, 80, 80, 80, 80]
    assert _pace(sender)[2] == ""


def test_a_paused_number_keeps_its_lowered_pace_until_the_user_clears_it(
    workspace: Workspace, owner
) -> None:
    # given: slowed, then paused (a second trip)
    sender, _tripped = _slowed(workspace)
    campaign = Campaign.objects.create(
        workspace=workspace, name="Winter", status=Campaign.Status.RUNNING
    )
    campaign.senders.add(sender)
    assert number_protect(sender=sender, reason="3.5% blocks", pause=True) == "paused"
    paused_at = Sender.objects.get(pk=sender.pk).protection_at

    # when: days pass without the user doing anything
    assert numbers_restore_due(now=paused_at + 3 * DAY) == {}
    assert _pace(sender) == (40, 0, "paused")

    # when: the user says the cause is fixed
    number_protection_clear(workspace=workspace, sender=sender, actor=owner)

    # then: the pace is not raised at once, but climbs back from the next beat on
    assert _pace(sender) == (40, 0, "")
    assert numbers_restore_due(now=paused_at + 3 * DAY) == {sender.pk: "raised"}
    assert _pace(sender) == (50, 0, "restoring")


def test_the_user_setting_the_pace_ends_the_restoration(
    workspace: Workspace, member_client
) -> None:
    sender, tripped = _slowed(workspace)
    numbers_restore_due(now=tripped + DAY)
    assert _pace(sender) == (50, 0, "restoring")

    # when: the owner sets 30 a second on the number's page
    response = member_client.post(
        reverse("messaging_numbers:detail", args=[workspace.slug, sender.public_id]),
        {
            "label": "",
            "throughput_per_second": 30,
            "min_interval_ms": 0,
            "jitter_ms": 0,
            "daily_cap": 1000,
        },
    )
    assert response.status_code == 302

    # then: the user's pace stays; protection no longer raises it
    assert _pace(sender) == (30, 0, "")
    assert numbers_restore_due(now=tripped + 5 * DAY) == {}
    assert _pace(sender) == (30, 0, "")
    last = NumberPaceChange.objects.filter(sender=sender).first()
    assert (last.kind, last.per_second_from, last.per_second_to) == ("set_by_user", 50, 30)
