"""Webhook URLs must not reach our own network: refused when saved and again when sent
(a hostname may be re-pointed after it was checked)."""

from __future__ import annotations

import asyncio

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings

from integrations import services, transport
from integrations.models import WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db

REFUSED = [
    pytest.param("http://10.1.2.3/hook", id="private"),
    pytest.param("http://192.168.0.10:8080/hook", id="private-192"),
    pytest.param("http://127.0.0.1:8000/hook", id="loopback"),
    pytest.param("http://[::1]/hook", id="loopback-v6"),
    pytest.param("http://169.254.169.254/latest/meta-data", id="link-local"),
    pytest.param("http://0.0.0.0/hook", id="unspecified"),
    pytest.param("http://localhost:9/hook", id="hostname-to-loopback"),
]


@override_settings(ALLOW_PRIVATE_WEBHOOK_URLS=False)
@pytest.mark.parametrize("url", REFUSED)
def test_private_addresses_are_refused_when_saved(workspace, url: str) -> None:
    with pytest.raises(ValidationError) as caught:
        services.webhook_endpoint_create(workspace=workspace, url=url, event_types=["*"])

    assert "url" in caught.value.message_dict
    assert WebhookEndpoint.objects.for_workspace(workspace).count() == 0


@override_settings(ALLOW_PRIVATE_WEBHOOK_URLS=False)
def test_a_changed_url_is_checked_too(workspace) -> None:
    endpoint, _secret = services.webhook_endpoint_create(
        workspace=workspace, url="https://93.184.215.14/hook", event_types=["*"]
    )
    with pytest.raises(ValidationError):
        services.webhook_endpoint_update(
            workspace=workspace, endpoint=endpoint, url="http://127.0.0.1/x"
        )
    endpoint.refresh_from_db()
    assert endpoint.url == "https://93.184.215.14/hook"


def test_an_address_that_became_private_is_refused_at_send_time(
    workspace, receiver, make_endpoint
) -> None:
    # given: an endpoint saved while private addresses were allowed (or a rebound hostname)
    make_endpoint(receiver.url)
    services.webhook_events_publish(workspace_id=workspace.pk, events=[("credits.low", {})])

    # when: sending with private addresses refused
    with override_settings(ALLOW_PRIVATE_WEBHOOK_URLS=False):
        services.webhook_deliveries_send_due()

    # then: nothing reached the receiver; the attempt failed and will be retried
    assert receiver.requests == []
    delivery = WebhookDelivery.objects.for_workspace(workspace).get()
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert delivery.last_error.startswith("refused")


def test_the_connect_time_resolver_refuses_a_hostname_resolving_to_loopback(receiver) -> None:
    # The check before sending is bypassed here: this is the DNS-rebinding guard alone.
    url = receiver.url.replace("127.0.0.1", "localhost")
    request = transport.Request(key=1, url=url, body=b"{}")

    (answer,) = asyncio.run(transport._post_all([request], 2.0, allow_private=False))

    assert answer.status_code is None
    assert answer.error.startswith("refused")
    assert receiver.requests == []
