"""Bank transfer: order with a reference, staff confirmation (idempotent), rejection."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import AuditEvent, User, Workspace
from billing import services
from billing.checks import ledger_mismatches
from billing.models import CreditLot, Invoice, LedgerEntry, Order, Package, Payment

pytestmark = pytest.mark.django_db


def _order(workspace: Workspace, package: Package, owner: User) -> Order:
    return services.order_create(
        workspace=workspace,
        package=package,
        method=Order.Method.BANK_TRANSFER,
        actor=owner,
        buyer_company="Gəncə Ticarət MMC",
        buyer_address="Bakı, Nizami küç. 1",
    )


def test_order_gets_a_readable_payment_reference(
    workspace: Workspace, package: Package, owner: User
) -> None:
    order = _order(workspace, package, owner)

    assert re.fullmatch(r"ISN-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}", order.payment_reference)
    assert (order.status, order.amount, order.currency, order.credits) == (
        Order.Status.PENDING,
        Decimal("59.00"),
        "AZN",
        1000,
    )
    assert services.credits_balance(workspace=workspace) == services.Balance(0, 0)


def test_confirming_twice_activates_credits_once(
    workspace: Workspace, package: Package, owner: User, staff: User
) -> None:
    # given
    order = _order(workspace, package, owner)

    # when: staff click "confirm" twice
    services.order_confirm_bank_transfer(order=order, actor=staff)
    services.order_confirm_bank_transfer(order=order, actor=staff)

    # then
    order.refresh_from_db()
    lot = CreditLot.objects.get(order=order)
    payment = Payment.objects.get(order=order)
    invoice = Invoice.objects.get(order=order)
    assert order.status == Order.Status.PAID
    assert (order.confirmed_by, payment.recorded_by, payment.amount) == (
        staff,
        staff,
        Decimal("59.00"),
    )
    assert order.confirmed_at is not None
    assert lot.credits_total == 1000
    assert abs((lot.expires_at - timezone.now()).days - 30) <= 1
    assert LedgerEntry.objects.filter(kind=LedgerEntry.Kind.PURCHASE).count() == 1
    assert services.credits_balance(workspace=workspace) == services.Balance(1000, 0)
    assert invoice.number == f"ISN-{timezone.now().year}-000001"
    assert (invoice.total, invoice.net, invoice.vat) == (
        Decimal("59.00"),
        Decimal("50.00"),
        Decimal("9.00"),
    )
    assert invoice.buyer_name == "Gəncə Ticarət MMC"
    assert AuditEvent.objects.filter(action="billing.credits.purchased").count() == 1
    assert ledger_mismatches() == []


def test_partial_payment_does_not_activate(
    workspace: Workspace, package: Package, owner: User, staff: User
) -> None:
    order = _order(workspace, package, owner)

    with pytest.raises(services.PaymentMismatch):
        services.order_confirm_bank_transfer(order=order, actor=staff, amount=Decimal("50.00"))

    order.refresh_from_db()
    assert order.status == Order.Status.PENDING
    assert not Payment.objects.exists()
    assert services.credits_balance(workspace=workspace) == services.Balance(0, 0)


def test_reject_needs_a_reason_and_leaves_no_credits(
    workspace: Workspace, package: Package, owner: User, staff: User
) -> None:
    order = _order(workspace, package, owner)

    services.order_reject(order=order, actor=staff, reason="no transfer received in 30 days")

    order.refresh_from_db()
    assert (order.status, order.status_reason) == (
        Order.Status.REJECTED,
        "no transfer received in 30 days",
    )
    assert not CreditLot.objects.exists()
    with pytest.raises(services.BillingError):
        services.order_reject(order=order, actor=staff, reason="again")
