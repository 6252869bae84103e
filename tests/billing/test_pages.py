"""Billing pages: who may see and buy, cross-tenant 404s, invoices (HTML and PDF), ledger
filter and CSV, the low-balance banner, and the API."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse
from reportlab.pdfbase import pdfmetrics

from accounts.models import Membership, User, Workspace
from accounts.permissions import Role
from billing import pdf, services
from billing.models import CreditLot, Invoice, Order, Package

pytestmark = pytest.mark.django_db


def _url(name: str, workspace: Workspace, **kwargs: object) -> str:
    return reverse(f"billing:{name}", kwargs={"workspace_slug": workspace.slug, **kwargs})


def _buy_form(package: Package) -> dict[str, object]:
    return {
        "package": package.pk,
        "method": "bank_transfer",
        "buyer_company": "Şəki Xalça MMC",
        "buyer_address": "Şəki, Azərbaycan",
        "accept_no_refund": "on",
    }


def test_owner_buys_by_bank_transfer_and_sees_the_proforma(
    workspace: Workspace, package: Package, member_client: Client
) -> None:
    pricing = member_client.get(_url("pricing", workspace))
    response = member_client.post(_url("buy", workspace), _buy_form(package))

    order = Order.objects.get(workspace=workspace)
    assert "All payments are non-refundable." in pricing.content.decode()
    assert response.status_code == 302
    assert response["Location"] == _url("order", workspace, order_id=order.public_id)
    assert (order.method, order.status, order.buyer_company) == (
        "bank_transfer",
        "pending",
        "Şəki Xalça MMC",
    )
    proforma = member_client.get(_url("order_proforma", workspace, order_id=order.public_id))
    assert proforma.status_code == 200
    assert order.payment_reference in proforma.content.decode()
    assert "AZN\xa059.00" in proforma.content.decode()
    # the same VAT split as the tax invoice will print (18% included in 59.00)
    vat_rows = proforma.content.decode().split('data-testid="proforma-vat"')[1]
    assert "AZN\xa050.00" in vat_rows
    assert "VAT 18%" in vat_rows
    assert "AZN\xa09.00" in vat_rows


def test_buying_requires_accepting_the_no_refund_rule(
    workspace: Workspace, package: Package, member_client: Client
) -> None:
    form = _buy_form(package)
    del form["accept_no_refund"]

    response = member_client.post(_url("buy", workspace), form)

    assert response.status_code == 400
    assert not Order.objects.exists()


@pytest.mark.parametrize("role", [Role.ADMIN, Role.MEMBER, Role.VIEWER])
def test_non_owners_cannot_buy_but_can_view_the_balance(
    role: str,
    workspace: Workspace,
    package: Package,
    make_member: Callable[..., Membership],
) -> None:
    client = Client()
    client.force_login(make_member(workspace, role).user)

    buy = client.post(_url("buy", workspace), _buy_form(package))
    threshold = client.post(_url("settings", workspace), {"low_balance_threshold": 5})
    overview = client.get(_url("overview", workspace))

    assert (buy.status_code, threshold.status_code, overview.status_code) == (403, 403, 200)
    assert not Order.objects.exists()


def test_another_workspaces_order_and_invoice_are_404(
    workspace: Workspace,
    other_workspace: Workspace,
    member_client: Client,
    buy: Callable[..., CreditLot],
) -> None:
    theirs = buy(other_workspace, credits=10).order
    invoice = Invoice.objects.get(order=theirs)

    for name, kwargs in [
        ("order", {"order_id": theirs.public_id}),
        ("order_status", {"order_id": theirs.public_id}),
        ("order_proforma", {"order_id": theirs.public_id}),
        ("invoice", {"invoice_id": invoice.public_id}),
        ("invoice_pdf", {"invoice_id": invoice.public_id}),
    ]:
        assert member_client.get(_url(name, workspace, **kwargs)).status_code == 404, name
    cancel = member_client.post(_url("order_cancel", workspace, order_id=theirs.public_id))
    assert cancel.status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == Order.Status.PAID


def test_invoice_pages_and_pdf_with_azerbaijani_letters(
    workspace: Workspace, member_client: Client, buy: Callable[..., CreditLot]
) -> None:
    lot = buy(workspace, credits=100)
    invoice = Invoice.objects.get(order=lot.order)

    html = member_client.get(_url("invoice", workspace, invoice_id=invoice.public_id))
    response = member_client.get(_url("invoice_pdf", workspace, invoice_id=invoice.public_id))

    assert invoice.buyer_name == "Əli Ltd"
    assert html.status_code == 200
    assert invoice.number in html.content.decode()
    assert "Əli Ltd" in html.content.decode()
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    assert b"DejaVuSans" in response.content
    face = pdfmetrics.getFont(pdf.FONT).face
    assert all(ord(ch) in face.charToGlyph for ch in "əƏşŞğĞçÇıöü")


def test_ledger_filters_by_kind_and_exports_csv(
    workspace: Workspace, member_client: Client, buy: Callable[..., CreditLot]
) -> None:
    buy(workspace, credits=100)
    services.credits_reserve(workspace=workspace, amount=7, reference="camp:9", idempotency_key="k")

    page = member_client.get(_url("ledger", workspace) + "?kind=reservation")
    csv_response = member_client.get(_url("ledger_csv", workspace))
    body = b"".join(csv_response.streaming_content).decode()
    lines = body.removeprefix("\ufeff").splitlines()

    assert page.status_code == 200
    assert "camp:9" in page.content.decode()
    assert body.startswith("\ufeff")  # Excel reads it as UTF-8
    assert lines[0] == "created_at,kind,amount,reserved_delta,reference,reason,actor,description"
    assert [line.split(",")[1:5] for line in lines[1:]] == [
        ["reservation", "0", "7", "camp:9"],
        ["purchase", "100", "0", lines[2].split(",")[4]],
    ]
    assert lines[2].endswith(f"100 credits bought (order {lines[2].split(',')[4]})")


def test_low_balance_banner_after_the_owner_sets_a_threshold(
    workspace: Workspace, owner: User, member_client: Client, buy: Callable[..., CreditLot]
) -> None:
    buy(workspace, credits=100)

    saved = member_client.post(_url("settings", workspace), {"low_balance_threshold": 500})
    overview = member_client.get(_url("overview", workspace))

    assert saved.status_code == 302
    assert 'data-testid="low-balance-banner"' in overview.content.decode()
    assert 'data-testid="available">100<' in overview.content.decode()


def test_api_balance_ledger_and_orders(
    workspace: Workspace,
    other_workspace: Workspace,
    api_client_with_scopes: Callable[..., object],
    buy: Callable[..., CreditLot],
) -> None:
    lot = buy(workspace, credits=100)
    buy(other_workspace, credits=5)
    client = api_client_with_scopes("billing:read")
    no_scope = api_client_with_scopes("contacts:read")

    balance = client.get(reverse("api:billing-balance")).json()  # type: ignore[attr-defined]
    ledger = client.get(reverse("api:billing-ledger-list")).json()  # type: ignore[attr-defined]
    orders = client.get(reverse("api:billing-order-list")).json()  # type: ignore[attr-defined]
    denied = no_scope.get(reverse("api:billing-balance"))  # type: ignore[attr-defined]

    assert balance == {"available": 100, "reserved": 0}
    assert [(e["kind"], e["amount"]) for e in ledger["results"]] == [("purchase", 100)]
    assert [o["id"] for o in orders["results"]] == [str(lot.order.public_id)]
    assert orders["results"][0]["invoice_number"] == lot.order.invoice.number
    assert denied.status_code == 403
