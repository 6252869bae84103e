"""The drainer's record and the status webhooks in either order (issue 14): `accepted_at` is
the earliest report, a failure that beats the record is never charged, and a send the
drainer never recorded is charged from its status webhook."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from billing.models import LedgerEntry
from messaging.campaigns.models import Campaign, Message
from messaging.engine import dispatch, ingest
from messaging.gateways.base import (
    DeliveryStatus,
    Outcome,
    StatusEvent,
)
from messaging.numbers.models import Sender

pytestmark = pytest.mark.django_db


@pytest.fixture
def one_claimed(sandbox_number, contacts, credits, launch) -> tuple[Sender, dispatch.Claimed]:
    """A one-message campaign whose message a drainer has claimed and sent, not yet recorded."""
    contacts(1)
    credits(1)
    number = sandbox_number()
    launch([number])
    (claimed,) = dispatch.claim(sender_id=number.pk, limit=10)
    return number, claimed


def _status(claimed: dispatch.Claimed, status: DeliveryStatus, *, at=None, **extra) -> StatusEvent:
    return StatusEvent(
        account_id="x",
        provider_message_id="wamid.fast",
        status=status,
        recipient=claimed.phone.lstrip("+"),
        timestamp=at,
        public_id=str(claimed.public_id),
        **extra,
    )


def _record_accepted(number: Sender, claimed: dispatch.Claimed) -> dispatch.DrainResult:
    result = dispatch.DrainResult()
    dispatch.record(
        sender=number,
        sent=[claimed],
        outcomes=[Outcome.accepted(str(claimed.public_id), "wamid.fast")],
        bodies={claimed.id: "Hi"},
        skipped=[],
        result=result,
    )
    return result


def _spent(campaign: Campaign) -> int:
    """Credits consumed minus refunded under the campaign's reference."""
    amounts = LedgerEntry.objects.filter(
        reference=campaign.credit_reference,
        kind__in=[LedgerEntry.Kind.CONSUMPTION, LedgerEntry.Kind.REFUND],
    ).values_list("amount", flat=True)
    return -sum(amounts)


def test_a_delivered_webhook_before_the_record_keeps_accepted_at_first(one_claimed) -> None:
    number, claimed = one_claimed
    delivered = timezone.now().replace(microsecond=0) - timedelta(seconds=5)
    ingest.apply_statuses(
        workspace_id=number.workspace_id,
        events=[_status(claimed, DeliveryStatus.DELIVERED, at=delivered)],
    )

    _record_accepted(number, claimed)

    message = Message.objects.get(pk=claimed.id)
    assert message.status == "delivered"
    assert message.accepted_at == delivered  # not moved to the record's later time
    assert message.accepted_at <= message.delivered_at


def test_a_webhook_earlier_than_the_record_moves_accepted_at_back(one_claimed) -> None:
    number, claimed = one_claimed
    _record_accepted(number, claimed)
    recorded = Message.objects.get(pk=claimed.id).accepted_at
    delivered = recorded.replace(microsecond=0) - timedelta(seconds=1)

    ingest.apply_statuses(
        workspace_id=number.workspace_id,
        events=[_status(claimed, DeliveryStatus.DELIVERED, at=delivered)],
    )

    message = Message.objects.get(pk=claimed.id)
    assert message.accepted_at == delivered <= message.delivered_at
