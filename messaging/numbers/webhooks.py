"""Webhook receivers: verify, store the raw body durably, queue parsing, answer 200 at once.
A forged or unsigned POST is 403 and stores nothing."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from messaging.gateways import cloud_api
from messaging.gateways.signatures import verify_waha_hmac
from messaging.numbers.models import Sender, WebhookEvent
from messaging.numbers.services import sender_credentials, webhook_event_store


def _live_sender(public_id: str, providers: set[str]) -> Sender:
    # Public URL, no workspace in the request: the sender's unguessable public id routes it.
    sender = (
        Sender.objects.filter(public_id=public_id, provider__in=providers, removed_at__isnull=True)
        .only("pk", "workspace_id", "provider", "verify_token", "credentials_encrypted")
        .first()
    )
    if sender is None:
        raise Http404
    return sender


@csrf_exempt
@require_http_methods(["GET", "POST"])
def whatsapp_webhook(request: HttpRequest, sender_id: str) -> HttpResponse:
    sender = _live_sender(sender_id, {Sender.Provider.CLOUD_API, Sender.Provider.SANDBOX})
    if request.method == "GET":
        challenge = cloud_api.verify_webhook_handshake(request.GET.dict(), sender.verify_token)
        if challenge is None:
            return HttpResponseForbidden("verification failed")
        return HttpResponse(challenge, content_type="text/plain")
    body = request.body
    secret = sender_credentials(sender).get("app_secret", "")
    if not cloud_api.verify_signature(body, request.headers.get("X-Hub-Signature-256"), secret):
        return HttpResponseForbidden("bad signature")
    webhook_event_store(sender=sender, source=WebhookEvent.Source.CLOUD_API, body=body)
    return HttpResponse("ok", content_type="text/plain")


@csrf_exempt
@require_http_methods(["POST"])
def web_gateway_webhook(request: HttpRequest, sender_id: str) -> HttpResponse:
    sender = _live_sender(sender_id, {Sender.Provider.WEB_GATEWAY})
    body = request.body
    key = sender_credentials(sender).get("hmac_key", "")
    if not verify_waha_hmac(body, request.headers.get("X-Webhook-Hmac"), key):
        return HttpResponseForbidden("bad signature")
    webhook_event_store(sender=sender, source=WebhookEvent.Source.WEB_GATEWAY, body=body)
    return HttpResponse("ok", content_type="text/plain")
