"""How the integrations app's audit actions read to a person (see `accounts.presenters`)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy

AUDIT_SENTENCES: dict[str, Any] = {
    "webhook.endpoint.created": gettext_lazy("Webhook endpoint %(target)s added"),
    "webhook.endpoint.changed": gettext_lazy("Webhook endpoint %(target)s changed"),
    "webhook.endpoint.deleted": gettext_lazy("Webhook endpoint %(target)s deleted"),
    "webhook.endpoint.enabled": gettext_lazy("Webhook endpoint %(target)s turned on"),
    "webhook.endpoint.disabled": gettext_lazy("Webhook endpoint %(target)s turned off"),
    "webhook.endpoint.secret_rotated": gettext_lazy(
        "Signing secret of webhook endpoint %(target)s renewed"
    ),
}
