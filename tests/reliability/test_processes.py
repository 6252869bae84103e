"""The Procfile's processes under a Redis restart (issue 14): nobody touches anything.

The worker, the dispatch worker and beat are started exactly as the Procfile starts them (its
command lines, read from the file: `scripts/supervise.py` around `celery ... worker -Q default,
webhooks,imports`, `celery ... worker -Q dispatch --pool threads -c 8`, `celery ... beat`), on the
test database, a private redis-server and the sandbox over HTTP. A campaign goes out; the
redis-server is restarted mid-campaign (everything in it is lost: no persistence, as in the
Procfile and docker-compose). The test then only watches: it restarts no process.

The dispatch worker used to exit on this (`CRITICAL Unrecoverable error: AttributeError("'NoneType'
object has no attribute 'hostname'")`, celery/kombu 5.7: see isend/kombu_compat.py); the guard
keeps it running, and `scripts/supervise.py` would restart any process that still exits."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db.models import Count

from billing import services as billing
from messaging.campaigns.models import Campaign, Message

from .conftest import PROCESSES, ROOT, PrivateRedis, Procfile, _stop_group, wait_for

log = logging.getLogger(__name__)
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(300)]


def accepted(sandbox, number) -> int:
    return int(sandbox.number_stats(number.phone_number_id)["accepted"])


def test_redis_restarted_mid_campaign_the_procfile_processes_carry_on_by_themselves(
    workspace,
    contacts,
    credits,
    sandbox_number,
    engine_sandbox,
    private_redis: PrivateRedis,
    procfile: Procfile,
    launch,
) -> None:
    # given: 300 recipients on one sandbox number paced at 25/s (about 12 s of sending), the
    # Procfile's worker, dispatch worker and beat on a private redis-server
    recipients = 300
    contacts(recipients)
    credits(recipients)
    number = sandbox_number(rate=25)
    procfile.start()
    campaign = launch([number], name="Redis restart")

    def diagnose() -> str:
        statuses = dict(
            Message.objects.filter(campaign=campaign)
            .values_list("status")
            .annotate(n=Count("id"))
            .order_by()
        )
        return (
            f"messages: {statuses}, sandbox accepted: {accepted(engine_sandbox, number)}, "
            f"exited: {procfile.exited()}, restarts: {procfile.restarts()}\n{procfile.tails()}"
        )

    # when: about a third went out, Redis is restarted (SIGTERM, 2 s down, started empty)
    wait_for(
        lambda: accepted(engine_sandbox, number) >= recipients // 3,
        timeout=120,
        what="the first third is accepted",
        diagnose=diagnose,
    )
    private_redis.stop()
    at_stop = accepted(engine_sandbox, number)
    time.sleep(2.0)
    private_redis.start()
    back = time.monotonic()
    at_start = accepted(engine_sandbox, number)
    assert at_start < recipients, "the campaign finished during the outage: nothing tested"

    # then: sending resumes and the campaign completes with no process restarted by the test
    wait_for(
        lambda: accepted(engine_sandbox, number) > at_start,
        timeout=90,
        what="sending resumes after the Redis restart",
        diagnose=diagnose,
    )
    resumed_after = time.monotonic() - back
    wait_for(
        lambda: Campaign.objects.filter(pk=campaign.pk, status=Campaign.Status.COMPLETED).exists(),
        timeout=150,
        interval=0.5,
        what="the campaign completes by itself",
        diagnose=diagnose,
    )
    completed_after = time.monotonic() - back
    campaign.refresh_from_db()
    stats = engine_sandbox.number_stats(number.phone_number_id)
    restarts = procfile.restarts()
    log.warning(
        "procfile redis restart: accepted %s at stop, %s at start, resumed %.1f s and completed "
        "%.1f s after Redis was back; sandbox %s; supervisor restarts %s",
        at_stop,
        at_start,
        resumed_after,
        completed_after,
        {key: stats[key] for key in ("accepted", "distinct", "duplicates")},
        restarts,
    )
    assert stats["distinct"] == recipients  # everyone reached
    assert stats["duplicates"] == 0  # nobody twice
    assert resumed_after <= 60
    # Every process is still running: none exited for good, and neither Celery worker had to be
    # restarted by its supervisor (the dispatch worker did, 2 times in 2, before the guard).
    assert procfile.exited() == {}, diagnose()
    assert restarts["worker"] == 0, diagnose()
    assert restarts["dispatch"] == 0, diagnose()
    assert not any(procfile.crashes(name) for name in PROCESSES), diagnose()
    for process in procfile.processes.values():
        os.killpg(process.pid, 0)  # the group is there (raises if not)
    # Paid once per recipient, nothing left reserved, the ledger balances.
    balance = billing.credits_balance(workspace=workspace)
    assert (balance.available, balance.reserved) == (0, 0)
    assert (campaign.count_accepted, campaign.count_failed) == (recipients, 0)
    call_command("billing_check_ledger")


def test_the_supervisor_restarts_a_process_that_exits_and_stops_on_sigterm(tmp_path: Path) -> None:
    # given: a command that exits (code 3) after a short while, under scripts/supervise.py
    runs = tmp_path / "runs"
    script = f"echo run >> {runs}; sleep 0.3; exit 3"
    wrapper = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "supervise.py"), "--name", "crasher",
         "--min-backoff", "0.2", "--max-backoff", "0.4", "--", "sh", "-c", script],
        stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    try:
        # then: it is restarted again and again, with backoff
        wait_for(
            lambda: runs.exists() and len(runs.read_text().split()) >= 3,
            timeout=20,
            what="three runs",
        )
        assert wrapper.poll() is None
        # when: the supervisor gets SIGTERM, it stops restarting and exits
        wrapper.send_signal(signal.SIGTERM)
        assert wrapper.wait(timeout=10) in (3, 128 + signal.SIGTERM, 0)
        count = len(runs.read_text().split())
        time.sleep(1.0)
        assert len(runs.read_text().split()) == count  # no restart after the stop
        stderr = wrapper.stderr.read().decode() if wrapper.stderr else ""
        assert "supervise[crasher]: exited with code 3" in stderr
        assert "SIGTERM received: stopping, no restart" in stderr
    finally:
        _stop_group(wrapper, sig=signal.SIGKILL)
