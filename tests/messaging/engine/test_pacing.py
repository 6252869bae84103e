"""Campaign pacing: a schedule in Postgres. Queued messages are spaced per number from the
start (rank / rate, a pause after every batch), again from now on resume; "fast" leaves the
number's own limits in charge."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from messaging.campaigns import services as campaigns
from messaging.campaigns.models import Campaign, Message
from messaging.engine import fanout
from messaging.engine.pacing import pacing_clean, seconds_for

pytestmark = pytest.mark.django_db


def _launch(workspace, owner, template, numbers, pacing) -> Campaign:
    campaign = campaigns.campaign_create(
        workspace=workspace,
        actor=owner,
        name="Paced",
        template=template,
        senders=numbers,
        audience={},
        pacing=pacing,
    )
    campaigns.campaign_launch(workspace=workspace, campaign=campaign, actor=owner)
    while fanout.fanout_chunk(campaign_id=campaign.pk, chunk=7):  # several chunks
        pass
    campaign.refresh_from_db()
    return campaign


def _offsets(campaign: Campaign, sender) -> list[float]:
    times = list(
        Message.objects.filter(campaign=campaign, sender=sender)
        .order_by("id")
        .values_list("next_attempt_at", flat=True)
    )
    return [round((t - times[0]).total_seconds(), 1) for t in times]


def test_messages_are_spaced_per_number_with_a_pause_after_each_batch(
    workspace, owner, template, sandbox_number, contacts, credits
) -> None:
    contacts(20)
    credits(20)
    first, second = sandbox_number(), sandbox_number()
    pace = {"preset": "custom", "per_second": 2, "batch_size": 4, "batch_pause_seconds": 60}
    campaign = _launch(workspace, owner, template, [first, second], pace)

    for number in (first, second):
        assert _offsets(campaign, number) == [
            0.0,
            0.5,
            1.0,
            1.5,
            62.0,
            62.5,
            63.0,
            63.5,
            124.0,
            124.5,
        ]
    assert (
        Message.objects.filter(campaign=campaign, next_attempt_at__lte=timezone.now()).count() <= 2
    )


def test_resume_spaces_what_is_left_from_now(
    workspace, owner, template, sandbox_number, contacts, credits
) -> None:
    contacts(6)
    credits(6)
    number = sandbox_number()
    campaign = _launch(workspace, owner, template, [number], {"preset": "custom", "per_second": 1})
    campaigns.campaign_pause(workspace=workspace, campaign=campaign, actor=owner)
    # an hour later everything would be due at once
    Message.objects.filter(campaign=campaign).update(
        next_attempt_at=timezone.now() - timedelta(hours=1)
    )
    campaigns.campaign_resume(workspace=workspace, campaign=campaign, actor=owner)
    assert _offsets(campaign, number) == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    first = Message.objects.filter(campaign=campaign).order_by("id").first()
    assert first.next_attempt_at >= timezone.now() - timedelta(seconds=5)


@pytest.fixture
def batched(workspace, owner, template, sandbox_number, contacts, credits):
    """A campaign of 10 on one number at 2/s, with a break after every 4 messages."""

    def launch(pause_seconds: int) -> tuple[Campaign, object]:
        contacts(10)
        credits(10)
        number = sandbox_number()
        pace = {
            "preset": "custom",
            "per_second": 2,
            "batch_size": 4,
            "batch_pause_seconds": pause_seconds,
        }
        return _launch(workspace, owner, template, [number], pace), number

    return launch


def _offsets_after(campaign: Campaign, sender, sent: int) -> list[float]:
    """The offsets of the messages after the first `sent`, from the first of them."""
    left = _offsets(campaign, sender)[sent:]
    return [round(t - left[0], 1) for t in left]


def _sent(campaign: Campaign, count: int) -> None:
    """The campaign's first `count` messages went out (as the drainer records them)."""
    first = list(Message.objects.filter(campaign=campaign).order_by("id")[:count])
    Message.objects.filter(pk__in=[m.pk for m in first]).update(
        status=Message.Status.ACCEPTED, accepted_at=timezone.now()
    )


def test_pause_and_resume_during_a_break_keeps_the_rest_of_the_break(
    workspace, owner, batched
) -> None:
    campaign, number = batched(600)
    _sent(campaign, 4)  # the first batch went out; the break runs for ten minutes

    campaigns.campaign_pause(workspace=workspace, campaign=campaign, actor=owner)
    campaigns.campaign_resume(workspace=workspace, campaign=campaign, actor=owner)

    waiting = Message.objects.filter(campaign=campaign, status=Message.Status.QUEUED)
    next_due = min(waiting.values_list("next_attempt_at", flat=True))
    assert next_due >= timezone.now() + timedelta(seconds=590)
    assert _offsets_after(campaign, number, 4) == [0.0, 0.5, 1.0, 1.5, 602.0, 602.5]


def test_pause_and_resume_mid_batch_counts_what_the_batch_already_sent(
    workspace, owner, batched
) -> None:
    campaign, number = batched(60)
    _sent(campaign, 3)
    campaigns.campaign_pause(workspace=workspace, campaign=campaign, actor=owner)
    # paused for an hour: what is left fell due long ago
    Message.objects.filter(campaign=campaign, status=Message.Status.QUEUED).update(
        next_attempt_at=timezone.now() - timedelta(hours=1)
    )

    campaigns.campaign_resume(workspace=workspace, campaign=campaign, actor=owner)

    # one more completes the batch of 4, then the break, then the next batch
    assert _offsets_after(campaign, number, 3) == [0.0, 60.5, 61.0, 61.5, 62.0, 122.5, 123.0]
    first = Message.objects.filter(campaign=campaign, status=Message.Status.QUEUED).first()
    assert first.next_attempt_at >= timezone.now() - timedelta(seconds=5)


def test_fast_leaves_pacing_to_the_numbers(
    workspace, owner, template, sandbox_number, contacts, credits
) -> None:
    contacts(5)
    credits(5)
    number = sandbox_number()
    campaign = _launch(workspace, owner, template, [number], {"preset": "fast"})
    assert campaign.pacing == {}
    assert set(_offsets(campaign, number)) == {0.0}


def test_presets_validation_and_the_estimate(
    member_client, workspace, template, sandbox_number
) -> None:
    assert pacing_clean({"preset": "safe"})["per_second"] == 0.2
    for bad in (
        {"preset": "warp"},
        {"preset": "custom", "per_second": 0},
        {"preset": "custom", "per_second": 1, "batch_size": 10},
    ):
        with pytest.raises(ValidationError):
            pacing_clean(bad)
    assert seconds_for({"per_second": 1.0, "batch_size": 10, "batch_pause_seconds": 60}, 25) == 145

    number = sandbox_number()
    url = reverse("messaging_campaigns:new", args=[workspace.slug])
    base = {"name": "P", "template": template.pk, "senders": [number.pk]}
    bad = member_client.post(url, {**base, "pacing_preset": "custom"})
    assert "Give the messages per second for a custom pace." in bad.content.decode()
    assert not Campaign.objects.exists()
    good = member_client.post(url, {**base, "pacing_preset": "safe"})
    assert good.status_code == 302
    campaign = Campaign.objects.get()
    assert campaign.pacing["preset"] == "safe"
    page = member_client.get(
        reverse("messaging_campaigns:detail", args=[workspace.slug, campaign.public_id])
    )
    assert "Paced at 0.2 messages per second per number" in page.content.decode()


def test_a_campaign_in_its_break_says_when_the_next_message_goes_out(
    member_client, workspace, batched
) -> None:
    campaign, _number = batched(600)
    url = reverse("messaging_campaigns:progress", args=[workspace.slug, campaign.public_id])
    assert 'data-testid="next-send"' not in member_client.get(url).content.decode()

    _sent(campaign, 4)  # the first batch went out: the break runs for ten minutes
    page = member_client.get(url).content.decode()

    assert 'data-testid="next-send"' in page
    assert "the next message goes out at" in page
