"""Signing, sending, retries, giving up and auto-disabling, against a real HTTP receiver."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core import mail
from django.test import override_settings
from django.utils import timezone
from standardwebhooks import Webhook

from accounts.models import Notification
from integrations import services
from integrations.models import WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db


def _publish(workspace, n: int = 1, event_type: str = "credits.low") -> None:
    services.webhook_events_publish(
        workspace_id=workspace.pk,
        events=[(event_type, {"available": i, "threshold": 100}) for i in range(n)],
    )


def test_a_delivery_is_signed_per_standard_webhooks_and_verifies_independently(
    workspace, receiver, make_endpoint
) -> None:
    # given: an endpoint subscribed to credits.low
    endpoint, secret = make_endpoint(receiver.url, ["credits.low"])
    assert secret.startswith("whsec_")
    _publish(workspace)

    # when
    counts = services.webhook_deliveries_send_due()

    # then: the reference implementation accepts the signature and returns our payload
    assert counts["succeeded"] == 1
    (request,) = receiver.requests
    payload = Webhook(secret).verify(request.body, request.headers)
    assert payload["type"] == "credits.low"
    assert payload["data"] == {"available": 0, "threshold": 100}
    delivery = WebhookDelivery.objects.for_workspace(workspace).get()
    assert request.headers["webhook-id"] == delivery.event_id
    assert delivery.event_id.startswith("msg_")
    assert abs(int(request.headers["webhook-timestamp"]) - timezone.now().timestamp()) < 60
    # a wrong secret or a tampered body does not verify
    with pytest.raises(Exception, match="signature"):
        Webhook("whsec_" + "A" * 44).verify(request.body, request.headers)
    with pytest.raises(Exception, match="signature"):
        Webhook(secret).verify(request.body.replace(b"100", b"999"), request.headers)


def test_success_records_status_code_time_and_body(workspace, receiver, make_endpoint) -> None:
    endpoint, _secret = make_endpoint(receiver.url)
    receiver.body = b"x" * 800
    _publish(workspace)

    services.webhook_deliveries_send_due()

    delivery = WebhookDelivery.objects.for_workspace(workspace).get()
    assert delivery.status == WebhookDelivery.Status.SUCCEEDED
    assert (delivery.attempts, delivery.last_status_code, delivery.last_error) == (1, 200, "")
    assert delivery.last_response_ms is not None
    assert delivery.last_response_ms < 5000
    assert delivery.response_body == "x" * 500
    assert delivery.delivered_at is not None
    endpoint.refresh_from_db()
    assert endpoint.health == "healthy"
    assert endpoint.consecutive_failures == 0


def test_failure_is_retried_with_growing_backoff_then_succeeds(
    workspace, receiver, make_endpoint
) -> None:
    # given: the receiver answers 500
    endpoint, _secret = make_endpoint(receiver.url)
    receiver.status = 500
    _publish(workspace)
    t0 = timezone.now()

    # when: the first attempt fails
    services.webhook_deliveries_send_due(now=t0)
    delivery = WebhookDelivery.objects.for_workspace(workspace).get()

    # then: a retry is scheduled about 30 s later, and nothing is due before that
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert (delivery.attempts, delivery.last_status_code) == (1, 500)
    first_wait = (delivery.next_attempt_at - t0).total_seconds()
    assert 27 <= first_wait <= 33
    assert services.webhook_deliveries_send_due(now=t0 + timedelta(seconds=20))["claimed"] == 0

    # when: the second attempt fails too, the wait grows (about 2 min)
    t1 = delivery.next_attempt_at
    services.webhook_deliveries_send_due(now=t1)
    delivery.refresh_from_db()
    second_wait = (delivery.next_attempt_at - t1).total_seconds()
    assert delivery.attempts == 2
    assert 108 <= second_wait <= 132
    assert second_wait > first_wait
    endpoint.refresh_from_db()
    assert endpoint.consecutive_failures == 2
    assert endpoint.health == "failing"

    # when: the receiver recovers
    receiver.status = 204
    services.webhook_deliveries_send_due(now=delivery.next_attempt_at)

    # then: the same row succeeds on its third attempt; the same event id was sent each time
    delivery.refresh_from_db()
    assert delivery.last_error == ""
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (
        WebhookDelivery.Status.SUCCEEDED,
        3,
        204,
    )
    assert {r.headers["webhook-id"] for r in receiver.requests} == {delivery.event_id}
    assert len(receiver.requests) == 3
    endpoint.refresh_from_db()
    assert (endpoint.consecutive_failures, endpoint.failing_since) == (0, None)


def test_a_delivery_is_given_up_24_hours_after_its_first_attempt(
    workspace, receiver, make_endpoint
) -> None:
    make_endpoint(receiver.url)
    receiver.status = 503
    _publish(workspace)
    t0 = timezone.now()
    services.webhook_deliveries_send_due(now=t0)

    # retries are never scheduled past the 24-hour window
    later = t0 + timedelta(hours=23, minutes=59)
    services.webhook_deliveries_send_due(now=later)
    delivery = WebhookDelivery.objects.for_workspace(workspace).get()
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert delivery.next_attempt_at <= delivery.first_attempt_at + timedelta(hours=24)

    # the attempt at the deadline is the last one
    services.webhook_deliveries_send_due(now=t0 + timedelta(hours=24, seconds=1))
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.GIVEN_UP
    assert (delivery.attempts, delivery.last_error) == (3, "HTTP 503")
    assert services.webhook_deliveries_send_due(now=t0 + timedelta(days=3))["claimed"] == 0


def test_a_timeout_is_a_failed_attempt(workspace, receiver, make_endpoint) -> None:
    make_endpoint(receiver.url)
    receiver.delay = 2.0
    _publish(workspace)

    with override_settings(WEBHOOK_TIMEOUT_SECONDS=0.3):
        services.webhook_deliveries_send_due()

    delivery = WebhookDelivery.objects.for_workspace(workspace).get()
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert delivery.last_status_code is None
    assert delivery.last_error.startswith("timeout")


def test_redirects_are_not_followed(workspace, receiver, make_endpoint) -> None:
    make_endpoint(receiver.url)
    receiver.status = 302
    _publish(workspace)

    services.webhook_deliveries_send_due()

    delivery = WebhookDelivery.objects.for_workspace(workspace).get()
    assert (delivery.status, delivery.last_status_code) == (WebhookDelivery.Status.FAILED, 302)
    assert len(receiver.requests) == 1


@override_settings(WEBHOOK_DISABLE_AFTER_FAILURES=3)
def test_an_endpoint_failing_repeatedly_is_disabled_and_the_owner_told(
    workspace, owner, receiver, make_endpoint, django_capture_on_commit_callbacks
) -> None:
    # given: an endpoint that answers 500 to everything, and four events
    endpoint, _secret = make_endpoint(receiver.url)
    receiver.status = 500
    _publish(workspace, n=4)

    # when: the sender runs (the batch fails 4 times in a row)
    with django_capture_on_commit_callbacks(execute=True):
        services.webhook_deliveries_send_due(batch_size=3)

    # then: disabled, its open deliveries given up, an in-app notice and an e-mail to the owner
    endpoint.refresh_from_db()
    assert endpoint.is_active is False
    assert endpoint.disabled_at is not None
    assert "3 failed attempts" in endpoint.disabled_reason
    statuses = sorted(
        WebhookDelivery.objects.for_workspace(workspace).values_list("status", flat=True)
    )
    assert statuses == ["given_up"] * 4
    assert Notification.objects.filter(workspace=workspace, kind="webhook.disabled").count() == 1
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [owner.email]
    assert "webhook endpoint was disabled" in mail.outbox[0].subject
    assert endpoint.url in mail.outbox[0].body
    # and nothing more is published to it
    assert (
        services.webhook_events_publish(workspace_id=workspace.pk, events=[("credits.low", {})])
        == 0
    )


def test_an_endpoint_failing_for_a_day_is_disabled(workspace, receiver, make_endpoint) -> None:
    endpoint, _secret = make_endpoint(receiver.url)
    receiver.status = 500
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        consecutive_failures=4, failing_since=timezone.now() - timedelta(hours=25)
    )
    _publish(workspace)

    services.webhook_deliveries_send_due()

    endpoint.refresh_from_db()
    assert endpoint.is_active is False
    assert endpoint.consecutive_failures == 5


def test_test_event_and_replay(workspace, receiver, make_endpoint) -> None:
    # given: an endpoint subscribed to nothing still receives the test event
    endpoint, secret = make_endpoint(receiver.url, [])
    _publish(workspace)
    assert WebhookDelivery.objects.for_workspace(workspace).count() == 0
    test = services.webhook_endpoint_send_test(workspace=workspace, endpoint=endpoint)
    services.webhook_deliveries_send_due()
    test.refresh_from_db()
    assert test.status == WebhookDelivery.Status.SUCCEEDED
    first = Webhook(secret).verify(receiver.requests[0].body, receiver.requests[0].headers)
    assert first["type"] == "webhook.test"

    # when: it is replayed
    replay = services.webhook_delivery_replay(workspace=workspace, delivery=test)
    services.webhook_deliveries_send_due()

    # then: a new row, the same event id and payload, sent again
    replay.refresh_from_db()
    assert replay.pk != test.pk
    assert (replay.event_id, replay.replay_of_id) == (test.event_id, test.pk)
    assert replay.status == WebhookDelivery.Status.SUCCEEDED
    assert [r.headers["webhook-id"] for r in receiver.requests] == [test.event_id] * 2
    assert json.loads(receiver.requests[1].body) == first


def test_after_rotation_both_secrets_sign_for_a_day(workspace, receiver, make_endpoint) -> None:
    endpoint, old = make_endpoint(receiver.url)
    endpoint, new = services.webhook_endpoint_rotate_secret(workspace=workspace, endpoint=endpoint)
    assert new != old
    assert new.startswith("whsec_")
    _publish(workspace)

    services.webhook_deliveries_send_due()

    (request,) = receiver.requests
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    Webhook(new).verify(request.body, request.headers)
    Webhook(old).verify(request.body, request.headers)
    later = timezone.now() + timedelta(hours=25)
    assert len(services.webhook_endpoint_secrets(endpoint=endpoint, now=later)) == 1


def test_the_secret_is_encrypted_at_rest(workspace, make_endpoint) -> None:
    endpoint, secret = make_endpoint("https://hooks.example.com/x")
    raw = WebhookEndpoint.objects.filter(pk=endpoint.pk).values_list("secret_encrypted", flat=True)
    assert secret not in raw[0]
    assert secret.removeprefix("whsec_") not in raw[0]


def test_a_lost_worker_s_claim_comes_back_after_the_lease(workspace, receiver, make_endpoint):
    make_endpoint(receiver.url)
    _publish(workspace)
    t0 = timezone.now()

    claimed = services.webhook_deliveries_claim(now=t0)  # the worker dies before sending
    assert len(claimed) == 1
    assert services.webhook_deliveries_claim(now=t0 + timedelta(seconds=30)) == []

    again = services.webhook_deliveries_claim(now=t0 + timedelta(seconds=61))
    assert [c.id for c in again] == [claimed[0].id]
    assert again[0].attempts == 2
