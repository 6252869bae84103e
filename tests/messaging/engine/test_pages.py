"""Campaign pages: build, pre-flight, launch, the live page, the messages log and the inbox."""

from __future__ import annotations

import pytest
from django.urls import reverse

from messaging.campaigns.models import Campaign
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
