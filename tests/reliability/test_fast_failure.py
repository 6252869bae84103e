"""A failure that beats the drainer's record (issue 14, item 5), with real processes: the
sandbox takes a send to a number that is not on WhatsApp and posts its `failed` status (131026)
while the drainer still waits for the rest of its batch; the status travels sandbox -> the web
process (gunicorn) -> the broker -> the worker, is applied before the record, and the message
ends failed with its credit given back, never charged."""

from __future__ import annotations

import logging

import pytest
from django.db.models import Count, Sum

from billing import services as billing
from billing.models import LedgerEntry
from messaging.campaigns.models import Campaign, Message
from messaging.contacts.models import Contact

from .conftest import (
    DEFAULT_SEND_ENV,
    Procfile,
    assert_nothing_lost_nothing_twice,
    sandbox_totals,
    wait_for,
    wait_statuses_applied,
)

log = logging.getLogger(__name__)
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(300)]

RECIPIENTS = 60
NOT_ON_WHATSAPP = 6  # the sandbox answers them, then fails them with 131026 (digits "0000$")


def test_a_failure_webhook_before_the_record_is_released_not_charged(
    workspace, credits, sandbox_number, engine_sandbox, procfile: Procfile, launch
) -> None:
    # given: 60 recipients, every tenth not on WhatsApp; one number at 20/s (a batch is 40
    # sends over 2 s, recorded when its last answer is in); each answer held 3 s (a slow
    # gateway), a message's `sent` and `failed` statuses due together (one webhook POST), and
    # statuses batched every 0.5 s, as Meta does (fewer, larger POSTs)
    Contact.objects.bulk_create(
        Contact(
            workspace=workspace,
            phone=f"+99450{i:03d}" + ("0000" if i % 10 == 0 else f"{i + 1:04d}"),
            first_name=f"Name{i}",
        )
        for i in range(RECIPIENTS)
    )
    credits(RECIPIENTS)
    engine_sandbox.configure(
        latency_seconds=3.0, sent_delay=0.05, delivered_delay=0.05, webhook_batch_interval=0.5
    )
    number = sandbox_number(rate=20)
    procfile.env.update(DEFAULT_SEND_ENV)
    procfile.start(web=True)

    # when: the campaign goes out; the test only watches
    campaign = launch([number], name="Fast failures")

    def diagnose() -> str:
        statuses = dict(
            Message.objects.filter(campaign=campaign)
            .values_list("status")
            .annotate(n=Count("id"))
            .order_by()
        )
        return (
            f"messages: {statuses}, sandbox: {sandbox_totals(engine_sandbox, [number])}\n"
            f"{procfile.tails()}"
        )

    wait_for(
        lambda: Campaign.objects.filter(pk=campaign.pk, status=Campaign.Status.COMPLETED).exists(),
        timeout=120,
        interval=0.5,
        what="the campaign completes by itself",
        diagnose=diagnose,
    )
    wait_statuses_applied(engine_sandbox, diagnose=diagnose)

    # then: the failures are failed, with Meta's code, and their credits are back
    failed = Message.objects.filter(campaign=campaign, status="failed")
    assert failed.count() == NOT_ON_WHATSAPP
    assert set(failed.values_list("error_code", flat=True)) == {131026}
    assert all(phone.endswith("0000") for phone in failed.values_list("phone", flat=True))
    balance = billing.credits_balance(workspace=workspace)
    assert (balance.available, balance.reserved) == (NOT_ON_WHATSAPP, 0)
    # Failures the webhook settled while the message was still `sending` (before the record)
    # are released; one that came after the record would have been charged, then refunded.
    entries = LedgerEntry.objects.filter(reference=campaign.credit_reference)
    released_by_webhook = -(
        entries.filter(kind=LedgerEntry.Kind.RELEASE)
        .exclude(idempotency_key__endswith=":complete")
        .aggregate(n=Sum("reserved_delta"))["n"]
        or 0
    )
    refunded = entries.filter(kind=LedgerEntry.Kind.REFUND).aggregate(n=Sum("amount"))["n"] or 0
    log.warning(
        "fast failures: %s released before the record, %s refunded after it; sandbox %s",
        released_by_webhook,
        refunded,
        sandbox_totals(engine_sandbox, [number]),
    )
    assert released_by_webhook >= 1, "no failure arrived before its record: nothing tested"
    assert released_by_webhook + refunded == NOT_ON_WHATSAPP
    gateway = assert_nothing_lost_nothing_twice(
        sandbox_api=engine_sandbox, numbers=[number], campaign=campaign, sent=RECIPIENTS,
        procfile=procfile,
    )  # fmt: skip
    assert gateway["statuses"]["failed"] == NOT_ON_WHATSAPP
