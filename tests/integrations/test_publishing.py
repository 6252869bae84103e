"""Events published from real product actions: the engine's outcomes and statuses, replies
and opt-outs, campaign life, numbers and credits."""

from __future__ import annotations

from collections import Counter

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing import services as billing
from billing.models import BillingSettings
from integrations import services
from integrations.models import WebhookDelivery
from messaging.campaigns import services as campaigns
from messaging.campaigns.models import Campaign, Message
from messaging.contacts import services as contacts
from messaging.contacts.models import Contact
from messaging.engine import ingest
from messaging.gateways.base import DeliveryStatus, InboundMessageEvent, StatusEvent

from ..messaging.engine.conftest import drain_all

pytestmark = pytest.mark.django_db


def _types(workspace) -> Counter[str]:
    return Counter(
        WebhookDelivery.objects.for_workspace(workspace).values_list("event_type", flat=True)
    )


def test_publishing_without_endpoints_costs_no_query_once_cached(workspace) -> None:
    events = [("credits.low", {"available": 1, "threshold": 2})]
    assert services.webhook_events_publish(workspace_id=workspace.pk, events=events) == 0

    with CaptureQueriesContext(connection) as queries:
        written = services.webhook_events_publish(workspace_id=workspace.pk, events=events)

    assert written == 0
    assert len(queries) == 0


def test_a_new_endpoint_is_seen_at_once_despite_the_cache(workspace, make_endpoint) -> None:
    services.webhook_events_publish(workspace_id=workspace.pk, events=[("credits.low", {})])
    make_endpoint("https://hooks.example.com/a", ["credits.low"])

    written = services.webhook_events_publish(
        workspace_id=workspace.pk, events=[("credits.low", {}), ("campaign.started", {})]
    )

    assert written == 1


def test_a_campaign_publishes_started_statuses_and_completed(
    workspace, owner, make_endpoint, sandbox_number, contacts, credits, launch
) -> None:
    # given: an endpoint for message statuses and campaign events; 3 contacts; one number
    make_endpoint(
        "https://hooks.example.com/engine",
        ["message.status", "campaign.started", "campaign.completed"],
    )
    contacts(3)
    credits(10)
    number = sandbox_number()

    # when: a campaign runs to the end
    campaign = launch([number])
    drain_all([number])

    # then: one started, one accepted status per message, one completed
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.COMPLETED
    assert _types(workspace) == {
        "campaign.started": 1,
        "message.status": 3,
        "campaign.completed": 1,
    }
    statuses = WebhookDelivery.objects.for_workspace(workspace).filter(event_type="message.status")
    message_ids = {
        str(m)
        for m in Message.objects.filter(campaign=campaign).values_list("public_id", flat=True)
    }
    assert {d.payload["data"]["message_id"] for d in statuses} == message_ids
    assert {d.payload["data"]["status"] for d in statuses} == {"accepted"}
    assert {d.payload["data"]["campaign_id"] for d in statuses} == {str(campaign.public_id)}
    completed = WebhookDelivery.objects.for_workspace(workspace).get(
        event_type="campaign.completed"
    )
    assert completed.payload["type"] == "campaign.completed"
    assert completed.payload["data"]["counts"]["accepted"] == 3
    # no internal id anywhere in a payload
    assert all("pk" not in d.payload["data"] for d in statuses)

    # when: the gateway reports one delivered (status ingestion)
    message = Message.objects.filter(campaign=campaign).first()
    ingest.apply_statuses(
        workspace_id=workspace.pk,
        events=[
            StatusEvent(
                account_id=number.phone_number_id,
                provider_message_id=message.provider_message_id,
                status=DeliveryStatus.DELIVERED,
                recipient=message.phone.lstrip("+"),
                timestamp=None,
                public_id=str(message.public_id),
            )
        ],
    )

    # then
    delivered = WebhookDelivery.objects.for_workspace(workspace).filter(
        event_type="message.status", payload__data__status="delivered"
    )
    assert [d.payload["data"]["message_id"] for d in delivered] == [str(message.public_id)]


def test_a_stop_reply_publishes_the_reply_and_the_opt_out(
    workspace, make_endpoint, sandbox_number
) -> None:
    make_endpoint("https://hooks.example.com/in", ["message.inbound", "contact.opted_out"])
    number = sandbox_number()
    contact = Contact.objects.create(workspace=workspace, phone="+994501112233")

    ingest.apply_inbound(
        sender=number,
        events=[
            InboundMessageEvent(
                account_id=number.phone_number_id,
                provider_message_id="wamid.in.stop",
                sender="994501112233",
                timestamp=None,
                kind="text",
                text="STOP",
            )
        ],
    )

    assert _types(workspace) == {"message.inbound": 1, "contact.opted_out": 1}
    inbound = WebhookDelivery.objects.for_workspace(workspace).get(event_type="message.inbound")
    assert inbound.payload["data"]["from"] == "+994501112233"
    assert inbound.payload["data"]["text"] == "STOP"
    assert inbound.payload["data"]["is_opt_out"] is True
    assert inbound.payload["data"]["number_id"] == str(number.public_id)
    opted = WebhookDelivery.objects.for_workspace(workspace).get(event_type="contact.opted_out")
    assert opted.payload["data"]["contact_id"] == str(contact.public_id)


def test_a_manual_opt_out_publishes_once(workspace, make_endpoint) -> None:
    make_endpoint("https://hooks.example.com/c", ["contact.opted_out"])
    contact = Contact.objects.create(workspace=workspace, phone="+994501112234")

    contacts.contact_opt_out(workspace=workspace, contact=contact, reason="asked by phone")
    contacts.contact_opt_out(workspace=workspace, contact=contact)  # already out: no event

    (delivery,) = WebhookDelivery.objects.for_workspace(workspace)
    assert delivery.payload["data"] == {
        "contact_id": str(contact.public_id),
        "phone": "+994501112234",
        "source": "manual",
        "reason": "asked by phone",
    }


def test_pausing_a_campaign_publishes_paused(
    workspace, owner, make_endpoint, sandbox_number, contacts, credits, launch
) -> None:
    make_endpoint("https://hooks.example.com/p", ["campaign.paused"])
    contacts(2)
    credits(5)
    campaign = launch([sandbox_number()])

    campaigns.campaign_pause(workspace=workspace, campaign=campaign, actor=owner)

    (delivery,) = WebhookDelivery.objects.for_workspace(workspace)
    assert delivery.payload["data"]["campaign_id"] == str(campaign.public_id)
    assert delivery.payload["data"]["pause_reason"] == "user"


def test_a_removed_number_publishes_its_status(workspace, owner, make_endpoint, sandbox_number):
    from messaging.numbers import services as senders

    make_endpoint("https://hooks.example.com/n", ["number.status_changed"])
    number = sandbox_number()

    senders.sender_remove(workspace=workspace, actor=owner, sender=number)

    (delivery,) = WebhookDelivery.objects.for_workspace(workspace)
    assert delivery.payload["data"]["number_id"] == str(number.public_id)
    assert (delivery.payload["data"]["status"], delivery.payload["data"]["previous_status"]) == (
        "disconnected",
        "active",
    )


def test_credits_low_is_published_once_per_crossing(workspace, owner, make_endpoint) -> None:
    # given: a threshold of 50 and 60 credits
    make_endpoint("https://hooks.example.com/b", ["credits.low"])
    BillingSettings.objects.create(workspace=workspace, low_balance_threshold=50)
    billing.credits_adjust(workspace=workspace, amount=60, reason="test", actor=owner)

    # when: two reservations take the balance below it
    for i in range(2):
        billing.credits_reserve(
            workspace=workspace, amount=10, reference=f"r{i}", idempotency_key=f"k{i}"
        )

    # then: told once, with the balance at the crossing
    (delivery,) = WebhookDelivery.objects.for_workspace(workspace)
    assert delivery.payload["data"] == {"available": 40, "threshold": 50}
