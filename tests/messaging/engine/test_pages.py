"""Campaign pages: build, pre-flight, launch, the live page, the messages log and the inbox."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from messaging.campaigns.models import Campaign, Message
from messaging.engine import ingest
from messaging.gateways.base import InboundMessageEvent

from .conftest import drain_all

pytestmark = pytest.mark.django_db


def test_build_preflight_launch_and_watch(
    member_client, workspace, sandbox_number, contacts, credits, template
):
    people = contacts(12)
    credits(12)
    number = sandbox_number()
    slug = workspace.slug

    created = member_client.post(
        reverse("messaging_campaigns:new", args=[slug]),
        {
            "name": "Spring sale",
            "template": template.pk,
            "senders": [number.pk],
        },
    )
    campaign = Campaign.objects.get(name="Spring sale")
    assert created.url == reverse("messaging_campaigns:detail", args=[slug, campaign.public_id])
    page = member_client.get(created.url).content.decode()
    assert 'data-testid="preflight-reachable">12<' in page

    member_client.post(
        reverse("messaging_campaigns:action", args=[slug, campaign.public_id, "launch"])
    )
    from messaging.engine.fanout import fanout_chunk

    while fanout_chunk(campaign_id=campaign.pk):
        pass
    drain_all([number])
    ingest.apply_inbound(
        sender=number,
        events=[
            InboundMessageEvent(
                account_id="x",
                provider_message_id="wamid.r1",
                sender=people[0].phone.lstrip("+"),
                timestamp=None,
                kind="text",
                text="STOP",
            )
        ],
    )

    progress = member_client.get(
        reverse("messaging_campaigns:progress", args=[slug, campaign.public_id])
    )
    log = member_client.get(
        reverse("messaging_campaigns:messages", args=[slug]), {"status": "accepted"}
    )
    inbox = member_client.get(reverse("messaging_campaigns:inbox", args=[slug])).content.decode()

    assert "Completed" in progress.content.decode()
    assert log.content.decode().count('data-testid="message-row"') == 12
    assert people[0].phone in inbox
    assert "opted out" in inbox


def test_a_schedule_is_shown_in_the_workspaces_time_zone_as_typed(
    member_client, workspace, sandbox_number, template, contacts, credits
) -> None:
    """The builder reads "starts at" in the workspace's time zone (Asia/Baku, UTC+4); the
    campaign's page showed it back in UTC, four hours off. Its launch button schedules it."""
    contacts(2)
    credits(2)
    number = sandbox_number()
    slug = workspace.slug
    assert workspace.time_zone == "Asia/Baku"
    soon = (timezone.now() + timedelta(days=60)).date()  # schedules are taken within a year

    member_client.post(
        reverse("messaging_campaigns:new", args=[slug]),
        {
            "name": "Morning",
            "template": template.pk,
            "senders": [number.pk],
            "scheduled_at": f"{soon:%Y-%m-%d}T10:46",
        },
    )
    campaign = Campaign.objects.get(name="Morning")
    page = member_client.get(
        reverse("messaging_campaigns:detail", args=[slug, campaign.public_id])
    ).content.decode()

    assert campaign.scheduled_at.isoformat() == f"{soon:%Y-%m-%d}T06:46:00+00:00"  # Baku: +4
    assert "10:46" in page.split("Starts", 1)[1][:80]
    launch = page.split('data-testid="launch"', 1)[1].split("</button>", 1)[0]
    assert "Schedule for" in launch
    assert "10:46" in launch
    assert "Launch now" not in launch


def test_the_message_log_finds_a_number_typed_in_its_local_shape(
    member_client, workspace, sandbox_number
) -> None:
    number = sandbox_number()
    Message.objects.bulk_create(
        Message(workspace=workspace, sender=number, phone=phone, body="Hi", status="delivered")
        for phone in ("+994703000138", "+994501234567", "+994703000139")
    )
    url = reverse("messaging_campaigns:messages", args=[workspace.slug])

    def shown(phone: str) -> str:
        return member_client.get(url, {"phone": phone}).content.decode()

    assert shown("070 300 01 38").count('data-testid="message-row"') == 1
    assert "+994703000138" in shown("0703000138")
    assert shown("+994 50 123 45 67").count('data-testid="message-row"') == 1
    assert shown("70300013").count('data-testid="message-row"') == 2  # a fragment
    nothing = shown("Şəbnəm")
    assert 'data-testid="message-row"' not in nothing
    assert "No messages match." in nothing
    # paged back, the way to the newest messages is shown; on the newest page it is not
    assert (
        'data-testid="log-newest"'
        in member_client.get(url, {"before": "999999999"}).content.decode()
    )
    assert 'data-testid="log-newest"' not in member_client.get(url).content.decode()
