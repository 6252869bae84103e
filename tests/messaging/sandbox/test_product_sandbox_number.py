"""The product's one-click sandbox number comes with an approved starter template that the
sandbox (enforcing Meta's rules) accepts, and it stays a simple demo number for free text."""

from __future__ import annotations

import asyncio

import pytest
from django.test import override_settings
from django.urls import reverse

from messaging.gateways.base import CloudApiCredentials, OutboundMessage, OutcomeKind
from messaging.gateways.cloud_api import CloudApiAdapter
from messaging.numbers.models import Sender
from messaging.numbers.services import sender_credentials

from ..conftest import SandboxClient

pytestmark = pytest.mark.django_db


def test_one_click_sandbox_number_gets_an_approved_starter_template(
    member_client, workspace, sandbox: SandboxClient
) -> None:
    with override_settings(
        SANDBOX_GATEWAY_URL=sandbox.base_url, WHATSAPP_GRAPH_URL=sandbox.base_url
    ):
        response = member_client.post(
            reverse("messaging_numbers:add", args=[workspace.slug]), {"provider": "sandbox"}
        )
    assert response.status_code == 302
    sender = Sender.objects.get(workspace=workspace)
    (template,) = sandbox.call("GET", f"/_sandbox/templates?waba_id={sender.waba_id}").body
    assert (template["name"], template["language"], template["status"]) == (
        "isend_welcome",
        "en",
        "APPROVED",
    )
    (number,) = sandbox.call("GET", "/_sandbox/numbers").body
    assert number["rules"] == "simple"  # demo numbers: free text to anyone, as before

    credentials = CloudApiCredentials(
        phone_number_id=sender.phone_number_id,
        access_token=sender_credentials(sender)["access_token"],
    )
    messages = [
        OutboundMessage(
            public_id="starter-1",
            to="+994501234567",
            template_name="isend_welcome",
            template_language="en",
            body_parameters=("Aysel",),
        ),
        OutboundMessage(public_id="free-1", to="+994501234568", text="Salam!"),
    ]

    async def scenario() -> list:
        async with CloudApiAdapter(credentials, base_url=sandbox.base_url) as adapter:
            return await adapter.send_many(messages)

    outcomes = asyncio.run(scenario())
    assert [o.kind for o in outcomes] == [OutcomeKind.ACCEPTED, OutcomeKind.ACCEPTED]
    log = sandbox.call("GET", f"/_sandbox/numbers/{sender.phone_number_id}/messages").body
    assert sorted(entry["type"] for entry in log["data"]) == ["template", "text"]
