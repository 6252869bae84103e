"""Billing's privacy door: what the privacy app may do with billing's personal data.

Privacy finds this module at start-up (`privacy.registry`) and calls these functions; they
follow `privacy.registry.PrivacyDoor` without importing privacy. Orders, invoices and payments
are kept for five years by tax law: a workspace that has any billing rows stays as a nameless
tombstone holding them, and an erased person's identifiers in them are replaced by a
pseudonym. Writes run inside privacy's transaction."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

from django.apps import apps
from django.db import models
from django.db.models import F
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from accounts.models import User, Workspace
from billing.models import Invoice, LedgerEntry, Order
from billing.selectors import credits_held_by_workspaces

#: Rows fetched per round trip: memory stays flat however many rows a workspace has.
EXPORT_CHUNK = 2000

# Columns of each export section. Workspaces are named by their slug (the /w/<slug>/ of their
# pages), records by their public numbers and ids, never by internal integer keys.
ORDER_FIELDS = [
    "workspace_slug",
    "public_id",
    "payment_reference",
    "package_name",
    "credits",
    "validity_days",
    "amount",
    "currency",
    "method",
    "status",
    "status_reason",
    "buyer_company",
    "buyer_address",
    "buyer_tax_id",
    "buyer_email",
    "created_at",
    "confirmed_at",
]
INVOICE_FIELDS = [
    "workspace_slug",
    "public_id",
    "number",
    "order_payment_reference",
    "issued_at",
    "seller_name",
    "seller_address",
    "seller_tax_id",
    "buyer_name",
    "buyer_address",
    "buyer_tax_id",
    "lines",
    "net",
    "vat_rate",
    "vat",
    "total",
    "currency",
]
#: Every change of the workspace's credits. Not the per-lot allocations: they name internal
#: rows; `order` says which purchase's credits moved.
LEDGER_FIELDS = [
    "workspace_slug",
    "created_at",
    "kind",
    "amount",
    "reserved_delta",
    "reference",
    "order",
    "reason",
]

ExportRows = Callable[[], Iterable[Mapping[str, Any]]]


def _rows_of(
    model: type[models.Model],
    workspace_ids: list[int],
    fields: list[str],
    computed: dict[str, Any],
) -> ExportRows:
    """The section's rows, read when the export builds that section, from a server-side
    cursor in chunks (one query, never one per row). `computed` names the columns read
    through a relation (the workspace's slug, a package's name)."""

    def rows() -> Iterator[dict[str, Any]]:
        plain = [f for f in fields if f not in computed]
        return (
            model._default_manager.filter(workspace_id__in=workspace_ids)
            .order_by("pk")
            .values(*plain, **computed)
            .iterator(chunk_size=EXPORT_CHUNK)
        )

    return rows


_WORKSPACE = {"workspace_slug": F("workspace__slug")}


def export_for_workspaces(*, workspace_ids: list[int]) -> list[tuple[str, ExportRows, list[str]]]:
    return [
        (
            "orders",
            _rows_of(
                Order,
                workspace_ids,
                ORDER_FIELDS,
                {**_WORKSPACE, "package_name": F("package__name")},
            ),
            ORDER_FIELDS,
        ),
        (
            "invoices",
            _rows_of(
                Invoice,
                workspace_ids,
                INVOICE_FIELDS,
                {**_WORKSPACE, "order_payment_reference": F("order__payment_reference")},
            ),
            INVOICE_FIELDS,
        ),
        (
            "credits_ledger",
            _rows_of(
                LedgerEntry,
                workspace_ids,
                LEDGER_FIELDS,
                {**_WORKSPACE, "order": F("lot__order__payment_reference")},
            ),
            LEDGER_FIELDS,
        ),
    ]


def export_descriptions() -> dict[str, tuple[str | Promise, dict[str, str | Promise]]]:
    """Optional door function: what each export file holds and what its columns mean, for
    the archive's README (columns every file shares are described by privacy)."""
    return {
        "orders": (
            _("Packages of message credits ordered, paid or not."),
            {
                "payment_reference": _("The order's payment reference (on bank transfers)."),
                "package_name": _("The package ordered."),
                "credits": _("Message credits the package gives."),
                "validity_days": _("Days the credits stay valid after payment."),
                "amount": _("Price of the order, VAT included."),
                "currency": _("Currency of the amounts (ISO 4217)."),
                "method": _("How it is paid: card or bank transfer."),
                "status": _("pending, paid, failed, cancelled or rejected."),
                "status_reason": _("Why the order was rejected or cancelled, if said."),
                "buyer_company": _("Buyer's company, as entered for the invoice."),
                "buyer_address": _("Buyer's address, as entered for the invoice."),
                "buyer_tax_id": _("Buyer's tax ID (VÖEN), as entered for the invoice."),
                "buyer_email": _("E-mail address the order was placed with."),
                "confirmed_at": _("When the payment was confirmed."),
            },
        ),
        "invoices": (
            _("Invoices issued for paid orders."),
            {
                "number": _("Invoice number."),
                "order_payment_reference": _("Payment reference of the order it is for."),
                "issued_at": _("Date of issue."),
                "seller_name": _("Seller's name."),
                "seller_address": _("Seller's address."),
                "seller_tax_id": _("Seller's tax ID."),
                "buyer_name": _("Buyer's name."),
                "buyer_address": _("Buyer's address."),
                "buyer_tax_id": _("Buyer's tax ID."),
                "lines": _("The invoice lines (JSON: description, quantity, unit price, net)."),
                "net": _("Amount before VAT."),
                "vat_rate": _("VAT rate (0.18 is 18%)."),
                "vat": _("VAT amount."),
                "total": _("Amount with VAT."),
                "currency": _("Currency of the amounts (ISO 4217)."),
            },
        ),
        "credits_ledger": (
            _("Every change of the workspace's message credits, oldest first."),
            {
                "kind": _(
                    "purchase, reservation, consumption, release, expiry, adjustment, "
                    "revocation or refund."
                ),
                "amount": _("Credits added (positive) or taken (negative)."),
                "reserved_delta": _("Change in credits set aside for work in progress."),
                "reference": _(
                    "What it was for: campaign:<id> or message:<id> (public ids), or an "
                    "order's payment reference."
                ),
                "order": _("Payment reference of the order whose credits moved, if any."),
                "reason": _("Reason given for an adjustment or revocation."),
            },
        ),
    }


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
