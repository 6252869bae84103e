"""A pause stops a batch already in flight: claimed messages wait for their slots (up to two
seconds of them), and a QA pass saw "Campaign paused" while the last message still went out
and the campaign then completed."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from messaging.campaigns import services as campaigns
from messaging.campaigns.models import Campaign, Message
from messaging.engine import dispatch

from .conftest import drain_all


@pytest.mark.django_db(transaction=True)
def test_a_pause_stops_the_batch_in_flight_and_resume_sends_the_rest_once(
    workspace, owner, sandbox_number, contacts, credits, launch, engine_sandbox
) -> None:
    contacts(20)
    credits(20)
    number = sandbox_number(rate=10)  # one batch: 20 slots over two seconds
    campaign = launch([number], name="Paused mid-batch")

    def pause_soon() -> None:
        try:
            threading.Event().wait(0.5)
            campaigns.campaign_pause(workspace=workspace, campaign=campaign, actor=owner)
        finally:
            connection.close()

    pauser = threading.Thread(target=pause_soon)
    pauser.start()
    result = dispatch.drain(sender_id=number.pk, slice_seconds=10)
    pauser.join()

    # then: the batch stopped at the pause, what had not left is queued again, not sent
    sent = engine_sandbox.number_stats(number.phone_number_id)["accepted"]
    assert 0 < sent < 15
    assert Message.objects.filter(campaign=campaign, status="queued").count() == 20 - sent
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.PAUSED
    assert result.claimed == sent

    # and: resumed, the rest goes out, each message once
    campaigns.campaign_resume(workspace=workspace, campaign=campaign, actor=owner)
    drain_all([number])
    stats = engine_sandbox.number_stats(number.phone_number_id)
    assert (stats["accepted"], stats["distinct"], stats["duplicates"]) == (20, 20, 0)
