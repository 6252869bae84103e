"""Staff work in Django admin: confirm a bank transfer (twice is once), reject with a reason,
every billing model has a working changelist."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Notification, User, Workspace
from billing import services
from billing.models import CreditLot, LedgerEntry, Order, Package, Payment

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(staff: User) -> Client:
    client = Client()
    client.force_login(staff)
    return client


def _pending(workspace: Workspace, package: Package, owner: User) -> Order:
    return services.order_create(
        workspace=workspace, package=package, method=Order.Method.BANK_TRANSFER, actor=owner
    )


def test_confirm_action_clicked_twice_activates_credits_once(
    workspace: Workspace, package: Package, owner: User, staff: User, staff_client: Client
) -> None:
    order = _pending(workspace, package, owner)
    url = reverse("admin:billing_order_changelist")
    data = {
        "action": "confirm_bank_transfer",
        "_selected_action": [order.pk],
        "received_at": "2026-03-02 10:30:00",
        "amount": "",
    }

    form = staff_client.post(
        url, {"action": "confirm_bank_transfer", "_selected_action": [order.pk]}
    )
    first = staff_client.post(url, data)
    second = staff_client.post(url, data)

    order.refresh_from_db()
    payment = Payment.objects.get(order=order)
    assert form.status_code == 200
    assert (first.status_code, second.status_code) == (302, 302)
    assert (order.status, order.confirmed_by) == (Order.Status.PAID, staff)
    assert (payment.amount, payment.recorded_by) == (Decimal("59.00"), staff)
    assert timezone.localtime(payment.received_at).strftime("%Y-%m-%d %H:%M") == "2026-03-02 10:30"
    assert CreditLot.objects.filter(order=order).count() == 1
    assert LedgerEntry.objects.filter(kind=LedgerEntry.Kind.PURCHASE).count() == 1
    assert services.credits_balance(workspace=workspace) == services.Balance(1000, 0)


def test_reject_action_asks_for_a_reason_then_rejects(
    workspace: Workspace, package: Package, owner: User, staff_client: Client
) -> None:
    order = _pending(workspace, package, owner)
    url = reverse("admin:billing_order_changelist")

    form = staff_client.post(url, {"action": "reject_orders", "_selected_action": [order.pk]})
    done = staff_client.post(
        url,
        {"action": "reject_orders", "_selected_action": [order.pk], "reason": "wrong amount"},
    )

    order.refresh_from_db()
    assert form.status_code == 200
    assert order.payment_reference in form.content.decode()
    assert done.status_code == 302
    assert (order.status, order.status_reason) == (Order.Status.REJECTED, "wrong amount")
    assert Notification.objects.filter(workspace=workspace, kind="billing.rejected").count() == 1


@pytest.mark.parametrize(
    "model",
    [
        "package",
        "order",
        "payment",
        "creditlot",
        "ledgerentry",
        "creditbalance",
        "reservation",
        "invoice",
        "invoicecounter",
        "stripeevent",
        "billingsettings",
    ],
)
def test_every_billing_changelist_renders(
    model: str, staff_client: Client, workspace: Workspace, package: Package, staff: User
) -> None:
    order = _pending(workspace, package, staff)
    services.order_confirm_bank_transfer(order=order, actor=staff)
    services.credits_reserve(workspace=workspace, amount=1, reference="r", idempotency_key="r")

    response = staff_client.get(reverse(f"admin:billing_{model}_changelist") + "?q=a")

    assert response.status_code == 200


def test_staff_adjust_credits_from_the_balance_changelist(
    workspace: Workspace, staff: User, staff_client: Client
) -> None:
    services.credits_adjust(workspace=workspace, amount=10, reason="seed", actor=staff)
    balance_pk = workspace.credit_balance.pk
    url = reverse("admin:billing_creditbalance_changelist")

    form = staff_client.post(url, {"action": "adjust_credits", "_selected_action": [balance_pk]})
    done = staff_client.post(
        url,
        {
            "action": "adjust_credits",
            "_selected_action": [balance_pk],
            "amount": "25",
            "reason": "goodwill after an outage",
        },
    )

    assert form.status_code == 200
    assert done.status_code == 302
    assert services.credits_balance(workspace=workspace) == services.Balance(35, 0)
    entry = LedgerEntry.objects.filter(kind=LedgerEntry.Kind.ADJUSTMENT).first()
    assert (entry.amount, entry.reason, entry.actor) == (25, "goodwill after an outage", staff)
