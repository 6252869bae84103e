"""The activity log writes an order's amount as money is written on the order's own pages: with
its currency and the reader's decimal separator ("25,00 ₼" in Russian and Azerbaijani,
"AZN 25.00" in English). It read "Заказ ... оформлен (25.00)": no currency, a decimal point."""

from __future__ import annotations

import html
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import User, Workspace
from accounts.services import audit_record
from billing import services
from billing.models import Order, Package

pytestmark = pytest.mark.django_db

NBSP = "\xa0"


def _order(workspace: Workspace, owner: User, currency: str = "AZN") -> Order:
    package = Package.objects.create(
        name="Start", credits=500, validity_days=30, price=Decimal("25.00"), currency=currency
    )
    return services.order_create(
        workspace=workspace,
        package=package,
        method=Order.Method.BANK_TRANSFER,
        actor=owner,
        buyer_company="Şəki Xalça MMC",
    )


def _activity(client: Client, workspace: Workspace, language: str) -> list[str]:
    response = client.get(
        reverse("accounts:activity", args=[workspace.slug]), HTTP_ACCEPT_LANGUAGE=language
    )
    assert response.status_code == 200
    body = response.content.decode().split('data-testid="activity"', 1)[1]
    cells = re.findall(r"<td>(.*?)</td>", body.split("</tbody>", 1)[0])
    return [html.unescape(cell) for cell in cells]


@pytest.mark.parametrize(
    ("language", "sentence"),
    [
        ("ru", "Заказ {ref} оформлен (25,00{nbsp}₼)"),
        ("az", "{ref} sifarişi verildi (25,00{nbsp}₼)"),
        ("en", "Order {ref} placed (AZN{nbsp}25.00)"),
    ],
)
def test_an_order_placed_shows_its_amount_with_the_currency_the_reader_s_way(
    member_client: Client, workspace: Workspace, owner: User, language: str, sentence: str
) -> None:
    order = _order(workspace, owner)

    cells = _activity(member_client, workspace, language)

    assert sentence.format(ref=order.payment_reference, nbsp=NBSP) in cells


@pytest.mark.parametrize(("language", "amount"), [("ru", f"25,00{NBSP}$"), ("en", "$25.00")])
def test_an_order_recorded_before_the_currency_was_kept_takes_its_order_s(
    member_client: Client, workspace: Workspace, owner: User, language: str, amount: str
) -> None:
    order = _order(workspace, owner, currency="USD")
    # as order_create recorded it until now: the amount alone
    audit_record(
        workspace=workspace,
        action="billing.order.created",
        actor=owner,
        target=order,
        details={"package": "Start", "method": "bank_transfer", "amount": "25.00"},
    )

    cells = _activity(member_client, workspace, language)

    placed = [cell for cell in cells if order.payment_reference in cell]
    assert len(placed) == 2
    assert all(cell.endswith(f"({amount})") for cell in placed), placed


def test_reading_old_orders_currencies_costs_one_query_whatever_the_page_holds(
    member_client: Client, workspace: Workspace, owner: User
) -> None:
    def record_old() -> None:
        order = _order(workspace, owner)
        audit_record(
            workspace=workspace,
            action="billing.order.created",
            target=order,
            details={"amount": "25.00"},
        )

    record_old()
    with CaptureQueriesContext(connection) as one:
        _activity(member_client, workspace, "en")
    for _ in range(10):
        record_old()
    with CaptureQueriesContext(connection) as eleven:
        cells = _activity(member_client, workspace, "en")

    assert len(eleven) == len(one)
    assert sum(f"(AZN{NBSP}25.00)" in cell for cell in cells) == 22
