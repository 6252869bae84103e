"""How the integrations app's audit actions read to a person (see `accounts.presenters`)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _l

AUDIT_SENTENCES: dict[str, Any] = {
    "webhook.endpoint.created": _l("Webhook endpoint %(target)s added"),
    "webhook.endpoint.changed": _l("Webhook endpoint %(target)s changed"),
    "webhook.endpoint.deleted": _l("Webhook endpoint %(target)s deleted"),
    "webhook.endpoint.enabled": _l("Webhook endpoint %(target)s turned on"),
    "webhook.endpoint.disabled": _l("Webhook endpoint %(target)s turned off"),
    "webhook.endpoint.secret_rotated": _l("Signing secret of webhook endpoint %(target)s renewed"),
}
