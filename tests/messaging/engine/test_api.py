"""The engine over the API: single sends with an Idempotency-Key (never twice, even when
racing), campaigns created and launched, foreign ids refused."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.urls import reverse

from billing import services as billing
from messaging.campaigns.models import Campaign, Message

from .conftest import drain_all

pytestmark = pytest.mark.django_db


def test_same_idempotency_key_sends_once(
    api_client_with_scopes, sandbox_number, credits, engine_sandbox, workspace
):
    credits(5)
    number = sandbox_number()
    client = api_client_with_scopes("campaigns:write")
    body = {"to": "+994 50 555 12 34", "text": "Your code is 4821"}

    first = client.post(
        reverse("api:message-list"), body, format="json", HTTP_IDEMPOTENCY_KEY="otp-1"
    )
    again = client.post(
        reverse("api:message-list"), body, format="json", HTTP_IDEMPOTENCY_KEY="otp-1"
    )
    drain_all([number])

    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert Message.objects.count() == 1
    assert engine_sandbox.number_stats(number.phone_number_id)["accepted"] == 1
    assert billing.credits_balance(workspace=workspace).available == 4
    detail = client.get(reverse("api:message-detail", args=[first.json()["id"]])).json()
    assert detail["status"] == "accepted"


@pytest.mark.parametrize(
    "changed",
    [{"text": "DIFFERENT BODY"}, {"to": "+994 50 555 00 01"}],
    ids=["other_text", "other_recipient"],
)
def test_a_key_reused_for_a_different_message_is_a_422_and_sends_nothing(
    api_client_with_scopes, sandbox_number, credits, workspace, changed
):
    """It answered 200 with the first message: the caller believed its second, different
    message had been sent."""
    credits(5)
    sandbox_number()
    client = api_client_with_scopes("campaigns:write")
    body = {"to": "+994 50 555 12 34", "text": "Your code is 4821"}
    first = client.post(
        reverse("api:message-list"), body, format="json", HTTP_IDEMPOTENCY_KEY="otp-2"
    )

    reused = client.post(
        reverse("api:message-list"),
        {**body, **changed},
        format="json",
        HTTP_IDEMPOTENCY_KEY="otp-2",
    )

    assert first.status_code == 201
    assert reused.status_code == 422
    assert "Idempotency-Key was already used" in reused.json()["detail"]
    assert Message.objects.count() == 1
    assert billing.credits_balance(workspace=workspace).available == 4
    # the same request again (the recipient written another way) is still the first message
    same = client.post(
        reverse("api:message-list"),
        {**body, "to": "+994505551234"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="otp-2",
    )
    assert (same.status_code, same.json()["id"]) == (200, first.json()["id"])


@pytest.mark.django_db(transaction=True)
def test_racing_requests_with_one_key_create_one_message(
    api_client_with_scopes, sandbox_number, credits, workspace
):
    credits(5)
    sandbox_number()
    secret_client = api_client_with_scopes("campaigns:write")
    answers: list[int] = []

    def post() -> None:
        answers.append(
            secret_client.post(
                reverse("api:message-list"),
                {"to": "+994505551234", "text": "Hi"},
                format="json",
                HTTP_IDEMPOTENCY_KEY="race-1",
            ).status_code
        )
        connection.close()

    threads = [threading.Thread(target=post) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(answers).count(201) == 1
    assert Message.objects.filter(idempotency_key="race-1").count() == 1
    balance = billing.credits_balance(workspace=workspace)
    assert balance.available + balance.reserved == 5
    assert balance.reserved == 1


def test_validation_errors_write_nothing(api_client_with_scopes, sandbox_number, credits):
    credits(5)
    sandbox_number()
    client = api_client_with_scopes("campaigns:write")

    response = client.post(reverse("api:message-list"), {"to": "12", "text": ""}, format="json")

    assert response.status_code == 400
    assert set(response.json()) >= {"text"}
    assert not Message.objects.exists()


def test_a_number_the_workspace_cannot_read_is_a_400(
    api_client_with_scopes, sandbox_number, credits
):
    # the number is read by messaging's one normaliser (core.phones), like an import's
    credits(5)
    sandbox_number()
    client = api_client_with_scopes("campaigns:write")

    response = client.post(
        reverse("api:message-list"), {"to": "050 12", "text": "Hi"}, format="json"
    )

    assert response.status_code == 400
    assert "too short" in str(response.json())
    assert not Message.objects.exists()


def test_campaign_over_the_api(
    api_client_with_scopes, sandbox_number, contacts, credits, template, workspace
):
    contacts(5)
    credits(5)
    number = sandbox_number()
    client = api_client_with_scopes("campaigns:write")

    created = client.post(
        reverse("api:campaign-list"),
        {
            "name": "API campaign",
            "template": str(template.public_id),
            "senders": [str(number.public_id)],
            "audience": {},
        },
        format="json",
    )
    campaign_id = created.json()["id"]
    preflight = client.get(reverse("api:campaign-preflight", args=[campaign_id])).json()
    launched = client.post(reverse("api:campaign-launch", args=[campaign_id]))

    assert created.status_code == 201
    assert preflight["reachable"] == 5
    assert launched.status_code == 200
    assert Campaign.objects.get(public_id=campaign_id).status in ("launching", "running")


def test_foreign_template_is_a_400(
    api_client_with_scopes, other_workspace, sandbox_number, make_member
):
    from messaging.content.models import MessageTemplate

    foreign = MessageTemplate.objects.create(
        workspace=other_workspace, name="Theirs", variants=["x"]
    )
    client = api_client_with_scopes("campaigns:write")

    response = client.post(
        reverse("api:campaign-list"),
        {
            "name": "Steal",
            "template": str(foreign.public_id),
            "senders": [str(sandbox_number().public_id)],
        },
        format="json",
    )

    assert response.status_code == 400
    assert "template" in response.json()
    assert not Campaign.objects.exists()
