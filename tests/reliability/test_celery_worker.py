"""The engine under a REAL Celery worker (issue #6): a `celery -A isend worker -B` subprocess on
the test database, a private redis-server as broker/limiter/cache, the sandbox over HTTP.

Each test launches a campaign the way the product does (the launch enqueues the fan-out, the
fan-out kicks the drainers through the broker), hurts the system, and then only watches: no test
here calls tick or drain. "Completes by itself" means the worker and its beat finished it."""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable

import pytest
from django.core.management import call_command
from django.db.models import Count, Max, Sum

from billing import services as billing
from messaging.campaigns import services as campaigns
from messaging.campaigns.models import Campaign, Message
from messaging.contacts.models import Contact, OptOutSource
from messaging.engine import ingest
from messaging.engine.dispatch import MAX_BATCH
from messaging.gateways.base import RETRY_LATER_MAX_ATTEMPTS, InboundMessageEvent
from messaging.numbers.models import Sender

from .conftest import CeleryWorker, PrivateRedis, wait_for

log = logging.getLogger(__name__)
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(300)]

#: Generous bounds (2 shared cores): typical runs take a fraction of these.
START_SECONDS = 90.0
FINISH_SECONDS = 150.0


@pytest.fixture
def start_campaign(workspace, owner, template) -> Callable[[list[Sender]], Campaign]:
    """Create and launch a campaign; the worker does the rest (fan-out, drainers)."""

    def run(numbers: list[Sender]) -> Campaign:
        campaign = campaigns.campaign_create(
            workspace=workspace,
            actor=owner,
            name="Reliability",
            template=template,
            senders=numbers,
            audience={},
        )
        campaigns.campaign_launch(workspace=workspace, campaign=campaign, actor=owner)
        return campaign

    return run


def gateway_figures(sandbox, numbers: list[Sender]) -> dict[str, int]:
    """What the gateway saw, over all the campaign's numbers (ids are per message)."""
    figures: Counter[str] = Counter()
    for number in numbers:
        stats = sandbox.number_stats(number.phone_number_id)
        for key in ("accepted", "distinct", "duplicates"):
            figures[key] += stats[key]
    return dict(figures)


def diagnosis(campaign: Campaign, worker: CeleryWorker) -> Callable[[], str]:
    def describe() -> str:
        statuses = dict(
            Message.objects.filter(campaign=campaign)
            .values_list("status")
            .annotate(n=Count("id"))
            .order_by()
        )
        status = Campaign.objects.filter(pk=campaign.pk).values_list("status", flat=True).first()
        return (
            f"campaign: {status}, messages: {statuses}, worker alive: {worker.alive}\n"
            f"--- worker log (last lines) ---\n{worker.log_tail()}"
        )

    return describe


def wait_completed(
    campaign: Campaign, worker: CeleryWorker, *, supervised: bool = False
) -> Campaign:
    """Wait for completion; `supervised`: restart the worker if it exits, as production's
    supervisor does."""

    def completed() -> bool:
        if supervised:
            worker.supervise()
        return Campaign.objects.filter(pk=campaign.pk, status=Campaign.Status.COMPLETED).exists()

    wait_for(
        completed,
        timeout=FINISH_SECONDS,
        interval=0.5,
        what="the campaign completes by itself (worker + beat, no test-driven tick or drain)",
        diagnose=diagnosis(campaign, worker),
    )
    campaign.refresh_from_db()
    return campaign


def wait_accepted(sandbox, numbers: list[Sender], at_least: int, campaign, worker) -> int:
    return wait_for(
        lambda: (n := gateway_figures(sandbox, numbers)["accepted"]) >= at_least and n,
        timeout=START_SECONDS,
        interval=0.05,
        what=f"the gateway accepts {at_least} messages",
        diagnose=diagnosis(campaign, worker),
    )


def assert_paid_exactly(workspace, campaign: Campaign, recipients: int) -> None:
    """The user pays for every recipient once, nothing stays reserved, the ledger balances."""
    balance = billing.credits_balance(workspace=workspace)
    assert (balance.available, balance.reserved) == (0, 0)
    assert campaign.count_accepted == recipients
    assert campaign.count_failed == 0
    call_command("billing_check_ledger")


def test_worker_sigkilled_mid_campaign_is_restarted_and_the_campaign_completes_by_itself(
    workspace, contacts, credits, sandbox_number, engine_sandbox, celery_worker, start_campaign
) -> None:
    # given: 5,000 recipients over two numbers (600/s each), a real worker with its beat
    recipients = 5000
    contacts(recipients)
    credits(recipients)
    numbers = [sandbox_number(rate=600), sandbox_number(rate=600)]
    celery_worker.start()
    campaign = start_campaign(numbers)

    # when: the worker (and its beat) is SIGKILLed once about a third went out, then restarted
    third = recipients // 3
    accepted_at_kill = wait_accepted(engine_sandbox, numbers, third, campaign, celery_worker)
    celery_worker.kill()
    in_flight = Message.objects.filter(campaign=campaign, status=Message.Status.SENDING).count()
    assert accepted_at_kill < recipients, "the campaign finished before the kill: nothing tested"
    celery_worker.start()
    restarted = time.monotonic()
    accepted_at_restart = gateway_figures(engine_sandbox, numbers)["accepted"]
    wait_accepted(engine_sandbox, numbers, accepted_at_restart + 1, campaign, celery_worker)
    resumed_after = time.monotonic() - restarted

    # then: the new worker finishes the campaign alone (leases expire, the tick re-queues them)
    campaign = wait_completed(campaign, celery_worker)
    gateway = gateway_figures(engine_sandbox, numbers)
    log.warning(
        "kill: accepted %s at kill, %s in flight, gateway %s, sending resumed %.1f s after the "
        "restart",
        accepted_at_kill,
        in_flight,
        gateway,
        resumed_after,
    )
    # The dead drainer's lock and leases expire in seconds (heartbeat), not minutes.
    assert resumed_after <= 60
    assert gateway["distinct"] == recipients  # everyone reached, nobody lost
    # At most what was in flight went twice: one claimed batch per number.
    assert in_flight <= MAX_BATCH * len(numbers)
    assert gateway["duplicates"] <= in_flight
    assert (
        not Message.objects.filter(campaign=campaign)
        .exclude(status=Message.Status.ACCEPTED)
        .exists()
    )
    assert_paid_exactly(workspace, campaign, recipients)


def test_gateway_5xx_and_timeouts_everything_goes_out_with_bounded_attempts(
    workspace, contacts, credits, sandbox_number, engine_sandbox, celery_worker, start_campaign
) -> None:
    # given: a gateway answering 10% of sends with HTTP 500 and holding 5% past our timeout
    # (1.5 s in the worker; held sends ARE accepted, so a timeout is truly ambiguous)
    recipients = 1000
    contacts(recipients)
    credits(recipients)
    number = sandbox_number(rate=500)
    engine_sandbox.configure(
        seed=6, error_5xx_ratio=0.10, timeout_ratio=0.05, timeout_hold_seconds=3.0
    )
    celery_worker.start()

    # when: a campaign goes out through the real worker
    campaign = start_campaign([number])

    # then: it completes by itself, everyone gets the message, each is paid for once
    campaign = wait_completed(campaign, celery_worker)
    stats = engine_sandbox.number_stats(number.phone_number_id)
    log.warning("faults: sandbox %s", stats)
    assert stats["distinct"] == recipients
    assert sum(stats["rejected"].values()) > 0, "no 5xx was injected: nothing tested"
    assert_paid_exactly(workspace, campaign, recipients)
    # Attempts are bounded: temporary failures stop at RETRY_LATER_MAX_ATTEMPTS, and only the
    # ambiguous (timed-out) sends went twice.
    figures = Message.objects.filter(campaign=campaign).aggregate(
        most=Max("attempts"), total=Sum("attempts")
    )
    assert figures["most"] <= RETRY_LATER_MAX_ATTEMPTS
    assert figures["total"] <= recipients * 1.5
    assert stats["duplicates"] <= recipients * 0.15


def test_redis_restarted_mid_campaign_loses_nothing(
    workspace,
    contacts,
    credits,
    sandbox_number,
    engine_sandbox,
    celery_worker,
    private_redis: PrivateRedis,
    start_campaign,
) -> None:
    # given: 3,000 recipients on two numbers, a real worker on a private redis-server
    recipients = 3000
    contacts(recipients)
    credits(recipients)
    numbers = [sandbox_number(rate=600), sandbox_number(rate=600)]
    celery_worker.start()
    campaign = start_campaign(numbers)

    # when: Redis is restarted (everything in it lost: queued tasks, leases, limiter state)
    # once about a third went out
    wait_accepted(engine_sandbox, numbers, recipients // 3, campaign, celery_worker)
    private_redis.stop()
    time.sleep(2.0)
    private_redis.start()

    # then: the worker reconnects (or, when Celery's consumer dies of the lost connection, the
    # supervisor restarts it), the tick finds the due work again, and nothing is lost
    campaign = wait_completed(campaign, celery_worker, supervised=True)
    assert celery_worker.alive
    assert len(celery_worker.crashes) <= 1, celery_worker.crashes
    gateway = gateway_figures(engine_sandbox, numbers)
    log.warning("redis restart: gateway %s, worker crashes %s", gateway, celery_worker.crashes)
    assert gateway["distinct"] == recipients
    assert gateway["duplicates"] <= MAX_BATCH * len(numbers)  # at most what was in flight
    assert_paid_exactly(workspace, campaign, recipients)


def test_a_number_banned_mid_campaign_the_rest_goes_out_on_the_other_number(
    workspace, contacts, credits, sandbox_number, engine_sandbox, celery_worker, start_campaign
) -> None:
    # given: 2,000 recipients over two numbers of different business accounts (300/s each:
    # a few seconds of sending), a real worker with its beat
    recipients = 2000
    contacts(recipients)
    credits(recipients)
    banned, healthy = sandbox_number(rate=300), sandbox_number(rate=300)
    numbers = [banned, healthy]
    celery_worker.start()
    campaign = start_campaign(numbers)

    # when: WhatsApp bans the first number once it has taken some messages (the sandbox
    # refuses its sends from now on with 131031; the ban is synchronous in the sandbox, so
    # what it accepted on that number is final when the call returns)
    wait_accepted(engine_sandbox, [banned], 150, campaign, celery_worker)
    answer = engine_sandbox.call("POST", f"/_sandbox/numbers/{banned.phone_number_id}/ban")
    assert answer.status == 200, answer.raw
    on_banned = engine_sandbox.number_stats(banned.phone_number_id)["accepted"]
    accepted_at_ban = gateway_figures(engine_sandbox, numbers)["accepted"]
    assert accepted_at_ban < recipients, "the campaign finished before the ban: nothing tested"

    # then: the worker notices the ban by itself, moves the rest to the healthy number and
    # completes the campaign; everyone is reached exactly once, each paid for once
    campaign = wait_completed(campaign, celery_worker)
    banned.refresh_from_db()
    assert banned.status == Sender.Status.BANNED, banned.status_reason
    gateway = gateway_figures(engine_sandbox, numbers)
    banned_stats = engine_sandbox.number_stats(banned.phone_number_id)
    log.warning(
        "ban: %s accepted on the banned number (%s overall) at the ban, gateway %s, "
        "banned number rejected %s",
        on_banned,
        accepted_at_ban,
        gateway,
        banned_stats["rejected"],
    )
    assert banned_stats["accepted"] == on_banned  # nothing got through after the ban
    assert gateway["distinct"] == recipients  # everyone reached, over both numbers
    assert gateway["duplicates"] <= MAX_BATCH * len(numbers)  # at most what was in flight
    assert (
        not Message.objects.filter(campaign=campaign)
        .exclude(status=Message.Status.ACCEPTED)
        .exists()
    )
    per_number = Counter(
        Message.objects.filter(campaign=campaign).values_list("sender_id", flat=True)
    )
    # What the banned number accepted stays on it; every other message went out on the other.
    assert per_number == {banned.pk: on_banned, healthy.pk: recipients - on_banned}
    assert workspace.notifications.filter(kind="number.blocked").exists()
    assert_paid_exactly(workspace, campaign, recipients)


def test_a_stop_reply_mid_campaign_suppresses_the_queued_message(
    workspace, contacts, credits, sandbox_number, engine_sandbox, celery_worker, start_campaign
) -> None:
    # given: 1,000 recipients on one number paced at 100/s (about 10 s of sending)
    recipients = 1000
    contacts(recipients)
    credits(recipients)
    number = sandbox_number(rate=100)
    celery_worker.start()
    campaign = start_campaign([number])
    # (sends start once the fan-out has queued everyone: the campaign is running)
    wait_accepted(engine_sandbox, [number], 50, campaign, celery_worker)

    # when: a recipient whose message is still queued (among the last to be claimed) replies
    # STOP, through the path the webhook receiver uses (`ingest.apply_events`)
    queued = Message.objects.filter(campaign=campaign, status=Message.Status.QUEUED)
    target = queued.order_by("-next_attempt_at", "-id").first()
    assert target is not None
    assert queued.count() >= 200, "too little left: nothing tested"
    ingest.apply_events(
        sender=number,
        events=[
            InboundMessageEvent(
                account_id=number.phone_number_id,
                provider_message_id="wamid.in.reliability-stop",
                sender=target.phone.lstrip("+"),
                timestamp=None,
                kind="text",
                text="STOP",
            )
        ],
    )
    target.refresh_from_db()
    assert target.status == Message.Status.QUEUED, "sent before the STOP: nothing tested"

    # then: the campaign completes by itself; their message was never sent, their credit came
    # back, everyone else got theirs once
    campaign = wait_completed(campaign, celery_worker)
    target.refresh_from_db()
    contact = Contact.objects.get(pk=target.contact_id)
    assert contact.opted_out_at is not None
    assert contact.opt_out_source == OptOutSource.KEYWORD
    assert target.status == Message.Status.SKIPPED
    assert (target.provider_message_id, target.accepted_at) == ("", None)
    stats = engine_sandbox.number_stats(number.phone_number_id)
    log.warning("stop: sandbox %s", {k: stats[k] for k in ("accepted", "distinct", "duplicates")})
    # The sandbox keeps no per-recipient log: it saw every message but that one.
    assert stats["distinct"] == recipients - 1
    assert stats["duplicates"] <= MAX_BATCH  # at most what was in flight (an ambiguous send)
    assert (
        not Message.objects.filter(campaign=campaign)
        .exclude(pk=target.pk)
        .exclude(status=Message.Status.ACCEPTED)
        .exists()
    )
    assert (campaign.count_accepted, campaign.count_skipped, campaign.count_failed) == (
        recipients - 1,
        1,
        0,
    )
    balance = billing.credits_balance(workspace=workspace)
    assert (balance.available, balance.reserved) == (1, 0)  # the skipped message's credit
    call_command("billing_check_ledger")
