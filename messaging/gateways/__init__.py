"""Gateway adapters: plain data in, one :class:`~messaging.gateways.base.Outcome` per message out.

This package knows nothing of Django models or settings; callers pass credentials and config.
"""

from messaging.gateways.base import (
    AccountEffect,
    AccountEvent,
    CloudApiCredentials,
    DeliveryStatus,
    ErrorEvent,
    Event,
    GatewayAdapter,
    HttpTransport,
    InboundMessageEvent,
    OutboundMessage,
    Outcome,
    OutcomeKind,
    ProviderError,
    StatusEvent,
    Timeouts,
    WebGatewayCredentials,
    classify_error_code,
)

__all__ = [
    "AccountEffect",
    "AccountEvent",
    "CloudApiCredentials",
    "DeliveryStatus",
    "ErrorEvent",
    "Event",
    "GatewayAdapter",
    "HttpTransport",
    "InboundMessageEvent",
    "OutboundMessage",
    "Outcome",
    "OutcomeKind",
    "ProviderError",
    "StatusEvent",
    "Timeouts",
    "WebGatewayCredentials",
    "classify_error_code",
]
