"""Automation fixtures: a number, a reply template, credits, rules, and inbound messages fed
through the engine's real ingestion (`ingest.apply_inbound`, or the signed webhook)."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from automation import services
from automation.models import AutomationRule
from billing import services as billing
from core.crypto import encrypt_json
from messaging.campaigns.models import InboundMessage
from messaging.content.models import MessageTemplate
from messaging.engine import ingest
from messaging.gateways.base import InboundMessageEvent
from messaging.numbers.models import Sender
from messaging.numbers.services import sender_credentials

# The engine's sandbox fixtures, for the tests that drain a reply to the sandbox.
from ..messaging.conftest import sandbox, sandbox_gateway  # noqa: F401
from ..messaging.engine.conftest import engine_sandbox, sandbox_number  # noqa: F401

PHONE = "+994501234567"
_ids = itertools.count(1)


@pytest.fixture
def number(workspace) -> Sender:
    """An active number that never reaches a gateway (tests drain nothing here)."""
    return Sender.objects.create(
        workspace=workspace,
        provider=Sender.Provider.SANDBOX,
        phone_number="+994550000001",
        phone_number_id=f"8{workspace.pk:014d}",
        credentials_encrypted=encrypt_json({"access_token": "t", "app_secret": "s"}),
        status=Sender.Status.ACTIVE,
    )


@pytest.fixture
def reply_template(workspace) -> MessageTemplate:
    return MessageTemplate.objects.create(
        workspace=workspace,
        name="Price list",
        variants=["Salam {{first_name|dostum}}! Qiymətlər: 10 AZN."],
    )


@pytest.fixture
def give_credits(workspace, owner) -> Callable[[int], None]:
    def give(n: int) -> None:
        billing.credits_adjust(workspace=workspace, amount=n, reason="test credits", actor=owner)

    return give


@pytest.fixture
def make_rule(workspace, reply_template) -> Callable[..., AutomationRule]:
    def make(**data: Any) -> AutomationRule:
        values: dict[str, Any] = {
            "name": f"Rule {next(_ids)}",
            "match_kind": "contains",
            "keywords": ["qiymət", "price"],
            "reply_template": reply_template,
        }
        values.update(data)
        return services.rule_create(workspace=workspace, data=values)

    return make


@pytest.fixture
def receive(django_capture_on_commit_callbacks) -> Callable[..., InboundMessage]:
    """Feed one inbound text through the engine's ingestion and run what it queues after
    commit (the automation task runs eagerly, as Celery does in tests)."""

    def feed(sender: Sender, text: str, *, phone: str = PHONE, wamid: str | None = None,
             payload: str | None = None, name: str | None = None) -> InboundMessage:  # fmt: skip
        wamid = wamid or f"wamid.in.{next(_ids)}"
        event = InboundMessageEvent(
            account_id=sender.phone_number_id,
            provider_message_id=wamid,
            sender=phone.lstrip("+"),
            timestamp=None,
            kind="text",
            text=text,
            payload=payload,
            contact_name=name,
        )
        with django_capture_on_commit_callbacks(execute=True):
            ingest.apply_inbound(sender=sender, events=[event])
        return InboundMessage.objects.get(sender=sender, provider_message_id=wamid)

    return feed


def signed_inbound_post(sender: Sender, *, text: str, phone: str, wamid: str) -> Any:
    """POST a signed Cloud API webhook carrying one inbound text to the product's receiver."""
    payload = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": sender.waba_id or "waba",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": sender.phone_number.lstrip("+"),
                                "phone_number_id": sender.phone_number_id,
                            },
                            "contacts": [{"profile": {"name": "Aysel"}, "wa_id": phone[1:]}],
                            "messages": [
                                {
                                    "from": phone.lstrip("+"),
                                    "id": wamid,
                                    "timestamp": "1749416383",
                                    "type": "text",
                                    "text": {"body": text},
                                }
                            ],
                        },
                    }
                ],
            }
        ],
    }
    body = json.dumps(payload).encode()
    secret = sender_credentials(sender)["app_secret"]
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return Client().post(
        reverse("messaging_webhooks:webhook_whatsapp", args=[sender.public_id]),
        body,
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE_256=signature,
    )
