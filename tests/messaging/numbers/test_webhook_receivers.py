"""Webhook receivers: the GET handshake, signed POSTs stored and parsed, forged ones refused
and not stored; account bans mark the number and tell the user."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from accounts.models import Notification
from core.crypto import encrypt_json
from messaging.numbers import services as number_services
from messaging.numbers.models import Sender, WebhookEvent

pytestmark = pytest.mark.django_db

APP_SECRET = "app-secret-for-tests"


@pytest.fixture
def sender(workspace) -> Sender:
    return Sender.objects.create(
        workspace=workspace,
        provider=Sender.Provider.CLOUD_API,
        phone_number="+994501112233",
        phone_number_id="106540352242922",
        waba_id="102290129340398",
        credentials_encrypted=encrypt_json({"access_token": "t", "app_secret": APP_SECRET}),
        status=Sender.Status.ACTIVE,
    )


def _sign(body: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _url(sender: Sender) -> str:
    return reverse("messaging_webhooks:webhook_whatsapp", args=[sender.public_id])


def test_handshake_echoes_the_challenge_only_for_the_right_token(sender) -> None:
    client = Client()
    ok = client.get(
        _url(sender),
        {
            "hub.mode": "subscribe",
            "hub.verify_token": sender.verify_token,
            "hub.challenge": "1158201444",
        },
    )
    bad = client.get(
        _url(sender),
        {"hub.mode": "subscribe", "hub.verify_token": "nope", "hub.challenge": "1158201444"},
    )

    assert (ok.status_code, ok.content) == (200, b"1158201444")
    assert bad.status_code == 403


def test_signed_batch_is_stored_and_parsed(sender, django_capture_on_commit_callbacks) -> None:
    payload = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": sender.waba_id,
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": "994501112233",
                                "phone_number_id": sender.phone_number_id,
                            },
                            "statuses": [
                                {
                                    "id": "wamid.A",
                                    "status": "delivered",
                                    "timestamp": "1700000000",
                                    "recipient_id": "994507654321",
                                    "biz_opaque_callback_data": "msg-1",
                                },
                                {
                                    "id": "wamid.B",
                                    "status": "read",
                                    "timestamp": "1700000001",
                                    "recipient_id": "994507654322",
                                    "biz_opaque_callback_data": "msg-2",
                                },
                            ],
                        },
                    }
                ],
            }
        ],
    }
    body = json.dumps(payload).encode()

    with django_capture_on_commit_callbacks(execute=True):
        response = Client().post(
            _url(sender),
            body,
            content_type="application/json",
            HTTP_X_HUB_SIGNATURE_256=_sign(body),
        )

    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert bytes(event.body) == body
    assert event.state == WebhookEvent.State.PARSED
    parsed = number_services.webhook_event_parsed(event)
    assert [(e["provider_message_id"], e["status"], e["public_id"]) for e in parsed] == [
        ("wamid.A", "delivered", "msg-1"),
        ("wamid.B", "read", "msg-2"),
    ]


def test_staff_see_a_stored_bodys_events_in_admin(sender, admin_client) -> None:
    body = json.dumps(
        {
            "object": "whatsapp_business_account",
            "entry": [{"id": sender.waba_id, "changes": [{"field": "messages", "value": {
                "messaging_product": "whatsapp",
                "metadata": {"display_phone_number": "994501112233",
                             "phone_number_id": sender.phone_number_id},
                "statuses": [{"id": "wamid.SEEN", "status": "read", "timestamp": "1700000001",
                              "recipient_id": "994507654322"}],
            }}]}],
        }
    ).encode()  # fmt: skip
    assert _post_raw(sender, body).status_code == 200
    event = WebhookEvent.objects.get()

    page = admin_client.get(reverse("admin:messaging_webhookevent_change", args=[event.pk]))

    assert page.status_code == 200
    text = page.content.decode()
    assert "wamid.SEEN" in text
    assert "StatusEvent" in text  # the parsed form, not only the raw body


@pytest.mark.parametrize(
    "header",
    [
        pytest.param(None, id="missing_case"),
        pytest.param("sha256=" + "0" * 64, id="wrong_digest_case"),
        pytest.param("garbage", id="malformed_case"),
    ],
)
def test_forged_or_unsigned_post_is_403_and_not_stored(sender, header) -> None:
    body = b'{"object":"whatsapp_business_account","entry":[]}'
    extra = {"HTTP_X_HUB_SIGNATURE_256": header} if header else {}

    response = Client().post(_url(sender), body, content_type="application/json", **extra)

    assert response.status_code == 403
    assert not WebhookEvent.objects.exists()


def test_signature_with_another_secret_or_altered_body_is_refused(sender) -> None:
    body = b'{"object":"whatsapp_business_account","entry":[]}'
    other = Client().post(
        _url(sender),
        body,
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE_256=_sign(body, "other-secret"),
    )
    altered = Client().post(
        _url(sender),
        body + b" ",
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE_256=_sign(body),
    )

    assert (other.status_code, altered.status_code) == (403, 403)
    assert not WebhookEvent.objects.exists()


def test_unknown_or_long_removed_number_is_404(sender) -> None:
    from django.utils import timezone

    long_ago = timezone.now() - timedelta(days=number_services.REMOVED_NUMBER_WEBHOOK_DAYS + 1)
    Sender.objects.filter(pk=sender.pk).update(removed_at=long_ago)
    body = b"{}"

    response = Client().post(
        _url(sender), body, content_type="application/json", HTTP_X_HUB_SIGNATURE_256=_sign(body)
    )

    assert response.status_code == 404
    assert not WebhookEvent.objects.exists()


def _post_raw(sender: Sender, body: bytes, secret: str = APP_SECRET):
    return Client().post(
        _url(sender), body, content_type="application/json",
        HTTP_X_HUB_SIGNATURE_256=_sign(body, secret),
    )  # fmt: skip


def _post_empty_batch(sender: Sender, secret: str = APP_SECRET):
    return _post_raw(sender, b'{"object":"whatsapp_business_account","entry":[]}', secret)


def test_a_numbers_next_bodies_are_stored_without_looking_it_up_again(
    sender, django_assert_num_queries
) -> None:
    """The receiver remembers a number briefly: each further body costs its INSERT alone."""
    assert _post_empty_batch(sender).status_code == 200

    with django_assert_num_queries(1):
        assert _post_empty_batch(sender).status_code == 200

    assert WebhookEvent.objects.filter(sender=sender).count() == 2


def test_a_rotated_app_secret_is_honoured_at_once_and_the_old_one_refused(sender) -> None:
    assert _post_empty_batch(sender).status_code == 200  # the old secret is now remembered
    sender.credentials_encrypted = encrypt_json({"access_token": "t", "app_secret": "rotated"})
    sender.save(update_fields=["credentials_encrypted"])

    assert _post_empty_batch(sender, "rotated").status_code == 200
    assert _post_empty_batch(sender, APP_SECRET).status_code == 403
    assert WebhookEvent.objects.filter(sender=sender).count() == 2


def test_a_removed_number_is_refused_once_its_remembered_entry_is_older_than_the_setting(
    sender, monkeypatch, settings
) -> None:
    from django.utils import timezone

    from messaging.numbers import services as number_services

    settings.WEBHOOK_SENDER_CACHE_SECONDS = 5.0
    clock = [1000.0]
    monkeypatch.setattr(number_services, "_receiver_clock", lambda: clock[0])
    assert _post_empty_batch(sender).status_code == 200
    long_ago = timezone.now() - timedelta(days=number_services.REMOVED_NUMBER_WEBHOOK_DAYS + 1)
    Sender.objects.filter(pk=sender.pk).update(removed_at=long_ago)

    clock[0] += 5.1

    assert _post_empty_batch(sender).status_code == 404
    assert WebhookEvent.objects.filter(sender=sender).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_remembered_number_deleted_since_is_a_404_not_a_500(sender) -> None:
    assert _post_empty_batch(sender).status_code == 200  # remembered
    WebhookEvent.objects.all().delete()
    Sender.objects.filter(pk=sender.pk).delete()

    assert _post_empty_batch(sender).status_code == 404
    assert not WebhookEvent.objects.exists()


def test_account_ban_marks_every_number_of_the_account_and_tells_the_user(
    sender, workspace, django_capture_on_commit_callbacks
) -> None:
    sibling = Sender.objects.create(
        workspace=workspace,
        provider=Sender.Provider.CLOUD_API,
        phone_number="+994501112299",
        phone_number_id="106540352242999",
        waba_id=sender.waba_id,
        status=Sender.Status.ACTIVE,
        credentials_encrypted=encrypt_json({"access_token": "t", "app_secret": APP_SECRET}),
    )
    payload = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": sender.waba_id,
                "time": 1700000000,
                "changes": [
                    {
                        "field": "account_update",
                        "value": {
                            "phone_number": "994501112233",
                            "event": "DISABLED_UPDATE",
                            "ban_info": {
                                "waba_ban_state": "DISABLE",
                                "waba_ban_date": "2026-11-23",
                            },
                        },
                    }
                ],
            }
        ],
    }
    body = json.dumps(payload).encode()

    with django_capture_on_commit_callbacks(execute=True):
        Client().post(
            _url(sender),
            body,
            content_type="application/json",
            HTTP_X_HUB_SIGNATURE_256=_sign(body),
        )

    sender.refresh_from_db()
    sibling.refresh_from_db()
    assert (sender.status, sibling.status) == (Sender.Status.BANNED, Sender.Status.BANNED)
    notice = Notification.objects.get(workspace=workspace, kind="number.blocked")
    assert "+994501112233" in notice.text
    assert "credits stay" in notice.text
    # Meta's event name means nothing to the owner: the notice says what happened
    assert "Meta disabled the WhatsApp Business account" in notice.text
    assert "DISABLED_UPDATE" not in notice.text
    with translation.override("ru"):
        assert "DISABLED_UPDATE" not in notice.display_text


def test_a_broker_outage_still_stores_and_answers_200_and_the_sweep_queues_it_later(
    sender, monkeypatch, django_capture_on_commit_callbacks
) -> None:
    """Meta retries anything but a 2xx: a 500 while Redis is down would store the event twice."""
    from kombu.exceptions import OperationalError

    from messaging.numbers import services as number_services
    from messaging.numbers import tasks as number_tasks

    def broker_down(**_kwargs: object) -> None:
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(number_tasks.webhook_events_drain_task, "delay", broker_down)
    body = json.dumps({"object": "whatsapp_business_account", "entry": []}).encode()

    with django_capture_on_commit_callbacks(execute=True):
        response = Client().post(
            _url(sender), body, content_type="application/json",
            HTTP_X_HUB_SIGNATURE_256=_sign(body),
        )  # fmt: skip

    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert event.state == WebhookEvent.State.RECEIVED
    # The broker is back: the sweep queues what was left waiting, exactly once.
    monkeypatch.undo()
    WebhookEvent.objects.filter(pk=event.pk).update(
        received_at=event.received_at - timedelta(minutes=5)
    )
    number_services.webhook_events_requeue_stale(older_than_seconds=60)
    event.refresh_from_db()
    assert event.state != WebhookEvent.State.RECEIVED
    assert WebhookEvent.objects.count() == 1


def test_a_number_removed_lately_still_takes_its_reports_and_the_stops_sent_to_it(
    sender, workspace, owner, django_capture_on_commit_callbacks
) -> None:
    """Removed (or replaced) a minute ago: its webhooks were a 404, so a failure of what it had
    sent was never refunded, and a STOP sent to it never opted the person out."""
    from messaging.campaigns.models import Message
    from messaging.contacts.models import Contact
    from messaging.numbers.services import sender_remove

    contact = Contact.objects.create(workspace=workspace, phone="+994507654321")
    message = Message.objects.create(
        workspace=workspace,
        sender=sender,
        contact=contact,
        phone=contact.phone,
        status=Message.Status.ACCEPTED,
        provider_message_id="wamid.LATE",
    )
    sender_remove(workspace=workspace, actor=owner, sender=sender)
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "994501112233",
                     "phone_number_id": sender.phone_number_id},
        "contacts": [{"profile": {"name": "Aysel"}, "wa_id": "994507654321"}],
        "statuses": [{"id": "wamid.LATE", "status": "failed", "timestamp": "1700000000",
                      "recipient_id": "994507654321",
                      "errors": [{"code": 131026, "title": "Message undeliverable"}]}],
        "messages": [{"from": "994507654321", "id": "wamid.STOP", "timestamp": "1700000001",
                      "type": "text", "text": {"body": "STOP"}}],
    }  # fmt: skip
    body = json.dumps(
        {"object": "whatsapp_business_account",
         "entry": [{"id": sender.waba_id, "changes": [{"field": "messages", "value": value}]}]}
    ).encode()  # fmt: skip

    with django_capture_on_commit_callbacks(execute=True):
        assert _post_raw(sender, body).status_code == 200

    message.refresh_from_db()
    contact.refresh_from_db()
    assert message.status == Message.Status.FAILED
    assert contact.opted_out_at is not None
