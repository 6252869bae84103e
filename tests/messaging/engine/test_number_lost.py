"""A number that stops being able to send outside a send (Meta's account webhook bans it, or
the user removes it) takes its running campaigns with it no longer: their queued messages
move to the campaigns' other live numbers, or the campaign pauses saying why. Before, the
campaign stayed "Running" forever with nothing sent and its credits reserved."""

from __future__ import annotations

import pytest

from messaging.campaigns.models import Campaign, Message
from messaging.gateways.base import AccountEffect, AccountEvent
from messaging.numbers import services as numbers
from messaging.numbers.models import Sender

pytestmark = pytest.mark.django_db


def _queued_on(campaign: Campaign) -> dict[int, int]:
    rows = Message.objects.filter(campaign=campaign, indexed_status="queued")
    counts: dict[int, int] = {}
    for sender_id in rows.values_list("sender_id", flat=True):
        counts[sender_id] = counts.get(sender_id, 0) + 1
    return counts


def _ban(number: Sender) -> None:
    numbers._apply_account_event(
        number,
        AccountEvent(
            account_id=number.waba_id,
            event="DISABLED_UPDATE",
            effect=AccountEffect.BLOCKED,
            timestamp=None,
        ),
    )


def test_a_campaign_on_a_number_banned_by_meta_pauses_saying_why(
    sandbox_number, contacts, credits, launch
) -> None:
    number = sandbox_number()
    contacts(6)
    credits(6)
    campaign = launch([number])
    assert sum(_queued_on(campaign).values()) == 6

    _ban(number)

    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.PAUSED
    assert campaign.pause_reason == Campaign.PauseReason.NUMBER_BLOCKED


def test_a_banned_numbers_messages_move_to_the_campaigns_number_of_another_account(
    sandbox_number, contacts, credits, launch
) -> None:
    banned, other = sandbox_number(), sandbox_number()
    Sender.objects.filter(pk=other.pk).update(waba_id="another-account")
    contacts(8)
    credits(8)
    campaign = launch([banned, other])
    assert _queued_on(campaign).get(banned.pk)

    _ban(banned)

    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.RUNNING
    assert _queued_on(campaign) == {other.pk: 8}


def test_removing_a_number_moves_its_queue_or_pauses_its_campaign(
    workspace, owner, sandbox_number, contacts, credits, launch
) -> None:
    kept, removed, alone = sandbox_number(), sandbox_number(), sandbox_number()
    contacts(8)
    credits(16)
    shared = launch([kept, removed], name="Shared")
    single = launch([alone], name="Single")

    numbers.sender_remove(workspace=workspace, actor=owner, sender=removed)
    numbers.sender_remove(workspace=workspace, actor=owner, sender=alone)

    shared.refresh_from_db()
    single.refresh_from_db()
    assert shared.status == Campaign.Status.RUNNING
    assert _queued_on(shared) == {kept.pk: 8}
    assert single.status == Campaign.Status.PAUSED
    assert single.pause_reason == Campaign.PauseReason.NUMBER_BLOCKED
