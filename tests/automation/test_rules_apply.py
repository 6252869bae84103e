"""Applying rules to inbound messages fed through the engine's real ingestion: a rule fires
once per message (duplicate webhooks, repeated calls, racing workers), opt-out wins, replies
go through the engine (credits, pacing), and the tag and list actions."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from automation import services
from automation.models import AutomationRun, RunOutcome
from billing import services as billing
from messaging.campaigns.models import InboundMessage, Message
from messaging.contacts import services as messaging_services
from messaging.contacts.models import Contact, ContactListMembership, CreatedVia

from ..messaging.engine.conftest import drain_all
from .conftest import PHONE, signed_inbound_post

pytestmark = pytest.mark.django_db


def test_matching_message_queues_one_reply_through_the_engine(
    workspace, number, make_rule, receive, give_credits
) -> None:
    # given
    give_credits(3)
    rule = make_rule()

    # when
    inbound = receive(number, "Salam! QİYMƏT nədir?")

    # then: one queued reply from the number that received the message, one credit reserved
    run = AutomationRun.objects.get()
    message = Message.objects.get()
    assert (run.rule_id, run.inbound_id, run.outcome) == (rule.pk, inbound.pk, RunOutcome.FIRED)
    assert run.reply_message_id == message.pk
    assert (message.status, message.sender_id, message.phone) == ("queued", number.pk, PHONE)
    assert message.body == "Salam dostum! Qiymətlər: 10 AZN."
    assert message.idempotency_key == f"automation:{rule.pk}:{inbound.pk}"
    assert billing.credits_balance(workspace=workspace) == billing.Balance(available=2, reserved=1)
    rule.refresh_from_db()
    assert rule.times_fired == 1
    assert rule.last_fired_at is not None


def test_a_duplicate_webhook_fires_the_rule_once(
    workspace, number, make_rule, receive, give_credits
) -> None:
    give_credits(3)
    make_rule()

    receive(number, "price?", wamid="wamid.dup")
    receive(number, "price?", wamid="wamid.dup")  # the gateway delivers the same message again

    assert InboundMessage.objects.count() == 1
    assert AutomationRun.objects.count() == 1
    assert Message.objects.count() == 1
    assert billing.credits_balance(workspace=workspace).available == 2


def test_applying_the_rules_twice_to_one_message_fires_once(
    workspace, number, make_rule, receive, give_credits
) -> None:
    give_credits(3)
    rule = make_rule()
    inbound = receive(number, "price")

    again = services.rules_apply(workspace=workspace, inbound_ids=[inbound.pk])

    assert again == []
    assert AutomationRun.objects.count() == 1
    assert Message.objects.count() == 1
    rule.refresh_from_db()
    assert rule.times_fired == 1


def test_the_signed_webhook_path_fires_the_rule_once(
    workspace, number, make_rule, give_credits, django_capture_on_commit_callbacks
) -> None:
    # given
    give_credits(3)
    make_rule()

    # when: the same signed webhook arrives twice (Meta retries)
    with django_capture_on_commit_callbacks(execute=True):
        first = signed_inbound_post(number, text="Qiymet?", phone=PHONE, wamid="wamid.hook")
    with django_capture_on_commit_callbacks(execute=True):
        second = signed_inbound_post(number, text="Qiymet?", phone=PHONE, wamid="wamid.hook")

    # then
    assert (first.status_code, second.status_code) == (200, 200)
    assert AutomationRun.objects.count() == 1
    assert Message.objects.get().phone == PHONE


@pytest.mark.django_db(transaction=True)
def test_racing_workers_fire_the_rule_once(workspace, number, make_rule, give_credits) -> None:
    # given: an inbound message stored directly (so no task has applied the rules yet)
    give_credits(5)
    inbound = InboundMessage.objects.create(
        workspace=workspace,
        sender=number,
        phone=PHONE,
        provider_message_id="wamid.race",
        kind="text",
        text="price",
    )
    make_rule()
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            services.rules_apply(workspace=workspace, inbound_ids=[inbound.pk])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    # when: four workers apply the rules to the same message at once
    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # then
    assert errors == []
    assert AutomationRun.objects.count() == 1
    assert Message.objects.count() == 1
    assert Contact.objects.filter(phone=PHONE).count() == 1
    assert billing.credits_balance(workspace=workspace).available == 4


@pytest.mark.parametrize(
    ("match_kind", "keywords"),
    [
        pytest.param("exact", ["stop"], id="exact_stop_rule_case"),
        pytest.param("contains", ["stop", "price"], id="contains_rule_case"),
    ],
)
def test_opt_out_wins_over_a_matching_rule(
    workspace, number, make_rule, receive, give_credits, match_kind, keywords
) -> None:
    # given: a known contact and a rule that matches "STOP"
    give_credits(3)
    contact = messaging_services.contact_create(workspace=workspace, data={"phone": PHONE})
    rule = make_rule(match_kind=match_kind, keywords=keywords, tags=["stopped"])

    # when
    receive(number, "STOP")

    # then: the contact is opted out, nothing is sent or tagged, the rule did not fire
    contact.refresh_from_db()
    assert contact.opted_out_at is not None
    assert contact.tags == []
    assert Message.objects.count() == 0
    run = AutomationRun.objects.get()
    assert run.outcome == RunOutcome.SKIPPED_OPT_OUT
    rule.refresh_from_db()
    assert rule.times_fired == 0
    assert billing.credits_balance(workspace=workspace).available == 3


def test_an_opted_out_contact_gets_no_reply(
    workspace, number, make_rule, receive, give_credits
) -> None:
    give_credits(3)
    contact = messaging_services.contact_create(workspace=workspace, data={"phone": PHONE})
    messaging_services.contact_opt_out(workspace=workspace, contact=contact)
    make_rule()

    receive(number, "price please")

    assert Message.objects.count() == 0
    assert AutomationRun.objects.get().outcome == RunOutcome.SKIPPED_OPT_OUT


def test_no_credits_is_recorded_on_the_run_and_nothing_is_queued(
    workspace, number, make_rule, receive
) -> None:
    # given: no credits at all
    rule = make_rule(tags=["asked-price"])

    # when
    receive(number, "price")

    # then: the run says why there was no reply; the other actions still happened
    run = AutomationRun.objects.get()
    assert run.outcome == RunOutcome.NO_CREDITS
    assert "Not enough credits" in run.detail
    assert run.reply_message_id is None
    assert Message.objects.count() == 0
    assert Contact.objects.get(phone=PHONE).tags == ["asked-price"]
    rule.refresh_from_db()
    assert rule.times_fired == 1


def test_a_suspended_workspace_records_the_failed_reply(
    workspace, number, make_rule, receive, give_credits
) -> None:
    give_credits(3)
    make_rule()
    type(workspace).objects.filter(pk=workspace.pk).update(
        status="suspended", suspended_reason="unpaid"
    )

    receive(number, "price")

    run = AutomationRun.objects.get()
    assert run.outcome == RunOutcome.REPLY_FAILED
    assert "suspended" in run.detail
    assert Message.objects.count() == 0


def test_tag_and_list_actions_create_the_contact_from_the_inbound_message(
    workspace, number, make_rule, receive
) -> None:
    # given: no contact with this phone yet; a rule without a reply
    vip = messaging_services.contact_list_create(workspace=workspace, name="Interested")
    make_rule(reply_template=None, tags=["lead", "price"], contact_list=vip)

    # when
    receive(number, "Цена? price!", name="Leyla Məmmədova")

    # then: named as their WhatsApp profile says
    contact = Contact.objects.get(phone=PHONE)
    assert (contact.first_name, contact.last_name) == ("Leyla", "Məmmədova")
    assert contact.created_via == CreatedVia.INBOUND
    assert contact.consent_source == "inbound message"
    assert contact.tags == ["lead", "price"]
    assert ContactListMembership.objects.filter(contact_list=vip, contact=contact).exists()
    run = AutomationRun.objects.get()
    assert (run.outcome, run.contact_id) == (RunOutcome.FIRED, contact.pk)
    assert run.actions == {"tags": ["lead", "price"], "list": str(vip.public_id)}
    assert Message.objects.count() == 0


def test_the_first_matching_rule_wins_unless_it_lets_others_run(
    workspace, number, make_rule, receive
) -> None:
    low = make_rule(reply_template=None, tags=["low"], priority=1)
    high = make_rule(reply_template=None, tags=["high"], priority=5)

    receive(number, "price", wamid="wamid.1")
    assert list(AutomationRun.objects.values_list("rule_id", flat=True)) == [high.pk]

    high.stop_after_match = False
    high.save(update_fields=["stop_after_match"])
    receive(number, "price", wamid="wamid.2")

    fired = set(
        AutomationRun.objects.filter(inbound__provider_message_id="wamid.2").values_list(
            "rule_id", flat=True
        )
    )
    assert fired == {high.pk, low.pk}
    assert Contact.objects.get(phone=PHONE).tags == ["high", "low"]


def test_a_rule_for_one_number_ignores_the_others_and_inactive_rules_never_fire(
    workspace, number, make_rule, receive
) -> None:
    other = type(number).objects.create(
        workspace=workspace,
        provider=number.provider,
        phone_number="+994550000002",
        phone_number_id=f"7{workspace.pk:014d}",
        credentials_encrypted=number.credentials_encrypted,
        status="active",
    )
    make_rule(reply_template=None, tags=["on-other"], sender=other)
    make_rule(reply_template=None, tags=["inactive"], active=False)

    receive(number, "price")
    assert AutomationRun.objects.count() == 0

    receive(other, "price")
    assert Contact.objects.get(phone=PHONE).tags == ["on-other"]


def test_messages_that_match_nothing_record_nothing(workspace, number, make_rule, receive):
    make_rule()

    receive(number, "Salam, necəsiniz?")

    assert AutomationRun.objects.count() == 0
    assert Contact.objects.filter(phone=PHONE).exists() is False


def test_reply_is_drained_to_the_sandbox(
    workspace, sandbox_number, make_rule, receive, give_credits, engine_sandbox
) -> None:
    # given: a sandbox number, credits, a rule
    give_credits(2)
    number = sandbox_number()
    make_rule()

    # when: a contact asks for the price, and the drainer runs
    receive(number, "Qiymət?")
    drain_all([number])

    # then: the sandbox accepted exactly one reply and the credit was consumed
    message = Message.objects.get()
    assert message.status == Message.Status.ACCEPTED
    assert engine_sandbox.number_stats(number.phone_number_id)["accepted"] == 1
    assert billing.credits_balance(workspace=workspace) == billing.Balance(available=1, reserved=0)
