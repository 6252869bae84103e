"""Reads shared by billing's pages, API and admin. Every lookup is filtered by workspace in
the query itself: another workspace's id is the same 404 as a missing one."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from uuid import UUID

from django.conf import settings
from django.db.models import QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import Workspace
from accounts.tenancy import get_for_workspace
from billing.models import (
    BillingSettings,
    CreditBalance,
    CreditLot,
    Invoice,
    LedgerEntry,
    Order,
    Package,
)


def packages_on_sale() -> QuerySet[Package]:
    return Package.objects.filter(is_active=True)


def orders_for_workspace(*, workspace: Workspace) -> QuerySet[Order]:
    return Order.objects.for_workspace(workspace).select_related("package")


def get_order_for_workspace(*, workspace: Workspace, order_id: UUID | str) -> Order:
    return get_for_workspace(Order, workspace=workspace, public_id=order_id)


def invoices_for_workspace(*, workspace: Workspace) -> QuerySet[Invoice]:
    return Invoice.objects.for_workspace(workspace).select_related("order")


def get_invoice_for_workspace(*, workspace: Workspace, invoice_id: UUID | str) -> Invoice:
    return get_for_workspace(Invoice, workspace=workspace, public_id=invoice_id)


def lots_for_workspace(*, workspace: Workspace, live_only: bool = True) -> QuerySet[CreditLot]:
    lots = CreditLot.objects.for_workspace(workspace).select_related("order")
    if live_only:
        lots = lots.filter(credits_remaining__gt=0)
    return lots.order_by("expires_at", "pk")


def ledger_for_workspace(*, workspace: Workspace, kind: str = "") -> QuerySet[LedgerEntry]:
    entries = LedgerEntry.objects.for_workspace(workspace).select_related("actor")
    if kind in LedgerEntry.Kind.values:
        entries = entries.filter(kind=kind)
    return entries.order_by("-created_at", "-pk")


def billing_settings_for(*, workspace: Workspace) -> BillingSettings:
    """Unsaved defaults when the workspace never set anything (reads never write)."""
    found = BillingSettings.objects.filter(workspace=workspace).first()
    return found or BillingSettings(workspace=workspace)


def soon_expiring_credits(*, workspace: Workspace, days: int = 7) -> int:
    horizon = timezone.now() + timedelta(days=days)
    lots = CreditLot.objects.for_workspace(workspace).filter(
        revoked_at__isnull=True, expires_at__gt=timezone.now(), expires_at__lte=horizon
    )
    return sum(lot.credits_free for lot in lots)


def _spent_rows(entries: QuerySet[LedgerEntry]) -> QuerySet[LedgerEntry]:
    return entries.filter(kind__in=[LedgerEntry.Kind.CONSUMPTION, LedgerEntry.Kind.REFUND])


def credits_spent_by_reference(*, references: Collection[str]) -> dict[str, int]:
    """Credits consumed minus refunded under each of these references (absent: none spent):
    what the engine's reconciliation compares with the messages the gateway accepted."""
    rows = (
        _spent_rows(LedgerEntry.objects.filter(reference__in=list(references)))
        .order_by()
        .values_list("reference")
        .annotate(total=Coalesce(Sum("amount"), 0))
    )
    return {reference: -total for reference, total in rows}


def credits_spent_by_workspace(*, reference_prefix: str) -> dict[int, int]:
    """Credits consumed minus refunded per workspace, over every reference with this prefix
    (e.g. the engine's single messages, each reserved under its own reference)."""
    rows = (
        _spent_rows(LedgerEntry.objects.filter(reference__startswith=reference_prefix))
        .order_by()
        .values_list("workspace_id")
        .annotate(total=Coalesce(Sum("amount"), 0))
    )
    return {workspace_id: -total for workspace_id, total in rows}


def credits_held_by_workspaces(*, workspace_ids: Collection[int]) -> dict[int, int]:
    """Credits each workspace holds (available + reserved), one query; absent: none."""
    return {
        workspace_id: available + reserved
        for workspace_id, available, reserved in CreditBalance.objects.filter(
            workspace_id__in=list(workspace_ids)
        ).values_list("workspace_id", "available", "reserved")
    }


@dataclass(frozen=True)
class CreditMoves:
    """What the ledger moved under one reference: consumed (charged when the gateway took a
    message), refunded (the message failed afterwards) and what stays used."""

    consumed: int
    refunded: int

    @property
    def used(self) -> int:
        return self.consumed - self.refunded


def credits_moved_by_reference(*, reference: str) -> CreditMoves:
    totals = dict(
        _spent_rows(LedgerEntry.objects.filter(reference=reference))
        .order_by()
        .values_list("kind")
        .annotate(total=Coalesce(Sum("amount"), 0))
    )
    return CreditMoves(
        consumed=-totals.get(LedgerEntry.Kind.CONSUMPTION, 0),
        refunded=totals.get(LedgerEntry.Kind.REFUND, 0),
    )


@dataclass(frozen=True)
class VatBreakdown:
    rate: Decimal
    net: Decimal
    vat: Decimal
    total: Decimal

    @property
    def percent(self) -> str:
        return f"{self.rate * 100:.0f}"


def vat_breakdown(total: Decimal) -> VatBreakdown:
    """A VAT-inclusive price split as the tax invoice prints it (the pro-forma shows the same
    figures before payment): net rounded to the cent, VAT the rest."""
    rate = Decimal(str(settings.INVOICE_VAT_RATE))
    net = (total / (1 + rate)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return VatBreakdown(rate=rate, net=net, vat=total - net, total=total)
