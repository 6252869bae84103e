"""The drainer's record and the status webhooks in either order (issue 14): `accepted_at` is
the earliest report, a failure that beats the record is never charged, and a send the
drainer never recorded is charged from its status webhook."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from billing import services as billing
from billing.models import LedgerEntry
from messaging.campaigns.models import Campaign, Message
from messaging.engine import dispatch, ingest, reactions, recovery
from messaging.gateways.base import (
    DeliveryStatus,
    Outcome,
    OutcomeKind,
    ProviderError,
    StatusEvent,
    classify_error_code,
)
from messaging.numbers import services as number_services
from messaging.numbers.models import Sender, WebhookEvent

from .conftest import drain_all

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


def _webhook(number: Sender, message: Message, *statuses: tuple[str, int]) -> WebhookEvent:
    """A stored (verified) Cloud API webhook with these statuses for one message."""
    value = {
        "messaging_product": "whatsapp",
        "metadata": {
            "display_phone_number": number.phone_number.lstrip("+"),
            "phone_number_id": number.phone_number_id,
        },
        "statuses": [
            {
                "id": message.provider_message_id or "wamid.x",
                "status": status,
                "timestamp": str(at),
                "recipient_id": message.phone.lstrip("+"),
                "biz_opaque_callback_data": str(message.public_id),
            }
            for status, at in statuses
        ],
    }
    body = {
        "object": "whatsapp_business_account",
        "entry": [{"id": number.waba_id, "changes": [{"field": "messages", "value": value}]}],
    }
    return WebhookEvent.objects.create(
        workspace_id=number.workspace_id,
        sender=number,
        source=WebhookEvent.Source.CLOUD_API,
        body=json.dumps(body).encode(),
    )


def test_a_worker_dying_between_parse_and_apply_loses_no_status(
    sandbox_number, contacts, credits, launch, monkeypatch
) -> None:
    """The status is applied exactly once: the crash leaves the event "received" (nothing
    applied, nothing marked) and the stale sweep applies it later."""
    contacts(1)
    credits(1)
    number = sandbox_number()
    campaign = launch([number])
    drain_all([number])
    message = Message.objects.get(campaign=campaign)
    now = int(time.time())
    event = _webhook(number, message, ("delivered", now - 2), ("read", now - 1))
    real_apply = ingest.apply_status_batches
    calls = []

    def dies_first_time(**kwargs):
        calls.append(kwargs)
        if len(calls) == 1:
            raise SystemExit("worker killed")  # what a SIGKILL looks like from the database
        return real_apply(**kwargs)

    monkeypatch.setattr(ingest, "apply_status_batches", dies_first_time)

    with pytest.raises(SystemExit):
        number_services.webhook_event_parse(event_id=event.pk)

    event.refresh_from_db()
    message.refresh_from_db()
    assert (event.state, message.status) == ("received", "accepted")

    assert number_services.webhook_events_requeue_stale(older_than_seconds=0) == 1

    event.refresh_from_db()
    message.refresh_from_db()
    assert (event.state, message.status) == ("parsed", "read")
    assert message.delivered_at is not None
    assert message.read_at is not None
    assert number_services.webhook_events_requeue_stale(older_than_seconds=0) == 0
    # applied once: a redelivered task finds it parsed and does nothing
    number_services.webhook_event_parse(event_id=event.pk)
    assert len(calls) == 2


def _failed(claimed: dispatch.Claimed) -> StatusEvent:
    error = ProviderError(code=131026, title="Message undeliverable")
    return _status(claimed, DeliveryStatus.FAILED, error=error, failure=classify_error_code(131026))


def test_a_failure_before_the_record_is_released_not_charged(workspace, one_claimed) -> None:
    """A number not on WhatsApp answered by a fast `failed` webhook while the drainer has not
    recorded the send yet: the failure stays, and the credit comes back."""
    number, claimed = one_claimed
    campaign = Campaign.objects.get(pk=claimed.campaign_id)
    ingest.apply_statuses(workspace_id=number.workspace_id, events=[_failed(claimed)])

    _record_accepted(number, claimed)
    reactions.campaigns_refresh(campaign_ids=[campaign.pk])

    message = Message.objects.get(pk=claimed.id)
    assert (message.status, message.error_code) == ("failed", 131026)
    assert _spent(campaign) == 0
    campaign.refresh_from_db()
    assert campaign.status == "completed"
    assert billing.credits_balance(workspace=workspace) == billing.Balance(available=1, reserved=0)
    call_command("billing_check_ledger")


def test_a_failure_after_the_record_is_refunded(workspace, one_claimed) -> None:
    number, claimed = one_claimed
    campaign = Campaign.objects.get(pk=claimed.campaign_id)
    _record_accepted(number, claimed)
    assert _spent(campaign) == 1

    ingest.apply_statuses(workspace_id=number.workspace_id, events=[_failed(claimed)])

    assert Message.objects.get(pk=claimed.id).status == "failed"
    assert _spent(campaign) == 0
    assert billing.credits_balance(workspace=workspace) == billing.Balance(available=1, reserved=0)


@pytest.mark.parametrize("record_first", [True, False], ids=["record_first", "webhook_first"])
def test_record_and_webhook_charge_a_send_once_in_either_order(one_claimed, record_first) -> None:
    number, claimed = one_claimed
    campaign = Campaign.objects.get(pk=claimed.campaign_id)
    delivered = [_status(claimed, DeliveryStatus.DELIVERED)]
    if record_first:
        _record_accepted(number, claimed)
    ingest.apply_statuses(workspace_id=number.workspace_id, events=delivered)
    if not record_first:
        _record_accepted(number, claimed)
    ingest.apply_statuses(workspace_id=number.workspace_id, events=delivered)  # a duplicate

    assert Message.objects.get(pk=claimed.id).status == "delivered"
    assert _spent(campaign) == 1


def test_a_send_the_drainer_never_recorded_is_charged_from_its_webhook(
    workspace, one_claimed
) -> None:
    """The drainer was killed after the gateway took the message: its status webhook finds the
    message (by our id, `biz_opaque_callback_data`) and charges it; it is not sent again."""
    number, claimed = one_claimed
    campaign = Campaign.objects.get(pk=claimed.campaign_id)

    ingest.apply_statuses(
        workspace_id=number.workspace_id, events=[_status(claimed, DeliveryStatus.SENT)]
    )
    Message.objects.filter(pk=claimed.id).update(lease_until=timezone.now() - timedelta(1))
    recovery.tick()  # the dead drainer's lease expired long ago

    message = Message.objects.get(pk=claimed.id)
    assert (message.status, message.provider_message_id) == ("sent", "wamid.fast")
    assert message.accepted_at is not None
    assert _spent(campaign) == 1
    campaign.refresh_from_db()
    assert campaign.status == "completed"
    assert billing.credits_balance(workspace=workspace) == billing.Balance(available=0, reserved=0)


def test_an_ambiguous_send_reconciled_by_its_webhook_is_charged(workspace, one_claimed) -> None:
    number, claimed = one_claimed
    campaign = Campaign.objects.get(pk=claimed.campaign_id)
    dispatch.record(
        sender=number,
        sent=[claimed],
        outcomes=[Outcome(str(claimed.public_id), OutcomeKind.AMBIGUOUS, note="read timeout")],
        bodies={claimed.id: "Hi"},
        skipped=[],
        result=dispatch.DrainResult(),
    )
    assert (Message.objects.get(pk=claimed.id).status, _spent(campaign)) == ("ambiguous", 0)

    ingest.apply_statuses(
        workspace_id=number.workspace_id, events=[_status(claimed, DeliveryStatus.DELIVERED)]
    )

    assert (Message.objects.get(pk=claimed.id).status, _spent(campaign)) == ("delivered", 1)


def _lease_expires(claimed: dispatch.Claimed) -> None:
    Message.objects.filter(pk=claimed.id).update(lease_until=timezone.now() - timedelta(1))


def _wait_over(claimed: dispatch.Claimed) -> None:
    """As if ENGINE_INTERRUPTED_RESEND_AFTER had passed since the tick settled the lease."""
    Message.objects.filter(pk=claimed.id).update(
        status_changed_at=timezone.now() - timedelta(seconds=3600)
    )


def test_a_dead_drainers_message_waits_for_its_status_before_any_resend(one_claimed) -> None:
    """The drainer died with the message in flight: it may be at the gateway, so it is not
    queued again at once (that is how a crash turns into a duplicate): it waits as ambiguous,
    and goes back to the queue only after the wait, with no webhook of its number unapplied."""
    number, claimed = one_claimed
    _lease_expires(claimed)

    recovery.tick()
    message = Message.objects.get(pk=claimed.id)
    assert (message.status, message.error_kind) == ("ambiguous", recovery.INTERRUPTED)
    assert dispatch.claim(sender_id=number.pk, limit=10) == []  # nothing to send yet

    recovery.tick()  # the wait is not over: still waiting
    assert Message.objects.get(pk=claimed.id).status == "ambiguous"

    _wait_over(claimed)
    recovery.tick()
    message = Message.objects.get(pk=claimed.id)
    assert (message.status, message.error_kind) == ("queued", "")
    (again,) = dispatch.claim(sender_id=number.pk, limit=10)
    assert again.id == claimed.id


def test_a_dead_drainers_message_is_not_resent_while_its_numbers_webhooks_wait(
    one_claimed,
) -> None:
    """A stored webhook not yet applied may be this message's status: no resend until the
    number's stored webhooks are applied, however long the wait has been."""
    number, claimed = one_claimed
    _lease_expires(claimed)
    recovery.tick()
    _wait_over(claimed)
    pending = WebhookEvent.objects.create(
        workspace_id=number.workspace_id,
        sender=number,
        source=WebhookEvent.Source.CLOUD_API,
        body=b"{}",
    )

    recovery.tick()
    assert Message.objects.get(pk=claimed.id).status == "ambiguous"

    WebhookEvent.objects.filter(pk=pending.pk).update(state=WebhookEvent.State.PARSED)
    recovery.tick()
    assert Message.objects.get(pk=claimed.id).status == "queued"


def test_a_dead_drainers_message_settled_by_its_webhook_is_charged_and_never_resent(
    workspace, one_claimed
) -> None:
    number, claimed = one_claimed
    campaign = Campaign.objects.get(pk=claimed.campaign_id)
    _lease_expires(claimed)
    recovery.tick()

    ingest.apply_statuses(
        workspace_id=number.workspace_id, events=[_status(claimed, DeliveryStatus.DELIVERED)]
    )
    _wait_over(claimed)
    recovery.tick()

    message = Message.objects.get(pk=claimed.id)
    assert message.status == "delivered"
    assert dispatch.claim(sender_id=number.pk, limit=10) == []
    assert _spent(campaign) == 1
    campaign.refresh_from_db()
    assert campaign.status == "completed"


def _sandbox_allows(number: Sender, *, per_second: int) -> None:
    """Register the number at the sandbox with another rate; ours stays as it was."""
    ours = number.throughput_per_second
    number.throughput_per_second = per_second
    number_services._sandbox_register(number)
    number.throughput_per_second = ours


def test_a_redis_failure_between_claim_and_grant_puts_the_claim_back(
    sandbox_number, contacts, credits, launch, monkeypatch
) -> None:
    """Redis down while the next batch waits for its slots: that batch has not left, so it is
    queued again at once, not left `sending` until its lease runs out (when it would be held
    as unconfirmed, and counted against the daily cap as in flight meanwhile)."""
    import redis

    contacts(80)
    credits(80)
    number = sandbox_number(rate=20)
    # The gateway with headroom over our pace: on a loaded machine, sends released at 20/s
    # can reach it bunched in one second, and its 130429 would re-queue some of the first batch.
    _sandbox_allows(number, per_second=1000)
    campaign = launch([number])
    real_acquire = dispatch.SendLimiter.acquire
    calls = []

    def acquire(self, *args, **kwargs):
        calls.append(1)
        if len(calls) > 1:
            raise redis.ConnectionError("Redis restarts")
        return real_acquire(self, *args, **kwargs)

    monkeypatch.setattr(dispatch.SendLimiter, "acquire", acquire)

    with pytest.raises(redis.ConnectionError):
        dispatch.drain(sender_id=number.pk, slice_seconds=30)

    messages = Message.objects.filter(campaign=campaign)
    assert messages.filter(status="sending").count() == 0
    assert messages.filter(status="accepted").count() == 40  # the first batch, recorded
    assert messages.filter(status="queued", attempts=0).count() == 40


def test_a_ban_found_while_the_next_batch_waits_moves_that_batch_too(
    sandbox_number, contacts, credits, launch, engine_sandbox
) -> None:
    """The drainer claims its next batch before it records the last one. When that record
    finds the number banned, the claimed batch goes back to the queue before the queued
    messages move to the campaign's other number, so it moves with them: nothing is left
    behind on a number that will never send again."""
    contacts(120)
    credits(120)
    banned, healthy = sandbox_number(rate=20), sandbox_number(rate=20)
    campaign = launch([banned, healthy])
    answer = engine_sandbox.call("POST", f"/_sandbox/numbers/{banned.phone_number_id}/ban")
    assert answer.status == 200, answer.raw

    dispatch.drain(sender_id=banned.pk, slice_seconds=30)

    banned.refresh_from_db()
    assert banned.status == Sender.Status.BANNED
    left_behind = Message.objects.filter(campaign=campaign, sender=banned).exclude(
        status__in=["failed", "accepted", "sent", "delivered", "read"]
    )
    assert list(left_behind.values_list("status", flat=True)) == []
    assert Message.objects.filter(campaign=campaign, sender=healthy, status="queued").count() == 120
