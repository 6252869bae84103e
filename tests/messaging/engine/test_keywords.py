"""Opt-out keywords: a reply that is only a STOP word, in any of the four languages and as
people actually type it (polite forms, without Azerbaijani letters), opts the contact out."""

from __future__ import annotations

import pytest

from core.crypto import encrypt_json
from messaging.contacts import services as contact_services
from messaging.contacts.models import Contact
from messaging.engine import ingest
from messaging.engine.keywords import is_opt_in, is_opt_out
from messaging.gateways.base import InboundMessageEvent
from messaging.numbers.models import Sender

PHONE = "+994501234567"


@pytest.mark.parametrize(
    "text",
    [
        "Dayandırın",
        "dayandırın",
        "DAYANDIRIN!",
        "dayandirin",  # typed without ı
        "Dayandır",
        "dayandır",
        "dayandir",
        "Abunəliyi dayandırın.",
        "abuneliyi dayandirin",
        "STOP",
        "СТОП",
    ],
)
def test_stop_words_opt_out(text: str) -> None:
    assert is_opt_out(text)
    assert not is_opt_in(text)


@pytest.mark.parametrize(
    "text",
    ["Dayandırın göndərməyi sabah", "Zəhmət olmasa dayandırın, sabah yazaram", "Dayanacaq"],
)
def test_a_sentence_that_only_contains_the_word_does_not_opt_out(text: str) -> None:
    assert not is_opt_out(text)


@pytest.mark.django_db
def test_a_contact_who_writes_dayandirin_is_opted_out(workspace) -> None:
    number = Sender.objects.create(
        workspace=workspace,
        provider=Sender.Provider.SANDBOX,
        phone_number="+994550000001",
        phone_number_id=f"8{workspace.pk:014d}",
        credentials_encrypted=encrypt_json({"access_token": "t", "app_secret": "s"}),
        status=Sender.Status.ACTIVE,
    )
    contact_services.contact_create(workspace=workspace, data={"phone": PHONE})

    ingest.apply_inbound(
        sender=number,
        events=[
            InboundMessageEvent(
                account_id=number.phone_number_id,
                provider_message_id="wamid.in.dayandirin",
                sender=PHONE.lstrip("+"),
                timestamp=None,
                kind="text",
                text="Dayandırın",
            )
        ],
    )

    assert Contact.objects.get(phone=PHONE).opted_out_at is not None
