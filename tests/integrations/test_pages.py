"""The Webhooks pages under Developers: create (secret shown once), edit, rotate, enable and
disable, delete, test, the delivery log and replay; admins only."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.permissions import Role
from integrations import services
from integrations.models import WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db

URL = "https://hooks.example.com/page"


def test_create_shows_the_secret_once(workspace, member_client) -> None:
    page = reverse("integrations:list", args=[workspace.slug])

    created = member_client.post(
        page, {"url": URL, "description": "ERP", "event_types": ["campaign.completed"]}
    )

    assert created.status_code == 200
    secret = created.context["new_secret"]
    assert secret.startswith("whsec_")
    assert secret in created.content.decode()
    endpoint = WebhookEndpoint.objects.for_workspace(workspace).get()
    assert endpoint.event_types == ["campaign.completed"]
    again = member_client.get(page)
    assert secret not in again.content.decode()
    assert URL in again.content.decode()


def test_all_events_toggle_and_edit(workspace, member_client) -> None:
    endpoint, _s = services.webhook_endpoint_create(workspace=workspace, url=URL, event_types=[])
    detail = reverse("integrations:detail", args=[workspace.slug, endpoint.public_id])

    response = member_client.post(detail, {"url": URL + "/v2", "all_events": "on"})

    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert (endpoint.url, endpoint.event_types) == (URL + "/v2", ["*"])


def test_detail_log_rotate_toggle_test_replay_delete(workspace, member_client) -> None:
    endpoint, old = services.webhook_endpoint_create(workspace=workspace, url=URL, event_types=[])
    args = [workspace.slug, endpoint.public_id]

    test = member_client.post(reverse("integrations:test", args=args))
    assert test.status_code == 302
    delivery = WebhookDelivery.objects.for_workspace(workspace).get()
    detail = member_client.get(reverse("integrations:detail", args=args))
    assert detail.status_code == 200
    assert delivery.event_id in detail.content.decode()

    rotated = member_client.post(reverse("integrations:rotate", args=args))
    assert rotated.status_code == 200
    assert rotated.context["new_secret"] not in ("", None, old)

    member_client.post(reverse("integrations:toggle", args=args))
    endpoint.refresh_from_db()
    assert endpoint.is_active is False
    member_client.post(reverse("integrations:toggle", args=args))
    endpoint.refresh_from_db()
    assert endpoint.is_active is True

    replay = member_client.post(reverse("integrations:replay", args=[*args, delivery.public_id]))
    assert replay.status_code == 302
    assert (
        WebhookDelivery.objects.for_workspace(workspace).filter(event_id=delivery.event_id).count()
        == 2
    )

    deleted = member_client.post(reverse("integrations:delete", args=args))
    assert deleted.status_code == 302
    assert WebhookEndpoint.objects.for_workspace(workspace).count() == 0


def test_the_delivery_log_is_paginated_newest_first(workspace, member_client) -> None:
    endpoint, _s = services.webhook_endpoint_create(workspace=workspace, url=URL, event_types=[])
    made = [
        services.webhook_endpoint_send_test(workspace=workspace, endpoint=endpoint)
        for _ in range(30)
    ]
    detail = reverse("integrations:detail", args=[workspace.slug, endpoint.public_id])

    first = member_client.get(detail).context["page"]
    second = member_client.get(detail, {"page": 2}).context["page"]

    assert [d.pk for d in first] == [d.pk for d in reversed(made)][:25]
    assert len(second) == 5


def test_members_without_the_permission_get_403(workspace, make_member) -> None:
    from django.test import Client

    client = Client()
    client.force_login(make_member(workspace, Role.MEMBER).user)

    response = client.post(
        reverse("integrations:list", args=[workspace.slug]), {"url": URL, "all_events": "on"}
    )

    assert response.status_code == 403
    assert WebhookEndpoint.objects.for_workspace(workspace).count() == 0


def test_the_developers_page_links_to_webhooks(workspace, member_client) -> None:
    page = member_client.get(reverse("accounts:developers", args=[workspace.slug]))

    assert reverse("integrations:list", args=[workspace.slug]) in page.content.decode()
