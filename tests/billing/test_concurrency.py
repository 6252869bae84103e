"""Concurrency against the real Postgres: many threads, each on its own connection."""

from __future__ import annotations

import threading
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.db import close_old_connections, connection, connections

from accounts.models import Workspace
from billing import services
from billing.checks import ledger_mismatches
from billing.models import CreditLot, Invoice, LedgerEntry, Order, Package, Payment, Reservation
from tests.factories import UserFactory, WorkspaceFactory


def _run_threads(count: int, work: Callable[[int], object]) -> list[object]:
    """Start `count` threads together; each returns its result or the exception it raised."""
    results: list[object] = [None] * count
    barrier = threading.Barrier(count)

    def target(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = work(i)
        except Exception as exc:  # noqa: BLE001 - collected for the assertions
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a thread is stuck (deadlock?)"
    close_old_connections()
    return results


@pytest.mark.django_db(transaction=True)
def test_fifty_threads_reserving_never_overdraw(buy: Callable[..., CreditLot]) -> None:
    # given: 1000 credits in two lots; 50 threads each want 30 (only 33 can succeed)
    workspace = WorkspaceFactory()
    buy(workspace, credits=600, days=60)
    buy(workspace, credits=400, days=10)

    # when
    results = _run_threads(
        50,
        lambda i: services.credits_reserve(
            workspace=Workspace.objects.get(pk=workspace.pk),
            amount=30,
            reference=f"campaign:{i}",
            idempotency_key=f"reserve:{i}",
        ),
    )

    # then
    ok = [r for r in results if isinstance(r, Reservation)]
    refused = [r for r in results if isinstance(r, services.InsufficientCredits)]
    assert len(ok) == 33
    assert len(refused) == 17
    assert all("needs 30 credits, has 10" in str(r) for r in refused)
    assert services.credits_balance(workspace=workspace) == services.Balance(10, 990)
    assert LedgerEntry.objects.filter(kind=LedgerEntry.Kind.RESERVATION).count() == 33
    assert ledger_mismatches() == []
    connections.close_all()


@pytest.mark.django_db(transaction=True)
def test_bank_transfer_confirmed_from_two_threads_activates_once() -> None:
    workspace = WorkspaceFactory()
    staff = UserFactory(is_staff=True)
    package = Package.objects.create(name="P", credits=500, validity_days=30, price=Decimal("25"))
    order = services.order_create(
        workspace=workspace, package=package, method=Order.Method.BANK_TRANSFER, actor=staff
    )

    results = _run_threads(
        2,
        lambda _i: services.order_confirm_bank_transfer(
            order=Order.objects.get(pk=order.pk), actor=staff
        ),
    )

    assert all(isinstance(r, Order) for r in results), results
    assert services.credits_balance(workspace=workspace) == services.Balance(500, 0)
    assert Payment.objects.filter(order=order).count() == 1
    assert CreditLot.objects.filter(order=order).count() == 1
    assert Invoice.objects.filter(order=order).count() == 1
    assert ledger_mismatches() == []
    connections.close_all()


@pytest.mark.django_db(transaction=True)
def test_invoice_numbers_stay_gapless_under_concurrent_payments() -> None:
    # given: 20 orders in 5 workspaces
    staff = UserFactory(is_staff=True)
    package = Package.objects.create(name="P", credits=10, validity_days=30, price=Decimal("5"))
    orders = [
        services.order_create(
            workspace=WorkspaceFactory(),
            package=package,
            method=Order.Method.BANK_TRANSFER,
            actor=staff,
        )
        for _i in range(20)
    ]

    # when: all are confirmed at once
    results = _run_threads(
        20,
        lambda i: services.order_confirm_bank_transfer(
            order=Order.objects.get(pk=orders[i].pk), actor=staff
        ),
    )

    # then: numbers 1..20 of this year, no gap, no duplicate
    assert all(isinstance(r, Order) for r in results), results
    invoices = list(Invoice.objects.order_by("seq"))
    assert [i.seq for i in invoices] == list(range(1, 21))
    year = invoices[0].year
    assert [i.number for i in invoices] == [f"ISN-{year}-{n:06d}" for n in range(1, 21)]
    connections.close_all()


@pytest.mark.django_db(transaction=True)
def test_one_idempotency_key_from_ten_threads_reserves_once(
    buy: Callable[..., CreditLot],
) -> None:
    workspace = WorkspaceFactory()
    buy(workspace, credits=100)

    results = _run_threads(
        10,
        lambda _i: services.credits_reserve(
            workspace=Workspace.objects.get(pk=workspace.pk),
            amount=40,
            reference="campaign:same",
            idempotency_key="reserve:same",
        ),
    )

    assert all(isinstance(r, Reservation) for r in results), results
    assert len({r.pk for r in results}) == 1  # type: ignore[union-attr]
    assert services.credits_balance(workspace=workspace) == services.Balance(60, 40)
    assert ledger_mismatches() == []
    connections.close_all()


@pytest.mark.django_db(transaction=True)
def test_mixed_operations_and_expiry_at_once_do_not_deadlock_or_drift(
    buy: Callable[..., CreditLot],
) -> None:
    # given: two workspaces, each with a lot that is already due to expire and a live lot
    workspaces = [WorkspaceFactory(), WorkspaceFactory()]
    for ws in workspaces:
        buy(ws, credits=300, days=30)
        due = buy(ws, credits=100, days=30)
        CreditLot.objects.filter(pk=due.pk).update(expires_at=due.created_at)

    def work(i: int) -> object:
        ws = Workspace.objects.get(pk=workspaces[i % 2].pk)
        if i % 10 == 9:
            return services.credits_expire_due()
        ref = f"c:{i}"
        services.credits_reserve(workspace=ws, amount=10, reference=ref, idempotency_key=ref)
        services.credits_consume(workspace=ws, reference=ref, amount=4, idempotency_key=f"{ref}:c")
        return services.credits_release(workspace=ws, reference=ref, idempotency_key=f"{ref}:r")

    # when: 40 threads reserve, consume and release while others sweep expiry
    results = _run_threads(40, work)

    # then: no errors; the due lots are gone; each campaign consumed 4 (20 campaigns in the
    # first workspace, 16 in the second); nothing drifted
    assert not [r for r in results if isinstance(r, Exception)], results
    first, second = (services.credits_balance(workspace=ws) for ws in workspaces)
    assert (first, second) == (services.Balance(300 - 20 * 4, 0), services.Balance(300 - 16 * 4, 0))
    assert ledger_mismatches() == []
    connections.close_all()
