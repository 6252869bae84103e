"""Numbers over /api/v1/numbers/: list and detail with status, quality, tier, cap and today's
use; connecting a Cloud API number checked against Meta (the sandbox), bad credentials a 400
with Meta's reason; secrets never returned; another workspace's numbers are 404."""

from __future__ import annotations

import json

import pytest
from django.test import override_settings

from accounts.models import AuditEvent
from messaging.analytics.models import MessageStat
from messaging.engine.caps import cap_day
from messaging.numbers import services as number_services
from messaging.numbers.models import Sender
from messaging.numbers.services import sender_credentials

from ..conftest import SandboxClient

pytestmark = pytest.mark.django_db

CONNECT = {
    "provider": "cloud_api",
    "label": "Main line",
    "phone_number_id": "5550991",
    "waba_id": "770001",
    "access_token": "EAAG-good-token",
    "app_secret": "the-app-secret",
}


@pytest.fixture
def graph(sandbox: SandboxClient):
    with override_settings(
        SANDBOX_GATEWAY_URL=sandbox.base_url, WHATSAPP_GRAPH_URL=sandbox.base_url
    ):
        sandbox.register(
            "5550991", access_token="EAAG-good-token", display_phone_number="994501234000"
        )
        yield sandbox


def test_connect_a_cloud_api_number_returns_webhook_details_and_no_secret(
    api_client_with_scopes, workspace, graph
) -> None:
    client = api_client_with_scopes("numbers:write")

    response = client.post("/api/v1/numbers/", CONNECT, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    sender = Sender.objects.get(workspace=workspace)
    assert body["id"] == str(sender.public_id)
    assert (body["provider"], body["phone_number"], body["status"], body["label"]) == (
        "cloud_api",
        "+994501234000",
        "active",
        "Main line",
    )
    assert body["quality"] == "green"  # read from Meta's phone number node
    assert body["webhook_url"].endswith(f"/webhooks/whatsapp/{sender.public_id}/")
    assert body["verify_token"] == sender.verify_token
    raw = response.content.decode()
    assert "EAAG-good-token" not in raw
    assert "the-app-secret" not in raw
    assert sender_credentials(sender)["app_secret"] == "the-app-secret"
    assert AuditEvent.objects.filter(action="number.connected", workspace=workspace).count() == 1


def test_bad_credentials_are_a_400_with_metas_reason_and_nothing_saved(
    api_client_with_scopes, graph
) -> None:
    response = api_client_with_scopes("numbers:write").post(
        "/api/v1/numbers/", {**CONNECT, "access_token": "wrong"}, format="json"
    )

    assert response.status_code == 400
    assert "Meta refused these credentials: (#190)" in response.json()["access_token"][0]
    assert not Sender.objects.exists()


def test_missing_fields_and_other_providers_are_field_errors(api_client_with_scopes) -> None:
    response = api_client_with_scopes("numbers:write").post(
        "/api/v1/numbers/", {"provider": "web_gateway"}, format="json"
    )

    assert response.status_code == 400
    assert set(response.json()) >= {"provider", "phone_number_id", "waba_id", "access_token"}
    assert not Sender.objects.exists()


def test_read_scope_cannot_connect(api_client_with_scopes, graph) -> None:
    response = api_client_with_scopes("numbers:read").post(
        "/api/v1/numbers/", CONNECT, format="json"
    )
    assert response.status_code == 403
    assert not Sender.objects.exists()


def test_list_and_detail_show_health_cap_and_todays_use(
    api_client_with_scopes, workspace, owner, graph
) -> None:
    sender = number_services.sender_connect_cloud_api(
        workspace=workspace,
        actor=owner,
        **{k: v for k, v in CONNECT.items() if k != "provider"},
    )
    Sender.objects.filter(pk=sender.pk).update(messaging_limit_tier="TIER_2K", daily_cap=500)
    MessageStat.objects.create(
        workspace=workspace, sender=sender, day=cap_day(sender).day, accepted=37
    )
    client = api_client_with_scopes("numbers:read")

    listed = client.get("/api/v1/numbers/").json()["results"]
    detail = client.get(f"/api/v1/numbers/{sender.public_id}/").json()

    assert [n["id"] for n in listed] == [str(sender.public_id)]
    for number in (listed[0], detail):
        assert number["messaging_limit_tier"] == "TIER_2K"
        assert number["messaging_limit"] == 2000
        assert (number["daily_cap"], number["today_used"]) == (500, 37)
        assert number["quality"] == "green"
        assert "verify_token" not in number
        assert "access_token" not in number
    assert "EAAG-good-token" not in json.dumps(listed)


def test_another_workspaces_number_is_404(
    api_client_with_scopes, workspace, other_workspace, owner, make_member, graph
) -> None:
    sender = number_services.sender_connect_cloud_api(
        workspace=workspace,
        actor=owner,
        **{k: v for k, v in CONNECT.items() if k != "provider"},
    )
    make_member(other_workspace)
    theirs = api_client_with_scopes("numbers:read", target=other_workspace)

    assert theirs.get(f"/api/v1/numbers/{sender.public_id}/").status_code == 404
    assert theirs.get("/api/v1/numbers/").json()["results"] == []


def test_connecting_an_id_already_connected_elsewhere_is_refused(
    api_client_with_scopes, workspace, other_workspace, owner, make_member, graph
) -> None:
    number_services.sender_connect_cloud_api(
        workspace=workspace,
        actor=owner,
        **{k: v for k, v in CONNECT.items() if k != "provider"},
    )
    make_member(other_workspace)

    response = api_client_with_scopes("numbers:write", target=other_workspace).post(
        "/api/v1/numbers/", CONNECT, format="json"
    )

    assert response.status_code == 400
    assert Sender.objects.filter(workspace=other_workspace).count() == 0
    assert Sender.objects.filter(workspace=workspace).count() == 1


def test_a_protected_number_shows_its_protection_and_the_pace_it_returns_to(
    api_client_with_scopes, workspace, owner, graph
) -> None:
    from messaging.numbers.protection import number_protect

    # given: a number whose quality fell, so protection lowered its pace
    sender = number_services.sender_connect_cloud_api(
        workspace=workspace,
        actor=owner,
        **{k: v for k, v in CONNECT.items() if k != "provider"},
    )
    your_pace = sender.throughput_per_second
    number_protect(sender=sender, reason="Quality fell to yellow")
    client = api_client_with_scopes("numbers:read")

    # when: an integration reads it
    number = client.get(f"/api/v1/numbers/{sender.public_id}/").json()

    # then: it says the number is slowed, why, since when, and the pace it climbs back to
    assert number["protection"] == "slowed"
    assert number["protection_reason"] == "Quality fell to yellow"
    assert number["protection_at"]
    assert number["throughput_per_second"] < your_pace
    assert number["pace_restore_per_second"] == your_pace
    assert number["pace_restored_at"] is None
