"""Integrations' privacy door: what the privacy app may do with integrations' data.

Privacy finds this module at start-up (`privacy.registry`) and calls these functions; they
follow `privacy.registry.PrivacyDoor` without importing privacy. Webhook endpoints and their
deliveries belong to a workspace and go with it."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from django.apps import apps
from django.db.models import Q

from accounts.models import User, Workspace
from accounts.tenancy import workspace_rows_delete
from integrations.models import WebhookDelivery

ExportRows = Callable[[], Iterable[Mapping[str, Any]]]


def export_for_workspaces(*, workspace_ids: list[int]) -> list[tuple[str, ExportRows, list[str]]]:
    return []


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
