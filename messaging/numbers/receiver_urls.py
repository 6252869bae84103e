"""Webhook receivers for the numbers' gateways (`messaging_webhooks` namespace): public URLs,
verified by signature."""

from django.urls import path

from messaging.numbers import webhooks

app_name = "messaging_webhooks"

urlpatterns = [
    path("webhooks/whatsapp/<uuid:sender_id>/", webhooks.whatsapp_webhook, name="webhook_whatsapp"),
    path(
        "webhooks/web-gateway/<uuid:sender_id>/",
        webhooks.web_gateway_webhook,
        name="webhook_web_gateway",
    ),
]
