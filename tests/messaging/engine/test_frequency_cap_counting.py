"""What counts toward the frequency cap ("no contact gets more than N marketing messages per M
days, across campaigns"): a campaign message counts from when it reached the person, not from
when it was queued, and one still on its way counts however long ago it was queued; the
person is their phone number, so deleting and re-importing a contact does not reset the cap.
Single sends (API, inbox replies, a campaign's test send) are not campaign messages and do not
count; nor do messages that never reached anyone."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Workspace
from messaging.campaigns.models import Campaign, Message, SendingPolicy
from messaging.contacts.models import Contact
from messaging.engine.frequency import frequency_capped_count, within_frequency_cap
from messaging.numbers.models import Sender

pytestmark = pytest.mark.django_db

S = Message.Status


@pytest.fixture
def setup(workspace: Workspace):
    """A cap of 1 message per 7 days, a number, an earlier campaign and the next one."""
    SendingPolicy.objects.create(
        workspace=workspace, frequency_cap_messages=1, frequency_cap_days=7
    )
    sender = Sender.objects.create(
        workspace=workspace,
        provider=Sender.Provider.SANDBOX,
        status=Sender.Status.ACTIVE,
        phone_number="+994502240001",
    )
    earlier = Campaign.objects.create(workspace=workspace, name="Earlier")
    following = Campaign.objects.create(workspace=workspace, name="Next")
    return sender, earlier, following


def _contact(workspace: Workspace, n: int) -> Contact:
    return Contact.objects.create(workspace=workspace, phone=f"+99450{3_000_000 + n:07d}")


def _message(workspace, sender, contact, *, campaign, status, queued_ago, accepted_ago=None):
    now = timezone.now()
    return Message.objects.create(
        workspace=workspace,
        sender=sender,
        campaign=campaign,
        contact=contact,
        phone=contact.phone,
        status=status,
        created_at=now - queued_ago,
        accepted_at=None if accepted_ago is None else now - accepted_ago,
    )


def _capped(workspace: Workspace, campaign: Campaign) -> set[str]:
    everyone = Contact.objects.filter(workspace=workspace)
    kept = set(within_frequency_cap(campaign, everyone).values_list("phone", flat=True))
    assert frequency_capped_count(campaign, everyone) == everyone.count() - len(kept)
    return set(everyone.values_list("phone", flat=True)) - kept


def test_a_message_queued_long_ago_but_delivered_yesterday_counts(workspace, setup) -> None:
    # given: a campaign queued 10 days ago (paused, then resumed) reached this person yesterday
    sender, earlier, following = setup
    reached = _contact(workspace, 1)
    _message(
        workspace,
        sender,
        reached,
        campaign=earlier,
        status=S.DELIVERED,
        queued_ago=timedelta(days=10),
        accepted_ago=timedelta(days=1),
    )
    # and: another person was reached 8 days ago (outside the 7 days)
    long_ago = _contact(workspace, 2)
    _message(
        workspace,
        sender,
        long_ago,
        campaign=earlier,
        status=S.READ,
        queued_ago=timedelta(days=10),
        accepted_ago=timedelta(days=8),
    )

    # then: the next campaign leaves out the first, not the second
    assert _capped(workspace, following) == {reached.phone}


def test_a_message_still_on_its_way_counts_however_old(workspace, setup) -> None:
    # given: a paused campaign's messages queued 12 days ago, not sent yet (queued, in flight
    # when a worker died, or unconfirmed after a timeout)
    sender, earlier, following = setup
    waiting = {
        status: _contact(workspace, i)
        for i, status in enumerate([S.QUEUED, S.SENDING, S.AMBIGUOUS])
    }
    for status, contact in waiting.items():
        _message(
            workspace,
            sender,
            contact,
            campaign=earlier,
            status=status,
            queued_ago=timedelta(days=12),
        )

    # then: whenever it resumes they get it, so the next campaign leaves them out
    assert _capped(workspace, following) == {c.phone for c in waiting.values()}


def test_deleting_and_reimporting_a_contact_does_not_reset_the_cap(workspace, setup) -> None:
    # given: a person reached two days ago, whose contact was then deleted and imported again
    sender, earlier, following = setup
    before = _contact(workspace, 7)
    _message(
        workspace,
        sender,
        before,
        campaign=earlier,
        status=S.DELIVERED,
        queued_ago=timedelta(days=2),
        accepted_ago=timedelta(days=2),
    )
    phone = before.phone
    before.delete()
    again = Contact.objects.create(workspace=workspace, phone=phone)
    assert Message.objects.get(phone=phone).contact_id is None

    # then: the same person is still capped
    assert _capped(workspace, following) == {again.phone}


def test_what_never_reached_anyone_and_single_sends_do_not_count(workspace, setup) -> None:
    sender, earlier, following = setup
    for i, status in enumerate([S.FAILED, S.CANCELLED, S.SKIPPED, S.EXPIRED]):
        _message(
            workspace,
            sender,
            _contact(workspace, 20 + i),
            campaign=earlier,
            status=status,
            queued_ago=timedelta(days=1),
            accepted_ago=timedelta(days=1) if status == S.FAILED else None,
        )
    # a single send (an API message, an inbox reply, a campaign's test send) yesterday
    _message(
        workspace,
        sender,
        _contact(workspace, 30),
        campaign=None,
        status=S.DELIVERED,
        queued_ago=timedelta(days=1),
        accepted_ago=timedelta(days=1),
    )
    # the next campaign's own message (fan-out writes them in chunks)
    own = _contact(workspace, 31)
    _message(workspace, sender, own, campaign=following, status=S.QUEUED, queued_ago=timedelta())

    assert _capped(workspace, following) == set()
