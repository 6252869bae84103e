"""Row locks for billing, always taken in one global order so two transactions can never wait
on each other in a cycle: order -> credit balance -> lots (by pk) -> reservation -> invoice
counter. Within one kind, rows are locked in pk order (`order_by("pk")`), because Postgres
takes `FOR UPDATE` locks in the order the rows are read."""

from __future__ import annotations

from django.db.models import QuerySet

from billing.models import CreditBalance, CreditLot, InvoiceCounter, Order, Reservation


def order_lock(*, order_id: int) -> Order:
    return Order.objects.select_for_update().get(pk=order_id)


def balance_lock(*, workspace_id: int) -> CreditBalance:
    """The workspace's balance row, created on first use. Holding it serialises every credit
    change of that workspace, which is what keeps the balance and the ledger in step."""
    balance = CreditBalance.objects.select_for_update().filter(workspace_id=workspace_id).first()
    if balance is None:
        # ON CONFLICT DO NOTHING: a concurrent first use waits for the other insert, not fails.
        CreditBalance.objects.bulk_create(
            [CreditBalance(workspace_id=workspace_id)], ignore_conflicts=True
        )
        balance = CreditBalance.objects.select_for_update().get(workspace_id=workspace_id)
    return balance


def lots_lock(queryset: QuerySet[CreditLot]) -> list[CreditLot]:
    return list(queryset.select_for_update().order_by("pk"))


def reservation_lock(*, workspace_id: int, reference: str) -> Reservation | None:
    return (
        Reservation.objects.select_for_update()
        .filter(workspace_id=workspace_id, reference=reference)
        .first()
    )


def invoice_counter_lock(*, year: int) -> InvoiceCounter:
    InvoiceCounter.objects.bulk_create([InvoiceCounter(year=year)], ignore_conflicts=True)
    return InvoiceCounter.objects.select_for_update().get(year=year)
