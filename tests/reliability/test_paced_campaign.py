"""A paced campaign goes out at its pace under a REAL worker, not in bursts: the gateway's own
clock shows the sends a pace apart. Before, a drainer that found the next message not due yet
ended, and the tick (every 10 s in production) found ten due at once and sent them together:
"one a second" arrived as ten messages in 50 ms every ten seconds, the pattern anti-spam
systems flag."""

from __future__ import annotations

import logging

import pytest

from messaging.campaigns import services as campaigns
from messaging.campaigns.models import Campaign

from .conftest import wait_for
from .test_celery_worker import diagnosis

log = logging.getLogger(__name__)
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(300)]


def _accept_times(sandbox, number) -> list[float]:
    answer = sandbox.call("GET", f"/_sandbox/numbers/{number.phone_number_id}/messages")
    assert answer.status == 200, answer.raw
    return sorted(entry["at"] for entry in answer.body["data"])


def test_a_campaign_paced_at_two_a_second_goes_out_half_a_second_apart(
    workspace, owner, template, contacts, credits, sandbox_number, engine_sandbox, celery_worker
) -> None:
    recipients, per_second = 12, 2.0
    contacts(recipients)
    credits(recipients)
    number = sandbox_number(rate=80)
    celery_worker.env["ENGINE_TICK_SECONDS"] = "10"  # production's tick, not the tests' 1 s
    celery_worker.start()
    campaign = campaigns.campaign_create(
        workspace=workspace,
        actor=owner,
        name="Paced",
        template=template,
        senders=[number],
        audience={},
        pacing={"preset": "custom", "per_second": per_second},
    )
    campaigns.campaign_launch(workspace=workspace, campaign=campaign, actor=owner)

    wait_for(
        lambda: Campaign.objects.filter(pk=campaign.pk, status=Campaign.Status.COMPLETED).exists(),
        timeout=120,
        interval=0.5,
        what="the paced campaign completes",
        diagnose=diagnosis(campaign, celery_worker),
    )

    times = _accept_times(engine_sandbox, number)
    assert len(times) == recipients
    gaps = [later - earlier for earlier, later in zip(times, times[1:], strict=False)]
    log.warning("paced sends, gaps in seconds: %s", [round(g, 2) for g in gaps])
    # A burst is sends 0.01 s apart (what the tick's catch-up did); a late wake on a busy
    # machine stretches a gap or shortens the next, it does not make one vanish. (The first
    # gap may be shorter: the spacing starts at the fan-out, the first send at the kick.)
    bursts = [gap for gap in gaps[1:] if gap < 0.1]
    assert bursts == [], f"gaps between sends: {[round(g, 2) for g in gaps]}"
    spread = times[-1] - times[0]
    assert spread >= 0.8 * (recipients - 2) / per_second, f"gaps: {[round(g, 2) for g in gaps]}"
