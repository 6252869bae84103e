"""Billing's privacy door: what the privacy app may do with billing's personal data.

Privacy finds this module at start-up (`privacy.registry`) and calls these functions; they
follow `privacy.registry.PrivacyDoor` without importing privacy. Orders, invoices and payments
are kept for five years by tax law: a workspace that has any billing rows stays as a nameless
tombstone holding them, and an erased person's identifiers in them are replaced by a
pseudonym. Writes run inside privacy's transaction."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from django.apps import apps
from django.db import models

from accounts.models import User, Workspace
from billing.models import Invoice, Order
from billing.selectors import credits_held_by_workspaces

ORDER_FIELDS = [
    "workspace_id",
    "payment_reference",
    "method",
    "status",
    "currency",
    "buyer_company",
    "buyer_email",
    "created_at",
]
INVOICE_FIELDS = ["workspace_id", "number", "buyer_name", "currency"]

ExportRows = Callable[[], Iterable[Mapping[str, Any]]]


def _rows_of(model: type[models.Model], workspace_ids: list[int], fields: list[str]) -> ExportRows:
    """The section's rows, read when the export builds that section."""

    def rows() -> list[dict[str, Any]]:
        return list(
            model._default_manager.filter(workspace_id__in=workspace_ids)
            .order_by("pk")
            .values(*fields)
        )

    return rows


def export_for_workspaces(*, workspace_ids: list[int]) -> list[tuple[str, ExportRows, list[str]]]:
    return [
        ("orders", _rows_of(Order, workspace_ids, ORDER_FIELDS), ORDER_FIELDS),
        ("invoices", _rows_of(Invoice, workspace_ids, INVOICE_FIELDS), INVOICE_FIELDS),
    ]


def summary_for_workspaces(*, workspace_ids: list[int]) -> list[tuple[str, int]]:
    return [("orders", Order._base_manager.filter(workspace_id__in=workspace_ids).count())]


def _workspace_models() -> list[type[models.Model]]:
    # Every billing model tied to a workspace, so a billing table added later is kept too.
    return [
        model
        for model in apps.get_app_config("billing").get_models()
        if "workspace" in {f.name for f in model._meta.concrete_fields}
    ]


def workspace_keeps_records(*, workspace: Workspace) -> bool:
    return any(
        model._base_manager.filter(workspace=workspace).exists() for model in _workspace_models()
    )


def erase_workspace(*, workspace: Workspace) -> dict[str, int]:
    return {}  # billing rows are the records tax law keeps; the person's names are pseudonymised


def pseudonymise_person(
    *, user_id: int, workspace_ids: list[int], identifiers: list[str], pseudonym: str
) -> int:
    """In orders and invoices (kept for tax law) linked to the person by key, every `buyer_*`
    text equal to one of the person's identifiers (case-insensitive) becomes the pseudonym.

    Linked by key means: orders the person placed (`Order.created_by`, which the order form
    sets to the signed-in buyer, whose e-mail it copies into `buyer_email`) and their
    invoices, and the orders and invoices of the workspaces the person alone owned. Records of
    anyone else are never touched, even when they carry the same name, company, phone or
    e-mail: a free account could otherwise rewrite another tenant's tax records by copying
    its buyer details into its profile and deleting itself (issue #17 F1)."""
    values = [v for v in identifiers if v]
    if not values:
        return 0
    order_ids = list(
        Order._base_manager.filter(
            models.Q(created_by_id=user_id) | models.Q(workspace_id__in=workspace_ids)
        ).values_list("pk", flat=True)
    )
    if not order_ids:
        return 0
    scopes: list[tuple[type[models.Model], models.Q]] = [
        (Order, models.Q(pk__in=order_ids)),
        (Invoice, models.Q(order_id__in=order_ids)),
    ]
    changed = 0
    for model, scope in scopes:
        fields = [
            f.name
            for f in model._meta.concrete_fields
            if isinstance(f, models.CharField | models.TextField) and f.name.startswith("buyer_")
        ]
        for fname in fields:
            matches = models.Q()
            for value in values:
                matches |= models.Q(**{f"{fname}__iexact": value})
            changed += model._base_manager.filter(scope, matches).update(**{fname: pseudonym})
    return changed


def recipient_phone(*, workspace: Workspace | None, phone: str) -> str | None:
    return None  # billing keeps no recipients' numbers


def erase_recipient(
    *, workspace: Workspace | None, phone_e164: str, reason: str, actor: User | None
) -> dict[str, int]:
    return {}


def purge_message_bodies(*, now: datetime, batch: int) -> int:
    return 0


def credits_held_for_workspaces(*, workspace_ids: list[int]) -> dict[int, int]:
    """Optional door function: the credits each workspace holds, which its deletion
    forfeits (terms 6.6, "No refunds": payments are not refunded)."""
    return credits_held_by_workspaces(workspace_ids=workspace_ids)
