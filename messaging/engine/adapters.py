"""Gateway adapters for a number: its decrypted credentials, the send path's timeouts and the
adapter object (Cloud API dialect for Cloud API and sandbox numbers, WAHA for WhatsApp Web).
The engine builds its adapters here; the numbers pages use the same functions."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

from core.crypto import decrypt_json
from core.outgoing import AddressPolicy
from messaging.gateways import cloud_api, web_gateway
from messaging.gateways.base import (
    CloudApiCredentials,
    HttpTransport,
    Timeouts,
    WebGatewayCredentials,
)
from messaging.numbers.models import Sender

SANDBOX_TIMEOUTS = Timeouts(connect=3.0, total=10.0)


def send_timeouts() -> Timeouts:
    """The send path's HTTP timeouts (settings.ENGINE_SEND_TIMEOUT_SECONDS, 10 s by default)."""
    total = float(settings.ENGINE_SEND_TIMEOUT_SECONDS)
    return Timeouts(connect=min(SANDBOX_TIMEOUTS.connect, total), total=total)


def outgoing_policy() -> AddressPolicy:
    """Where gateway requests may connect: public addresses, plus the hosts the operator set
    (the sandbox and the Graph URL), plus anything when ALLOW_PRIVATE_WEBHOOK_URLS is on
    (development and tests). A WhatsApp-Web gateway's address is the user's, never trusted."""
    trusted = {
        (urlsplit(url).hostname or "").lower()
        for url in (settings.SANDBOX_GATEWAY_URL, settings.WHATSAPP_GRAPH_URL)
    }
    return AddressPolicy(
        allow_private=bool(settings.ALLOW_PRIVATE_WEBHOOK_URLS),
        trusted_hosts=frozenset(trusted - {""}),
    )


def sender_credentials(sender: Sender) -> dict[str, Any]:
    return decrypt_json(sender.credentials_encrypted)


def cloud_adapter(
    sender: Sender, *, transport: HttpTransport | None = None
) -> cloud_api.CloudApiAdapter:
    creds = sender_credentials(sender)
    base = (
        settings.SANDBOX_GATEWAY_URL
        if sender.provider == Sender.Provider.SANDBOX
        else (settings.WHATSAPP_GRAPH_URL)
    )
    return cloud_api.CloudApiAdapter(
        CloudApiCredentials(
            phone_number_id=sender.phone_number_id,
            access_token=creds["access_token"],
            app_secret=creds.get("app_secret", ""),
        ),
        base_url=base,
        api_version=settings.WHATSAPP_GRAPH_VERSION,
        timeouts=send_timeouts(),
        transport=transport,
        address_policy=outgoing_policy(),
    )


def web_adapter(
    sender: Sender, *, transport: HttpTransport | None = None
) -> web_gateway.WebGatewayAdapter:
    creds = sender_credentials(sender)
    return web_gateway.WebGatewayAdapter(
        WebGatewayCredentials(
            base_url=creds["base_url"], api_key=creds["api_key"], session=sender.web_session
        ),
        timeouts=send_timeouts(),
        transport=transport,
        address_policy=outgoing_policy(),
    )


def sender_adapter(sender: Sender, *, transport: HttpTransport | None = None) -> Any:
    """The gateway adapter for a number (create it inside the event loop that will use it).
    With `transport`, the adapter sends over that shared connection pool and leaves closing
    it to its owner (the drainer keeps one per worker thread)."""
    if sender.provider == Sender.Provider.WEB_GATEWAY:
        return web_adapter(sender, transport=transport)
    return cloud_adapter(sender, transport=transport)
