"""A daily cap that Redis forgets (issue 14, item 6), with real processes: a number with a cap
sends part of it, Redis is restarted (no persistence: the day's counter is gone), and the
Procfile's processes carry on by themselves. The cap check rebuilds the day's use from
PostgreSQL, so the number stops exactly at its cap; the rest waits with the cap's reason."""

from __future__ import annotations

import logging
import time

import pytest
from django.db.models import Count

from billing import services as billing
from messaging.campaigns.models import Campaign, Message
from messaging.numbers.models import Sender

from .conftest import (
    DEFAULT_SEND_ENV,
    PrivateRedis,
    Procfile,
    assert_nothing_lost_nothing_twice,
    sandbox_totals,
    wait_for,
    wait_statuses_applied,
)

log = logging.getLogger(__name__)
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(300)]

RECIPIENTS = 100
CAP = 60


def test_a_cap_redis_forgets_is_rebuilt_from_postgres_and_never_exceeded(
    workspace,
    contacts,
    credits,
    sandbox_number,
    engine_sandbox,
    private_redis: PrivateRedis,
    procfile: Procfile,
    launch,
) -> None:
    # given: 100 recipients on one number with a daily cap of 60, paced at 20/s; the Procfile's
    # processes with the web server (statuses arrive over HTTP)
    contacts(RECIPIENTS, start=1_000_001)  # none ends in 0000 (not on WhatsApp)
    credits(RECIPIENTS)
    number = sandbox_number(rate=20, daily_cap=CAP)
    procfile.env.update(DEFAULT_SEND_ENV)
    procfile.start(web=True)
    campaign = launch([number], name="Capped")
    messages = Message.objects.filter(campaign=campaign)

    def diagnose() -> str:
        statuses = dict(messages.values_list("status").annotate(n=Count("id")).order_by())
        return (
            f"messages: {statuses}, sandbox: {sandbox_totals(engine_sandbox, [number])}\n"
            f"{procfile.tails()}"
        )

    def accepted() -> int:
        return int(engine_sandbox.number_stats(number.phone_number_id)["accepted"])

    # when: Redis is restarted (SIGTERM, 2 s down, started empty) once 20 of the 60 went out
    wait_for(lambda: accepted() >= 20, timeout=120, what="20 sends", diagnose=diagnose)
    private_redis.stop()
    at_stop = accepted()
    time.sleep(2.0)
    private_redis.start()
    assert at_stop < CAP, "the cap was reached before the restart: nothing tested"

    # then: the number sends up to its cap and stops there; the rest waits for tomorrow
    def capped() -> bool:
        if accepted() > CAP:
            pytest.fail(f"over the cap: {diagnose()}")
        number.refresh_from_db()
        return (
            number.capped_until is not None
            and not messages.filter(status__in=["sending", "ambiguous"]).exists()
            and messages.filter(status="queued").count() == RECIPIENTS - CAP
        )

    wait_for(
        capped, timeout=120, interval=0.5, what="the number waits at its cap", diagnose=diagnose
    )
    wait_statuses_applied(engine_sandbox, diagnose=diagnose)
    time.sleep(3.0)  # a few more engine ticks (1 s each): nothing more goes out

    number.refresh_from_db()
    gateway = assert_nothing_lost_nothing_twice(
        sandbox_api=engine_sandbox, numbers=[number], campaign=campaign, sent=CAP, procfile=procfile
    )
    log.warning(
        "cap after a Redis restart: %s accepted at the stop, sandbox %s, wait reason %r",
        at_stop,
        gateway,
        number.cap_wait_reason,
    )
    assert gateway["accepted"] == CAP  # exactly the cap: not one more, not one lost
    assert messages.filter(status="queued").count() == RECIPIENTS - CAP
    assert number.status == Sender.Status.ACTIVE
    assert number.cap_wait_reason.startswith(f"daily limit of {CAP} reached; resumes at ")
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.RUNNING  # it finishes tomorrow
    balance = billing.credits_balance(workspace=workspace)
    assert (balance.available, balance.reserved) == (0, RECIPIENTS - CAP)
