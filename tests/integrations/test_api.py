"""Webhooks over the API: endpoints CRUD (secret only on create and rotate), deliveries with
filters, replay, test events, scopes, and another workspace's ids."""

from __future__ import annotations

import pytest
from django.test import override_settings
from django.urls import reverse

from accounts.models import AuditEvent
from integrations import services
from integrations.models import WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db

URL = "https://hooks.example.com/api"


def test_endpoint_crud_returns_the_secret_only_on_create_and_rotate(
    workspace, api_client_with_scopes
) -> None:
    client = api_client_with_scopes("webhooks:write")

    # create
    created = client.post(
        reverse("api:webhook-endpoint-list"),
        {"url": URL, "description": "CRM", "event_types": ["message.status"]},
        format="json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["secret"].startswith("whsec_")
    assert body["event_types"] == ["message.status"]
    detail_url = reverse("api:webhook-endpoint-detail", args=[body["id"]])

    # read: no secret
    read = client.get(detail_url).json()
    assert "secret" not in read
    assert read["health"] == "new"
    listed = client.get(reverse("api:webhook-endpoint-list")).json()["results"]
    assert [e["id"] for e in listed] == [body["id"]]
    assert all("secret" not in e for e in listed)

    # change event types, disable
    changed = client.patch(
        detail_url, {"event_types": ["*"], "is_active": False}, format="json"
    ).json()
    assert (changed["event_types"], changed["is_active"]) == (["*"], False)

    # rotate
    rotated = client.post(reverse("api:webhook-endpoint-rotate-secret", args=[body["id"]]))
    assert rotated.status_code == 200
    assert rotated.json()["secret"].startswith("whsec_")
    assert rotated.json()["secret"] != body["secret"]

    # delete
    assert client.delete(detail_url).status_code == 204
    assert WebhookEndpoint.objects.for_workspace(workspace).count() == 0
    actions = set(
        AuditEvent.objects.filter(workspace=workspace, action__startswith="webhook.").values_list(
            "action", flat=True
        )
    )
    assert actions == {
        "webhook.endpoint.created",
        "webhook.endpoint.changed",
        "webhook.endpoint.disabled",
        "webhook.endpoint.secret_rotated",
        "webhook.endpoint.deleted",
    }


def test_bad_input_is_a_400_and_writes_nothing(workspace, api_client_with_scopes) -> None:
    client = api_client_with_scopes("webhooks:write")

    unknown = client.post(
        reverse("api:webhook-endpoint-list"),
        {"url": URL, "event_types": ["message.nope"]},
        format="json",
    )
    with override_settings(ALLOW_PRIVATE_WEBHOOK_URLS=False):
        private = client.post(
            reverse("api:webhook-endpoint-list"),
            {"url": "http://127.0.0.1:8000/x", "event_types": ["*"]},
            format="json",
        )

    assert unknown.status_code == 400
    assert "event_types" in unknown.json()
    assert private.status_code == 400
    assert "url" in private.json()
    assert WebhookEndpoint.objects.for_workspace(workspace).count() == 0


def test_scopes_gate_reads_and_writes(api_client_with_scopes) -> None:
    reader = api_client_with_scopes("webhooks:read")

    assert reader.get(reverse("api:webhook-endpoint-list")).status_code == 200
    denied = reader.post(
        reverse("api:webhook-endpoint-list"), {"url": URL, "event_types": []}, format="json"
    )
    assert denied.status_code == 403
    other = api_client_with_scopes("contacts:read")
    assert other.get(reverse("api:webhook-delivery-list")).status_code == 403


def test_deliveries_list_filters_replay_and_test(workspace, api_client_with_scopes) -> None:
    client = api_client_with_scopes("webhooks:write")
    first, _s = services.webhook_endpoint_create(
        workspace=workspace, url=URL, event_types=["credits.low"]
    )
    second, _s = services.webhook_endpoint_create(
        workspace=workspace, url=URL + "/2", event_types=["*"]
    )
    services.webhook_events_publish(
        workspace_id=workspace.pk,
        events=[("credits.low", {"available": 1}), ("campaign.started", {})],
    )
    url = reverse("api:webhook-delivery-list")

    everything = client.get(url).json()["results"]
    of_first = client.get(url, {"endpoint": str(first.public_id)}).json()["results"]
    started = client.get(url, {"event_type": "campaign.started"}).json()["results"]
    pending = client.get(url, {"status": "pending"}).json()["results"]
    assert len(everything) == 3
    assert [d["endpoint"] for d in of_first] == [str(first.public_id)]
    assert [d["endpoint"] for d in started] == [str(second.public_id)]
    assert len(pending) == 3
    assert client.get(url, {"endpoint": "not-a-uuid"}).status_code == 400

    replay = client.post(reverse("api:webhook-delivery-replay", args=[of_first[0]["id"]]))
    assert replay.status_code == 202
    assert replay.json()["event_id"] == of_first[0]["event_id"]
    assert replay.json()["replay_of"] == of_first[0]["id"]

    test = client.post(reverse("api:webhook-endpoint-test", args=[first.public_id]))
    assert test.status_code == 202
    assert test.json()["event_type"] == "webhook.test"
    assert WebhookDelivery.objects.for_workspace(workspace).count() == 5


def test_cannot_access_other_workspace_webhooks(
    workspace, other_workspace, api_client_with_scopes
) -> None:
    # given: an endpoint and a delivery of another workspace
    theirs, _secret = services.webhook_endpoint_create(
        workspace=other_workspace, url=URL, event_types=["*"]
    )
    delivery = services.webhook_endpoint_send_test(workspace=other_workspace, endpoint=theirs)
    client = api_client_with_scopes("webhooks:write")

    # when / then: invisible in lists, 404 by id, no write goes through
    assert client.get(reverse("api:webhook-endpoint-list")).json()["results"] == []
    assert client.get(reverse("api:webhook-delivery-list")).json()["results"] == []
    endpoint_url = reverse("api:webhook-endpoint-detail", args=[theirs.public_id])
    assert client.get(endpoint_url).status_code == 404
    assert client.patch(endpoint_url, {"url": URL + "/x"}, format="json").status_code == 404
    assert client.delete(endpoint_url).status_code == 404
    rotate = reverse("api:webhook-endpoint-rotate-secret", args=[theirs.public_id])
    assert client.post(rotate).status_code == 404
    replay = reverse("api:webhook-delivery-replay", args=[delivery.public_id])
    assert client.post(replay).status_code == 404
    theirs.refresh_from_db()
    assert theirs.url == URL
    assert WebhookDelivery.objects.for_workspace(other_workspace).count() == 1
