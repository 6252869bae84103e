"""The per-day statistics table equals a recount from the messages after a campaign with
retries, failures, replies, out-of-order and duplicate webhooks; the rebuild command agrees;
campaign counters come from it."""

from __future__ import annotations

import zoneinfo
from collections import Counter
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from billing import services as billing
from billing.checks import ledger_mismatches
from messaging.analytics.models import MessageStat
from messaging.campaigns.models import Campaign, Message
from messaging.engine import ingest, recovery
from messaging.engine.stats import COUNTERS, message_stats_rebuild
from messaging.gateways.base import (
    DeliveryStatus,
    InboundMessageEvent,
    ProviderError,
    classify_error_code,
)
from tests.factories import status_event

from .conftest import drain_all

pytestmark = pytest.mark.django_db

_TEMPORARY = {"retry_later", "rate_limited", "recipient_wait", "ambiguous"}
_SENDER = {"sender_blocked", "credentials_invalid"}


def recount(workspace) -> dict[tuple, Counter]:
    """What the table must hold, computed in Python from every message, one by one."""
    tz = zoneinfo.ZoneInfo(workspace.time_zone)
    expected: dict[tuple, Counter] = {}

    def add(message: Message, moment, **flags: bool) -> None:
        if moment is None:
            return
        key = (message.sender_id, message.campaign_id, timezone.localtime(moment, tz).date())
        row = expected.setdefault(key, Counter())
        for name, on in flags.items():
            row[name] += int(on)

    for m in Message.objects.filter(workspace=workspace):
        failed = m.status == "failed"
        add(
            m,
            m.created_at,
            created=True,
            pending=m.status in ("queued", "sending", "ambiguous"),
            skipped=m.status == "skipped",
        )
        add(
            m,
            m.accepted_at,
            accepted=True,
            sent=m.status in ("sent", "delivered", "read"),
            credits_used=not failed,
        )
        add(m, m.delivered_at or m.read_at, delivered=True)
        add(m, m.read_at, read=True)
        add(m, m.replied_at, replied=True)
        opted = m.opted_out_at or (
            m.status_changed_at if failed and m.error_code == 131050 else None
        )
        add(m, opted, opted_out=True)
        if m.status in ("failed", "cancelled", "expired"):
            kind = m.error_kind
            add(
                m,
                m.status_changed_at,
                failed_recipient=failed and kind == "recipient_permanent",
                failed_content=failed and kind == "fix_request",
                failed_temporary=failed and kind in _TEMPORARY,
                failed_sender=failed and kind in _SENDER,
                failed_other=failed
                and kind not in {"recipient_permanent", "fix_request", *_TEMPORARY, *_SENDER},
                cancelled=not failed,
            )
    return {key: +row for key, row in expected.items() if +row}


def stored(workspace) -> dict[tuple, Counter]:
    table = {}
    for stat in MessageStat.objects.filter(workspace=workspace):
        row = Counter({name: getattr(stat, name) for name in COUNTERS})
        if +row:
            table[(stat.sender_id, stat.campaign_id, stat.day)] = +row
    return table


def _reply(number, message: Message, text: str, wamid: str) -> InboundMessageEvent:
    return InboundMessageEvent(
        account_id=number.phone_number_id,
        provider_message_id=wamid,
        sender=message.phone.lstrip("+"),
        timestamp=None,
        kind="text",
        text=text,
    )


def test_the_table_equals_a_recount_after_a_messy_campaign(
    workspace, sandbox_number, contacts, credits, launch, engine_sandbox
) -> None:
    contacts(60, start=2_000_001)
    credits(60)
    first, second = sandbox_number(), sandbox_number()
    engine_sandbox.configure(error_5xx_ratio=0.2, seed=7)  # retries
    campaign = launch([first, second])
    drain_all([first, second])
    engine_sandbox.configure(error_5xx_ratio=0.0)

    accepted = list(
        Message.objects.filter(campaign=campaign, status="accepted").order_by("id")[:20]
    )
    assert len(accepted) == 20
    error = ProviderError(code=131049, title="Not delivered to maintain ecosystem health")
    failure = classify_error_code(131049)
    invalid = ProviderError(code=131026, title="Message undeliverable")
    verdict = classify_error_code(131026)
    batch = []
    for i, message in enumerate(accepted):
        if i < 8:  # read, with delivered and sent arriving later and twice
            batch += [
                status_event(message, DeliveryStatus.READ),
                status_event(message, DeliveryStatus.DELIVERED),
                status_event(message, DeliveryStatus.SENT),
                status_event(message, DeliveryStatus.READ),
            ]
        elif i < 14:
            batch += [status_event(message, DeliveryStatus.DELIVERED)] * 2
        elif i < 17:  # failed after acceptance
            batch += [status_event(message, DeliveryStatus.FAILED, error=error, failure=failure)]
        elif i < 19:  # not on WhatsApp
            batch += [status_event(message, DeliveryStatus.FAILED, error=invalid, failure=verdict)]
        else:
            batch += [status_event(message, DeliveryStatus.SENT)]
    ingest.apply_events(sender=first, events=batch[: len(batch) // 2])
    ingest.apply_events(sender=first, events=batch[len(batch) // 2 :])
    ingest.apply_events(sender=first, events=batch[::3])  # the gateway retries a few webhooks

    # replies, one of them an opt-out, one delivered twice
    replies = [
        _reply(accepted[0].sender, accepted[0], "Thanks!", "wamid.r1"),
        _reply(accepted[1].sender, accepted[1], "STOP", "wamid.r2"),
        _reply(accepted[0].sender, accepted[0], "And again", "wamid.r3"),
    ]
    sender_of = {m.phone: m.sender for m in accepted[:2]}
    for event in [*replies, replies[1]]:
        ingest.apply_events(sender=sender_of["+" + event.sender], events=[event])

    expected = recount(workspace)
    assert stored(workspace) == expected
    totals = sum(expected.values(), Counter())
    assert totals["created"] == 60
    assert totals["failed_recipient"] == 2  # 131026
    assert totals["failed_temporary"] == 3  # 131049 after acceptance
    assert totals["read"] == 8
    assert totals["delivered"] == 14
    assert totals["replied"] == 2
    assert totals["opted_out"] == 1
    assert totals["credits_used"] == 60 - 5

    # the campaign's counters are read from the table (late webhooks included: the periodic
    # tick refreshes what the throttled hot path skipped)
    recovery.tick()
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.COMPLETED
    assert (campaign.count_delivered, campaign.count_read, campaign.count_failed) == (14, 8, 5)
    assert (campaign.count_replied, campaign.count_opted_out) == (2, 1)

    # the 5 messages that failed after acceptance gave their credits back
    assert billing.credits_balance(workspace=workspace).available == 5
    assert ledger_mismatches() == []

    # the rebuild finds nothing to change and leaves the same figures
    result = message_stats_rebuild(workspace_id=workspace.pk)
    assert result.differences == 0
    call_command("stats_rebuild")
    assert stored(workspace) == expected


def test_rebuild_repairs_a_damaged_table_and_keeps_purged_days(
    workspace, sandbox_number, contacts, credits, launch
) -> None:
    contacts(10)
    credits(10)
    number = sandbox_number()
    campaign = launch([number])
    drain_all([number])
    expected = recount(workspace)

    # history whose messages retention already purged stays; damage is repaired
    old_day = timezone.localdate() - timedelta(days=400)
    MessageStat.objects.create(
        workspace=workspace, sender=number, campaign=None, day=old_day, accepted=7
    )
    MessageStat.objects.filter(campaign=campaign).update(accepted=999)
    with connection.cursor() as cursor:  # a row the triggers never wrote
        cursor.execute(
            "UPDATE messaging_messagestat SET created = created + 5 WHERE campaign_id = %s",
            [campaign.pk],
        )

    assert message_stats_rebuild(workspace_id=workspace.pk, dry_run=True).differences > 0
    assert MessageStat.objects.filter(campaign=campaign, accepted=999).exists()  # dry run
    call_command("stats_rebuild", workspace=workspace.slug)

    table = stored(workspace)
    assert table.pop((number.pk, None, old_day)) == Counter(accepted=7)
    assert table == expected


def test_days_follow_the_workspace_time_zone(workspace, sandbox_number) -> None:
    number = sandbox_number()
    workspace.time_zone = "Asia/Baku"  # UTC+4
    workspace.save(update_fields=["time_zone"])
    late_evening_utc = timezone.now().replace(hour=22, minute=30, second=0, microsecond=0)
    Message.objects.create(
        workspace=workspace,
        sender=number,
        phone="+994501234567",
        status="queued",
        created_at=late_evening_utc,
    )
    stat = MessageStat.objects.get(workspace=workspace)
    assert stat.day == (late_evening_utc + timedelta(hours=4)).date()
    assert (stat.created, stat.pending, stat.campaign_id) == (1, 1, None)
