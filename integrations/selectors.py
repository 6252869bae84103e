"""Reads of outgoing webhooks shared by the dashboard, the API and tasks. Every lookup filters
by workspace in the query: another workspace's id is the same 404 as a missing one."""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from accounts.models import Workspace
from integrations.models import WebhookDelivery, WebhookEndpoint


def webhook_endpoints_of_workspace(*, workspace: Workspace) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.for_workspace(workspace).order_by("-created_at")


def get_webhook_endpoint_for_workspace(
    *, workspace: Workspace, endpoint_id: str
) -> WebhookEndpoint:
    return get_object_or_404(
        WebhookEndpoint.objects.for_workspace(workspace), public_id=endpoint_id
    )


def webhook_deliveries_of_workspace(
    *,
    workspace: Workspace,
    endpoint: WebhookEndpoint | None = None,
    status: str = "",
    event_type: str = "",
) -> QuerySet[WebhookDelivery]:
    """Newest first; optionally one endpoint's, one status, one event type."""
    qs = WebhookDelivery.objects.for_workspace(workspace).select_related("endpoint")
    if endpoint is not None:
        qs = qs.filter(endpoint=endpoint)
    if status:
        qs = qs.filter(status=status)
    if event_type:
        qs = qs.filter(event_type=event_type)
    return qs.order_by("-created_at", "-id")


def get_webhook_delivery_for_workspace(
    *, workspace: Workspace, delivery_id: str, endpoint: WebhookEndpoint | None = None
) -> WebhookDelivery:
    qs = WebhookDelivery.objects.for_workspace(workspace)
    if endpoint is not None:
        qs = qs.filter(endpoint=endpoint)
    return get_object_or_404(qs, public_id=delivery_id)
