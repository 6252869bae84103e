"""A workspace can confirm each opt-out to the contact (issue 19): one message, in the
contact's language, else the workspace's language for contacts, saying they will get nothing
more and which word subscribes them again. Sent once per reply, through the engine (a
credit), and never in the way of the opt-out itself."""

from __future__ import annotations

import pytest
from django.utils import translation
from django.utils.translation import gettext

from accounts.models import Workspace
from billing import services as billing
from messaging.campaigns import messages as single
from messaging.campaigns.models import InboundMessage, Message
from messaging.contacts import services as contact_services
from messaging.contacts.models import Contact

from .conftest import PHONE

pytestmark = pytest.mark.django_db

SENTENCE = (
    "You will not receive any more messages from %(name)s. To subscribe again, reply %(keyword)s."
)


def _confirming(workspace: Workspace, language: str = "az") -> Workspace:
    Workspace.objects.filter(pk=workspace.pk).update(
        opt_out_confirmation=True, contact_language=language
    )
    workspace.refresh_from_db()
    return workspace


def _expected(workspace: Workspace, language: str, keyword: str) -> str:
    with translation.override(language):
        return gettext(SENTENCE) % {"name": workspace.name, "keyword": keyword}


def test_a_stop_is_confirmed_in_the_contact_s_own_language(
    workspace, number, receive, give_credits
) -> None:
    # given: a Russian-speaking contact of a workspace whose contacts' default is Azerbaijani
    _confirming(workspace, "az")
    give_credits(3)
    contact_services.contact_create(workspace=workspace, data={"phone": PHONE, "language": "ru"})

    # when they reply СТОП
    inbound = receive(number, "СТОП")

    # then: opted out, and one confirmation queued to them, in Russian, from that number
    contact = Contact.objects.get(phone=PHONE)
    assert contact.opted_out_at is not None
    [message] = Message.objects.all()
    assert (message.phone, message.sender_id, message.status) == (PHONE, number.pk, "queued")
    assert message.body == _expected(workspace, "ru", "СТАРТ")
    assert message.idempotency_key == f"opt-out-confirmation:{inbound.pk}"
    assert billing.credits_balance(workspace=workspace) == billing.Balance(available=2, reserved=1)


def test_a_contact_without_a_language_gets_the_workspace_s(
    workspace, number, receive, give_credits
) -> None:
    _confirming(workspace, "az")
    give_credits(1)

    receive(number, "STOP")  # a number that is not a contact yet

    [message] = Message.objects.all()
    assert message.body == _expected(workspace, "az", "BASLA")
    assert "BASLA" in message.body


def test_a_redelivered_task_sends_nothing_twice(workspace, number, receive, give_credits) -> None:
    _confirming(workspace, "en")
    give_credits(3)
    inbound = receive(number, "STOP")

    again = single.opt_out_confirmations_send(workspace=workspace, inbound_ids=[inbound.pk])

    assert again == []
    assert Message.objects.count() == 1
    assert "reply START" in Message.objects.get().body


def test_nothing_is_sent_unless_the_workspace_asks_for_it(
    workspace, number, receive, give_credits
) -> None:
    give_credits(3)

    receive(number, "STOP")

    assert InboundMessage.objects.get().is_opt_out
    assert Message.objects.count() == 0
    assert billing.credits_balance(workspace=workspace).available == 3


def test_without_credits_the_opt_out_still_happens_and_nothing_is_sent(
    workspace, number, receive
) -> None:
    _confirming(workspace, "az")
    contact_services.contact_create(workspace=workspace, data={"phone": PHONE})

    receive(number, "DAYAN")

    assert Contact.objects.get(phone=PHONE).opted_out_at is not None
    assert Message.objects.count() == 0


def test_an_ordinary_reply_is_not_answered(workspace, number, receive, give_credits) -> None:
    _confirming(workspace, "az")
    give_credits(3)

    receive(number, "Salam, qiymət nədir?")

    assert Message.objects.count() == 0
