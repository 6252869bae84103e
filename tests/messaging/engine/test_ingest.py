"""Status ingestion: duplicates and disorder give the right final state and counters; a
late "sent" never undoes "read"; ambiguous sends are reconciled by our public id; the breaker."""

from __future__ import annotations

import pytest
from django.test import override_settings

from messaging.campaigns.models import Campaign, Message
from messaging.contacts.models import Contact
from messaging.engine import ingest, reactions
from messaging.gateways.base import DeliveryStatus, ProviderError, StatusEvent, classify_error_code
from tests.factories import status_event

from .conftest import drain_all

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent_campaign(sandbox_number, contacts, credits, launch) -> Campaign:
    contacts(4)
    credits(4)
    number = sandbox_number()
    campaign = launch([number])
    drain_all([number])
    return campaign


def test_duplicate_and_out_of_order_statuses(workspace, sent_campaign) -> None:
    a, b, c, d = Message.objects.filter(campaign=sent_campaign).order_by("id")
    events = [
        status_event(a, DeliveryStatus.READ),
        status_event(a, DeliveryStatus.DELIVERED),  # disorder
        status_event(a, DeliveryStatus.SENT),
        status_event(a, DeliveryStatus.READ),  # late sent, duplicate
        status_event(b, DeliveryStatus.DELIVERED),
        status_event(b, DeliveryStatus.DELIVERED),
        status_event(c, DeliveryStatus.SENT),
    ]
    # delivered to b arrives again in a later batch, and a's "sent" even later
    ingest.apply_events(sender=a.sender, events=events)
    ingest.apply_events(
        sender=a.sender,
        events=[status_event(b, DeliveryStatus.DELIVERED), status_event(a, DeliveryStatus.SENT)],
    )

    statuses = dict(Message.objects.filter(campaign=sent_campaign).values_list("id", "status"))
    assert [statuses[m.id] for m in (a, b, c, d)] == ["read", "delivered", "sent", "accepted"]
    a.refresh_from_db()
    assert a.delivered_at is not None  # read implies delivered
    sent_campaign.refresh_from_db()
    funnel = (
        sent_campaign.count_accepted,
        sent_campaign.count_sent,
        sent_campaign.count_delivered,
        sent_campaign.count_read,
    )
    assert funnel == (4, 3, 2, 1)


def test_failed_after_delivered_is_not_believed_and_131026_marks_the_contact(
    workspace, sent_campaign
):
    a, b, *_ = Message.objects.filter(campaign=sent_campaign).order_by("id")
    error = ProviderError(code=131026, title="Message undeliverable")
    verdict = classify_error_code(131026)
    ingest.apply_events(
        sender=a.sender,
        events=[
            status_event(a, DeliveryStatus.DELIVERED),
            status_event(a, DeliveryStatus.FAILED, error=error, failure=verdict),
            status_event(b, DeliveryStatus.FAILED, error=error, failure=verdict),
        ],
    )

    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.status, b.status, b.error_code) == ("delivered", "failed", 131026)
    assert Contact.objects.get(pk=b.contact_id).whatsapp_status == "invalid"


def test_ambiguous_send_is_reconciled_by_public_id(workspace, sent_campaign) -> None:
    message = Message.objects.filter(campaign=sent_campaign).first()
    Message.objects.filter(pk=message.pk).update(status="ambiguous", provider_message_id="")
    message.refresh_from_db()

    ingest.apply_events(
        sender=message.sender,
        events=[
            StatusEvent(
                account_id="x",
                provider_message_id="wamid.reconciled",
                status=DeliveryStatus.DELIVERED,
                recipient=None,
                timestamp=None,
                public_id=str(message.public_id),
            )
        ],
    )

    message.refresh_from_db()
    assert (message.status, message.provider_message_id) == ("delivered", "wamid.reconciled")


@override_settings(ENGINE_BREAKER_MIN_FAILURES=3, ENGINE_BREAKER_FAILURE_RATIO=0.5)
def test_error_rate_breaker_pauses_the_campaign(
    workspace, sandbox_number, contacts, credits, launch
):
    contacts(10)
    credits(10)
    campaign = launch([sandbox_number()])
    ids = list(Message.objects.filter(campaign=campaign).values_list("id", flat=True))
    Message.objects.filter(id__in=ids[:4]).update(status="failed")
    Message.objects.filter(id__in=ids[4:6]).update(status="accepted")

    reactions.campaigns_refresh(campaign_ids=[campaign.pk])

    campaign.refresh_from_db()
    assert (campaign.status, campaign.pause_reason) == ("paused", "breaker")
    assert workspace.notifications.filter(kind="campaign.paused").exists()


def test_a_contact_a_message_reached_or_who_wrote_is_on_whatsapp(
    workspace, sent_campaign, member_client
) -> None:
    """Delivered or read marks the contact "On WhatsApp" (the contacts filter and segments
    read it); a message that never arrived does not; a reply marks its writer."""
    from django.urls import reverse

    from messaging.gateways.base import InboundMessageEvent

    a, b, c, d = Message.objects.filter(campaign=sent_campaign).order_by("id")
    ingest.apply_events(
        sender=a.sender,
        events=[
            status_event(a, DeliveryStatus.DELIVERED),
            status_event(b, DeliveryStatus.READ),
            status_event(c, DeliveryStatus.SENT),
        ],
    )
    ingest.apply_events(
        sender=d.sender,
        events=[
            InboundMessageEvent(
                account_id=d.sender.phone_number_id,
                provider_message_id="wamid.reply-d",
                sender=d.phone.lstrip("+"),
                timestamp=None,
                kind="text",
                text="Salam",
            )
        ],
    )

    status = dict(Contact.objects.filter(workspace=workspace).values_list("id", "whatsapp_status"))
    assert [status[m.contact_id] for m in (a, b, c, d)] == ["valid", "valid", "unknown", "valid"]
    page = member_client.get(
        reverse("messaging:contacts", args=[workspace.slug]), {"whatsapp_status": "valid"}
    ).content.decode()
    assert a.phone in page
    assert c.phone not in page
