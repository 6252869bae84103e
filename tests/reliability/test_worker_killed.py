"""A drainer process killed with SIGKILL mid-campaign loses nothing: its leases expire, the
tick holds them as ambiguous and then returns them to the queue, the campaign completes, and
duplicates at the gateway are bounded by what was in flight. Real Postgres, real Redis, the
sandbox over HTTP, a real subprocess."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

from billing import services as billing
from messaging.campaigns.models import Campaign, Message
from messaging.engine import recovery

from ..messaging.engine.conftest import drain_all

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[2]

DRAINER = """
import django, sys
django.setup()
from messaging.engine.dispatch import drain
while True:
    drain(sender_id=int(sys.argv[1]), slice_seconds=30.0)
"""


def test_sigkill_mid_campaign_loses_nothing(
    workspace, sandbox_number, contacts, credits, launch, engine_sandbox
) -> None:
    contacts(1500)
    credits(1500)
    number = sandbox_number(rate=500)
    campaign = launch([number])
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "isend.settings_test",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "SANDBOX_GATEWAY_URL": engine_sandbox.base_url,
    }

    # when: a drainer process is killed while it sends
    worker = subprocess.Popen([sys.executable, "-c", DRAINER, str(number.pk)], cwd=ROOT, env=env)
    deadline = time.monotonic() + 30
    while engine_sandbox.number_stats(number.phone_number_id)["accepted"] < 300:
        assert time.monotonic() < deadline, "the drainer never started sending"
        time.sleep(0.05)
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=10)
    in_flight = Message.objects.filter(campaign=campaign, status=Message.Status.SENDING).count()

    # then: once its leases expire the tick re-queues them, and a new drainer finishes
    Message.objects.filter(status=Message.Status.SENDING).update(lease_until="2000-01-01T00:00Z")
    from messaging.engine.runtime import redis_client

    redis_client().delete(f"isend:drain:{number.pk}")  # the dead worker's lease, as if expired
    with override_settings(SANDBOX_GATEWAY_URL=engine_sandbox.base_url):
        assert recovery.tick()["expired_leases"] == in_flight
        # They may be at the gateway already: they wait as ambiguous, not queued at once ...
        interrupted = Message.objects.filter(campaign=campaign, error_kind=recovery.INTERRUPTED)
        assert interrupted.filter(status=Message.Status.AMBIGUOUS).count() == in_flight
        # ... and, no status having come for them (this test has no webhook receiver), go
        # back to the queue once ENGINE_INTERRUPTED_RESEND_AFTER is over.
        Message.objects.filter(status=Message.Status.AMBIGUOUS).update(
            status_changed_at="2000-01-01T00:00Z"
        )
        assert recovery.tick()["unconfirmed_requeued"] == in_flight
        drain_all([number])

    campaign.refresh_from_db()
    stats = engine_sandbox.number_stats(number.phone_number_id)
    assert campaign.status == Campaign.Status.COMPLETED
    assert campaign.count_accepted == 1500
    assert stats["distinct"] == 1500  # every recipient reached
    assert stats["duplicates"] <= in_flight  # at most what was in flight went twice
    balance = billing.credits_balance(workspace=workspace)
    assert (balance.available, balance.reserved) == (0, 0)
    call_command("billing_check_ledger")
