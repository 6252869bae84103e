"""Issue #17 F2: suspending a workspace stops its queued messages (39 went out within 10 s of
`suspended_at`). Suspension pauses the running campaigns with the reason, the claim never
takes a suspended workspace's message (single sends too), and restoring resumes exactly the
campaigns the suspension paused. The real drainer against the sandbox over HTTP."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from accounts import services as account_services
from messaging.campaigns import services as campaigns
from messaging.campaigns.models import Campaign, Message
from messaging.engine import dispatch, recovery
from tests.factories import UserFactory

from .conftest import drain_all

pytestmark = pytest.mark.django_db(transaction=True)

RATE = 5


def _accepted(sandbox, number) -> int:
    return int(sandbox.number_stats(number.phone_number_id)["accepted"])


def _wait(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_suspension_mid_campaign_stops_sends_and_restore_resumes(
    workspace,
    owner,
    member_client,
    sandbox_number,
    contacts,
    credits,
    launch,
    engine_sandbox,
    template,
) -> None:
    # given: a 40-message campaign on a 5/s number, a user-paused campaign beside it, and a
    # drainer running in the background as the dispatch workers do
    contacts(40)
    credits(60)
    number = sandbox_number(rate=RATE)
    campaign = launch([number])
    other = campaigns.campaign_create(
        workspace=workspace,
        actor=owner,
        name="Paused by me",
        template=template,
        senders=[number],
        audience={},
    )
    Campaign.objects.filter(pk=other.pk).update(
        status=Campaign.Status.PAUSED, pause_reason=Campaign.PauseReason.USER
    )
    staff = UserFactory(is_staff=True)
    stop = threading.Event()
    errors: list[BaseException] = []

    def drainer() -> None:
        try:
            while not stop.is_set():
                dispatch.drain(sender_id=number.pk, slice_seconds=0.5)
                time.sleep(0.05)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        finally:
            connection.close()

    worker = threading.Thread(target=drainer)
    worker.start()
    try:
        _wait(lambda: _accepted(engine_sandbox, number) >= RATE)

        # when: staff suspend the workspace mid-campaign
        account_services.workspace_suspend(workspace=workspace, actor=staff, reason="abuse report")
        at_suspension = _accepted(engine_sandbox, number)
        # what a drainer had already claimed may still land; nothing after it
        _wait(
            lambda: (
                not Message.objects.filter(
                    campaign=campaign, status=Message.Status.SENDING
                ).exists()
            )
        )
        settled = _accepted(engine_sandbox, number)
        time.sleep(3.0)  # the drainer keeps running: six more slices
        after = _accepted(engine_sandbox, number)
    finally:
        stop.set()
        worker.join(timeout=30)
    assert errors == []

    # then: no further send reached the sandbox, and the campaign says why it stopped
    assert after == settled
    assert settled - at_suspension <= RATE * dispatch.BATCH_SECONDS  # one claimed batch at most
    assert after < 40
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.PAUSED
    assert campaign.pause_reason == Campaign.PauseReason.WORKSPACE_SUSPENDED
    assert "suspended" in str(campaign.get_pause_reason_display()).lower()
    page = member_client.get(
        reverse("messaging_campaigns:detail", args=[workspace.slug, campaign.public_id])
    )
    assert "The workspace was suspended" in page.content.decode()
    assert Message.objects.filter(campaign=campaign, status=Message.Status.QUEUED).count() == (
        40 - after
    )

    # when: the workspace is restored
    workspace.refresh_from_db()
    account_services.workspace_restore(workspace=workspace, actor=staff, reason="resolved")

    # then: the campaign the suspension paused resumes and completes, without duplicates;
    # the one the user paused stays paused
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.RUNNING
    drain_all([number])
    campaign.refresh_from_db()
    assert (campaign.status, campaign.count_accepted) == (Campaign.Status.COMPLETED, 40)
    stats = engine_sandbox.number_stats(number.phone_number_id)
    assert (stats["accepted"], stats["distinct"], stats["duplicates"]) == (40, 40, 0)
    other.refresh_from_db()
    assert (other.status, other.pause_reason) == (
        Campaign.Status.PAUSED,
        Campaign.PauseReason.USER,
    )


def test_claim_takes_no_single_send_of_a_suspended_workspace(
    workspace, owner, sandbox_number, engine_sandbox
) -> None:
    number = sandbox_number()
    Message.objects.create(
        workspace=workspace,
        sender=number,
        phone="+994501234567",
        body="Your code is 1234",
        next_attempt_at=timezone.now(),
    )
    account_services.workspace_suspend(
        workspace=workspace, actor=UserFactory(is_staff=True), reason="fraud check"
    )

    assert dispatch.claim(sender_id=number.pk, limit=10) == []
    # and the drainer does not re-queue itself for a message it may not take (it did, forever)
    idle = dispatch.drain(sender_id=number.pk, slice_seconds=0.5)
    assert (idle.claimed, idle.more) == (0, False)

    workspace.refresh_from_db()
    account_services.workspace_restore(workspace=workspace, actor=None)
    assert len(dispatch.claim(sender_id=number.pk, limit=10)) == 1


def test_a_scheduled_campaign_waits_while_its_workspace_is_suspended(workspace) -> None:
    # given: a campaign whose start time passed while its workspace was suspended
    scheduled = Campaign.objects.create(
        workspace=workspace,
        name="Weekend offer",
        status=Campaign.Status.SCHEDULED,
        scheduled_at=timezone.now() - timedelta(minutes=5),
    )
    account_services.workspace_suspend(
        workspace=workspace, actor=UserFactory(is_staff=True), reason="fraud check"
    )

    # when: the tick runs
    recovery.tick()

    # then: it keeps waiting (a running campaign would show as sending while nothing may go out)
    scheduled.refresh_from_db()
    assert scheduled.status == Campaign.Status.SCHEDULED

    # and: the first tick after the restore starts it
    workspace.refresh_from_db()
    account_services.workspace_restore(workspace=workspace, actor=None)
    recovery.tick()
    scheduled.refresh_from_db()
    assert scheduled.status == Campaign.Status.RUNNING
