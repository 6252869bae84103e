"""Integrations' privacy door: what the privacy app may do with integrations' data.

Privacy finds this module at start-up (`privacy.registry`) and calls these functions; they
follow `privacy.registry.PrivacyDoor` without importing privacy. Webhook endpoints and their
deliveries belong to a workspace and go with it."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

from django.apps import apps
from django.db import models
from django.db.models import F, Q
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from accounts.models import User, Workspace
from accounts.tenancy import workspace_rows_delete
from integrations.models import WebhookDelivery, WebhookEndpoint

ExportRows = Callable[[], Iterable[Mapping[str, Any]]]

#: Rows fetched per round trip (the delivery log grows without bound).
EXPORT_CHUNK = 2000

#: Webhook endpoints, without their signing secrets (never exported: they are credentials).
ENDPOINT_FIELDS = [
    "workspace_slug",
    "public_id",
    "url",
    "description",
    "event_types",
    "is_active",
    "disabled_at",
    "disabled_reason",
    "last_success_at",
    "last_failure_at",
    "created_at",
    "updated_at",
]
#: Each event sent (or to be sent) to an endpoint, and how its delivery went.
DELIVERY_FIELDS = [
    "workspace_slug",
    "public_id",
    "endpoint_public_id",
    "endpoint_url",
    "event",
    "event_type",
    "payload",
    "status",
    "attempts",
    "first_attempt_at",
    "last_attempt_at",
    "last_status_code",
    "last_error",
    "response_body",
    "created_at",
    "delivered_at",
]


def _rows_of(
    model: type[models.Model],
    workspace_ids: list[int],
    fields: list[str],
    computed: Mapping[str, Any],
) -> ExportRows:
    """Read when the export builds the section, from a server-side cursor in chunks."""

    def rows() -> Iterator[dict[str, Any]]:
        return (
            model._base_manager.filter(workspace_id__in=workspace_ids)
            .order_by("pk")
            .values(*(f for f in fields if f not in computed), **computed)
            .iterator(chunk_size=EXPORT_CHUNK)
        )

    return rows


def export_for_workspaces(*, workspace_ids: list[int]) -> list[tuple[str, ExportRows, list[str]]]:
    workspace = {"workspace_slug": F("workspace__slug")}
    return [
        (
            "webhook_endpoints",
            _rows_of(WebhookEndpoint, workspace_ids, ENDPOINT_FIELDS, workspace),
            ENDPOINT_FIELDS,
        ),
        (
            "webhook_deliveries",
            _rows_of(
                WebhookDelivery,
                workspace_ids,
                DELIVERY_FIELDS,
                {
                    **workspace,
                    "endpoint_public_id": F("endpoint__public_id"),
                    "endpoint_url": F("endpoint__url"),
                    "event": F("event_id"),
                },
            ),
            DELIVERY_FIELDS,
        ),
    ]


def export_descriptions() -> dict[str, tuple[str | Promise, dict[str, str | Promise]]]:
    """Optional door function: what each export file holds and what its columns mean, for
    the archive's README (columns every file shares are described by privacy)."""
    return {
        "webhook_endpoints": (
            _("Webhook endpoints: the addresses events are sent to (signing secrets left out)."),
            {
                "url": _("The address events are sent to."),
                "description": _("The description given to the endpoint."),
                "event_types": _(
                    'Events sent to it (JSON list; "*": every event; empty: test events only).'
                ),
                "is_active": _("Whether events are sent to it."),
                "disabled_at": _("When it was switched off, if it was."),
                "disabled_reason": _("Why it was switched off."),
                "last_success_at": _("When a delivery last succeeded."),
                "last_failure_at": _("When a delivery last failed."),
            },
        ),
        "webhook_deliveries": (
            _("Events sent to your webhook endpoints, and how each delivery went."),
            {
                "endpoint_public_id": _("The endpoint (public_id in webhook_endpoints)."),
                "endpoint_url": _("The endpoint's address."),
                "event": _("The event's id (the same in every retry)."),
                "event_type": _("What happened."),
                "payload": _("The event as it was sent (JSON)."),
                "status": _("pending, failed (will retry), succeeded or given_up."),
                "attempts": _("How many times it was sent."),
                "first_attempt_at": _("When it was first sent."),
                "last_attempt_at": _("When it was last sent."),
                "last_status_code": _("The HTTP status your server last answered."),
                "last_error": _("The last error, if the delivery failed."),
                "response_body": _("The start of your server's last answer."),
                "delivered_at": _("When it was delivered."),
            },
        ),
    }


def summary_for_workspaces(*, workspace_ids: list[int]) -> list[tuple[str, int]]:
    return []


def workspace_keeps_records(*, workspace: Workspace) -> bool:
    return False


def erase_workspace(*, workspace: Workspace) -> dict[str, int]:
    return workspace_rows_delete(
        workspace=workspace, model_classes=apps.get_app_config("integrations").get_models()
    )


def pseudonymise_person(
    *, user_id: int, workspace_ids: list[int], identifiers: list[str], pseudonym: str
) -> int:
    return 0


def recipient_phone(*, workspace: Workspace | None, phone: str) -> str | None:
    return None  # numbers are messaging's to read


def erase_recipient(
    *, workspace: Workspace | None, phone_e164: str, reason: str, actor: User | None
) -> dict[str, int]:
    """Deliveries whose payload names the number (message events carry it as "to" or "from",
    opt-outs as "phone") are deleted: the delivery log is a record of what was sent to the
    integrator, and the erased person must not stay findable in it."""
    variants = [phone_e164, phone_e164.lstrip("+")]
    mentions = Q()
    for key in ("to", "from", "phone"):
        mentions |= Q(**{f"payload__data__{key}__in": variants})
    deliveries = WebhookDelivery.objects.filter(mentions)
    if workspace is not None:
        deliveries = deliveries.filter(workspace=workspace)
    deleted, _per_model = deliveries.delete()
    return {"webhook_deliveries": deleted} if deleted else {}


def purge_message_bodies(*, now: datetime, batch: int) -> int:
    return 0
