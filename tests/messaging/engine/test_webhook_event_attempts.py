"""A stored webhook event whose apply keeps failing is not retried forever (issue 14): every
attempt is counted, after WEBHOOK_EVENT_MAX_ATTEMPTS the event is marked failed with its last
error and logged, the sweep leaves it alone, and staff find it (filter) and apply it again in
Django admin once the cause is fixed."""

from __future__ import annotations

import json
import logging
import time

import pytest
from django.test import override_settings
from django.urls import reverse

from messaging.campaigns.models import Message
from messaging.numbers import services as number_services
from messaging.numbers.models import Sender, WebhookEvent

from .conftest import drain_all

pytestmark = pytest.mark.django_db


def _read_webhook(number: Sender, message: Message) -> WebhookEvent:
    """A stored (verified) Cloud API webhook saying the message was read."""
    value = {
        "messaging_product": "whatsapp",
        "metadata": {
            "display_phone_number": number.phone_number.lstrip("+"),
            "phone_number_id": number.phone_number_id,
        },
        "statuses": [
            {
                "id": message.provider_message_id,
                "status": "read",
                "timestamp": str(int(time.time())),
                "recipient_id": message.phone.lstrip("+"),
                "biz_opaque_callback_data": str(message.public_id),
            }
        ],
    }
    body = {
        "object": "whatsapp_business_account",
        "entry": [{"id": number.waba_id, "changes": [{"field": "messages", "value": value}]}],
    }
    return WebhookEvent.objects.create(
        workspace_id=number.workspace_id,
        sender=number,
        source=WebhookEvent.Source.CLOUD_API,
        body=json.dumps(body).encode(),
    )


@pytest.fixture
def sent_message(sandbox_number, contacts, credits, launch) -> tuple[Sender, Message]:
    contacts(1)
    credits(1)
    number = sandbox_number()
    campaign = launch([number])
    drain_all([number])
    return number, Message.objects.get(campaign=campaign)


@override_settings(WEBHOOK_EVENT_MAX_ATTEMPTS=3)
def test_an_event_that_keeps_failing_is_marked_failed_after_the_limit_and_left_alone(
    sent_message, monkeypatch, caplog, admin_client, django_capture_on_commit_callbacks
) -> None:
    number, message = sent_message
    event = _read_webhook(number, message)

    def broken(**kwargs):
        raise RuntimeError("statuses table is locked")

    monkeypatch.setattr(number_services, "apply_events", broken)

    # when: three attempts fail (the first by its task, the others requeued by the sweep)
    for attempt in (1, 2):
        with pytest.raises(RuntimeError):
            number_services.webhook_event_parse(event_id=event.pk)
        event.refresh_from_db()
        assert (event.state, event.attempts) == ("received", attempt)
        assert "statuses table is locked" in event.error
    with caplog.at_level(logging.ERROR), pytest.raises(RuntimeError):
        number_services.webhook_event_parse(event_id=event.pk)

    # then: failed with its last error, logged, and the sweep no longer queues it
    event.refresh_from_db()
    assert (event.state, event.attempts) == ("failed", 3)
    assert event.error == (
        "gave up after 3 attempts; last error: RuntimeError: statuses table is locked"
    )
    assert f"webhook event {event.pk}" in caplog.text
    assert "not applied after 3 attempts" in caplog.text
    assert number_services.webhook_events_requeue_stale(older_than_seconds=0) == 0
    number_services.webhook_event_parse(event_id=event.pk)  # a late task: nothing happens
    event.refresh_from_db()
    assert (event.state, event.attempts) == ("failed", 3)

    # Staff see it in admin, filtered by state, with its attempts and error.
    changelist = reverse("admin:messaging_webhookevent_changelist")
    page = admin_client.get(changelist, {"state__exact": "failed"})
    assert page.status_code == 200
    text = page.content.decode()
    assert "gave up after 3 attempts" in text
    assert (
        admin_client.get(changelist, {"state__exact": "parsed"})
        .content.decode()
        .count("gave up after")
        == 0
    )

    # Once the cause is fixed, they apply it again from admin: the status arrives.
    monkeypatch.undo()
    with django_capture_on_commit_callbacks(execute=True):
        answer = admin_client.post(
            changelist, {"action": "retry", "_selected_action": [event.pk]}, follow=True
        )
    assert "1 failed event queued again." in answer.content.decode()
    event.refresh_from_db()
    message.refresh_from_db()
    assert (event.state, event.attempts, message.status) == ("parsed", 1, "read")


@override_settings(WEBHOOK_EVENT_MAX_ATTEMPTS=2)
def test_attempts_that_killed_their_worker_count_too(sent_message, caplog) -> None:
    """A worker killed mid-apply records no error; its attempts still count, so an event that
    kills every worker that takes it is not retried forever either."""
    number, message = sent_message
    event = _read_webhook(number, message)
    WebhookEvent.objects.filter(pk=event.pk).update(attempts=2)  # two workers died on it

    with caplog.at_level(logging.ERROR):
        number_services.webhook_event_parse(event_id=event.pk)

    event.refresh_from_db()
    message.refresh_from_db()
    assert event.state == "failed"
    assert event.error.startswith("gave up after 2 attempts; last error: no error recorded")
    assert message.status != "read"
    assert "not applied after 2 attempts" in caplog.text


def test_a_successful_apply_counts_one_attempt(sent_message) -> None:
    number, message = sent_message
    event = _read_webhook(number, message)

    number_services.webhook_event_parse(event_id=event.pk)
    number_services.webhook_event_parse(event_id=event.pk)  # a redelivered task

    event.refresh_from_db()
    assert (event.state, event.attempts, event.error) == ("parsed", 1, "")
    assert Message.objects.get(pk=message.pk).status == "read"
