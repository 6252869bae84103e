"""Webhook receivers: verify, store the raw body durably, queue parsing, answer 200 at once.
A forged or unsigned POST is 403 and stores nothing."""

from __future__ import annotations

from collections.abc import Callable

from django.db import IntegrityError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from messaging.gateways import cloud_api
from messaging.gateways.signatures import verify_waha_hmac
from messaging.numbers.models import Sender, WebhookEvent
from messaging.numbers.services import (
    ReceiverSender,
    webhook_event_store,
    webhook_receiver_sender,
)

_CLOUD_PROVIDERS = frozenset({Sender.Provider.CLOUD_API, Sender.Provider.SANDBOX})
_WEB_GATEWAY_PROVIDERS = frozenset({Sender.Provider.WEB_GATEWAY})


def _live_sender(
    public_id: str, providers: frozenset[str], *, fresh: bool = False
) -> ReceiverSender:
    # Public URL, no workspace in the request: the sender's unguessable public id routes it.
    sender = webhook_receiver_sender(public_id=public_id, providers=providers, fresh=fresh)
    if sender is None:
        raise Http404
    return sender


def _verified_sender(
    public_id: str, providers: frozenset[str], verify: Callable[[ReceiverSender], bool]
) -> ReceiverSender | None:
    """The number, if the body's signature holds against its secret. A remembered secret
    that fails is read again: the user may have just rotated it."""
    sender = _live_sender(public_id, providers)
    if verify(sender):
        return sender
    sender = _live_sender(public_id, providers, fresh=True)
    return sender if verify(sender) else None


def _store(
    public_id: str, providers: frozenset[str], sender: ReceiverSender, source: str, body: bytes
) -> None:
    try:
        webhook_event_store(sender=sender, source=source, body=body)
    except IntegrityError:
        # A remembered number deleted since (its workspace erased): 404 as for any unknown
        # number, not a 500 that Meta would retry.
        if webhook_receiver_sender(public_id=public_id, providers=providers, fresh=True) is None:
            raise Http404 from None
        raise


@csrf_exempt
@require_http_methods(["GET", "POST"])
def whatsapp_webhook(request: HttpRequest, sender_id: str) -> HttpResponse:
    if request.method == "GET":
        number = _live_sender(sender_id, _CLOUD_PROVIDERS, fresh=True)
        challenge = cloud_api.verify_webhook_handshake(request.GET.dict(), number.verify_token)
        if challenge is None:
            return HttpResponseForbidden("verification failed")
        return HttpResponse(challenge, content_type="text/plain")
    body = request.body
    signature = request.headers.get("X-Hub-Signature-256")
    sender = _verified_sender(
        sender_id,
        _CLOUD_PROVIDERS,
        lambda s: cloud_api.verify_signature(body, signature, s.credentials.get("app_secret", "")),
    )
    if sender is None:
        return HttpResponseForbidden("bad signature")
    _store(sender_id, _CLOUD_PROVIDERS, sender, WebhookEvent.Source.CLOUD_API, body)
    return HttpResponse("ok", content_type="text/plain")


@csrf_exempt
@require_http_methods(["POST"])
def web_gateway_webhook(request: HttpRequest, sender_id: str) -> HttpResponse:
    body = request.body
    signature = request.headers.get("X-Webhook-Hmac")
    sender = _verified_sender(
        sender_id,
        _WEB_GATEWAY_PROVIDERS,
        lambda s: verify_waha_hmac(body, signature, s.credentials.get("hmac_key", "")),
    )
    if sender is None:
        return HttpResponseForbidden("bad signature")
    _store(sender_id, _WEB_GATEWAY_PROVIDERS, sender, WebhookEvent.Source.WEB_GATEWAY, body)
    return HttpResponse("ok", content_type="text/plain")
