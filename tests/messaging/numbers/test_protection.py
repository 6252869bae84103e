"""Automatic protection of a number (issue #21): a quality drop Meta reports by webhook first
slows the number, a further drop (or a drop straight to Low) pauses its campaigns, each time
with a notice that says why and what to do; a rising block (131048/131049) rate does the same
from the beat."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent, Notification
from messaging.analytics.models import MessageStat
from messaging.campaigns.models import Campaign, Message
from messaging.engine.caps import cap_day
from messaging.numbers import services as number_services
from messaging.numbers.models import Sender
from messaging.numbers.protection import numbers_protect_due
from messaging.numbers.tasks import numbers_keep_alive_task

from ..conftest import SandboxClient

pytestmark = pytest.mark.django_db

SECRET = "protect-app-secret"
WABA = "990021"


@pytest.fixture
def graph(sandbox: SandboxClient):
    with override_settings(
        SANDBOX_GATEWAY_URL=sandbox.base_url, WHATSAPP_GRAPH_URL=sandbox.base_url
    ):
        yield sandbox


def _connect(workspace, owner, graph: SandboxClient, phone_id: str, display: str) -> Sender:
    graph.register(
        phone_id,
        access_token=f"token-{phone_id}",
        display_phone_number=display,
        waba_id=WABA,
        messaging_limit_tier="TIER_2K",
    )
    return number_services.sender_connect_cloud_api(
        workspace=workspace,
        actor=owner,
        phone_number_id=phone_id,
        waba_id=WABA,
        access_token=f"token-{phone_id}",
        app_secret=SECRET,
    )


def _quality_webhook(sender: Sender, graph: SandboxClient, phone_id: str, rating: str, capture):
    """Meta lowers the rating (the node says so) and sends its signed FLAGGED webhook."""
    graph.call("POST", f"/_sandbox/numbers/{phone_id}/health", {"quality_rating": rating})
    payload = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": WABA,
                "time": int(timezone.now().timestamp()),
                "changes": [
                    {
                        "field": "phone_number_quality_update",
                        "value": {
                            "display_phone_number": sender.phone_number.lstrip("+"),
                            "event": "FLAGGED",
                            "current_limit": "TIER_2K",
                        },
                    }
                ],
            }
        ],
    }
    body = json.dumps(payload).encode()
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    with capture(execute=True):
        response = Client().post(
            reverse("messaging_webhooks:webhook_whatsapp", args=[sender.public_id]),
            body,
            content_type="application/json",
            HTTP_X_HUB_SIGNATURE_256=signature,
        )
    assert response.status_code == 200


def _running_campaign(workspace, sender: Sender, name: str) -> Campaign:
    campaign = Campaign.objects.create(
        workspace=workspace, name=name, status=Campaign.Status.RUNNING
    )
    campaign.senders.add(sender)
    return campaign


def test_a_quality_drop_webhook_slows_the_number_then_a_second_pauses_its_campaigns(
    workspace, owner, member_client, graph, django_capture_on_commit_callbacks
):
    # given: a Cloud API number rated High, sending a campaign
    sender = _connect(workspace, owner, graph, "5552101", "994502220001")
    assert (sender.quality, sender.throughput_per_second) == ("green", 80)
    campaign = _running_campaign(workspace, sender, "Winter sale")

    # when: Meta lowers the rating to Medium
    _quality_webhook(sender, graph, "5552101", "YELLOW", django_capture_on_commit_callbacks)

    # then: the number is slowed (half its pace), the campaign still runs, the owner is told
    sender.refresh_from_db()
    assert (sender.quality, sender.protection, sender.throughput_per_second) == (
        "yellow",
        "slowed",
        40,
    )
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.RUNNING
    slowed = Notification.objects.get(workspace=workspace, kind="number.protection_slowed")
    assert "from High to Medium" in slowed.text
    assert "What to do" in slowed.text

    # when: it drops again, to Low
    _quality_webhook(sender, graph, "5552101", "RED", django_capture_on_commit_callbacks)

    # then: its campaign is paused with the reason, and the notice says why and what to do
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.PAUSED
    assert campaign.pause_reason == Campaign.PauseReason.NUMBER_PROTECTION
    assert "from Medium to Low" in campaign.pause_detail
    paused = Notification.objects.get(workspace=workspace, kind="number.protection_paused")
    assert "paused 1 campaign on" in paused.text
    assert "resume the campaign at" in paused.text
    assert "What to do" in paused.text
    page = member_client.get(
        reverse("messaging_campaigns:detail", args=[workspace.slug, campaign.public_id])
    ).content.decode()
    assert "Paused to protect a number" in page
    assert (
        AuditEvent.objects.filter(
            workspace=workspace, action__in=["number.protection_slowed", "number.protection_paused"]
        ).count()
        == 2
    )


def test_a_drop_straight_to_low_pauses_at_once(
    workspace, owner, graph, django_capture_on_commit_callbacks
):
    sender = _connect(workspace, owner, graph, "5552102", "994502220002")
    campaign = _running_campaign(workspace, sender, "Flash")
    other = _running_campaign(
        workspace, _connect(workspace, owner, graph, "5552103", "994502220003"), "Other"
    )

    _quality_webhook(sender, graph, "5552102", "RED", django_capture_on_commit_callbacks)

    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.PAUSED
    assert Campaign.objects.get(pk=other.pk).status == Campaign.Status.RUNNING  # another number
    sender.refresh_from_db()
    assert sender.protection == "paused"


def test_a_rising_block_rate_slows_then_pauses_from_the_beat(workspace, owner, sandbox):
    # given: a number that sent 100 messages today, 2 of which WhatsApp refused as spam
    with override_settings(SANDBOX_GATEWAY_URL=sandbox.base_url):
        sender = number_services.sender_connect_sandbox(workspace=workspace, actor=owner)
    campaign = _running_campaign(workspace, sender, "Daily")
    MessageStat.objects.create(
        workspace=workspace, sender=sender, day=cap_day(sender).day, accepted=100
    )

    def blocked(n: int, start: int) -> None:
        Message.objects.bulk_create(
            Message(
                workspace=workspace,
                sender=sender,
                campaign=campaign,
                phone=f"+99455100{start + i:04d}",
                status=Message.Status.FAILED,
                error_code=131048,
                status_changed_at=timezone.now(),
            )
            for i in range(n)
        )

    blocked(2, 0)

    # when: the beat checks the numbers
    assert numbers_protect_due() == {sender.pk: "slowed"}

    # then: slowed, still running; a second pass at the same rate waits
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.RUNNING
    assert numbers_protect_due() == {}

    # when: the rate keeps rising (5%)
    blocked(3, 100)
    result = numbers_keep_alive_task()

    # then: its campaigns pause
    assert result["protected"] == 1
    campaign.refresh_from_db()
    assert (campaign.status, campaign.pause_reason) == (
        Campaign.Status.PAUSED,
        Campaign.PauseReason.NUMBER_PROTECTION,
    )
    assert "5.0% of its recipients in the last 24 hours (blocks)" in campaign.pause_detail
