"""The buyer's invoice address is a few short lines: the order form and `order_create` refuse a
longer one with the reason (and the form keeps what was typed), and an invoice whose stored
address is far longer (from before the limit) still downloads as a PDF, wrapped over as many
pages as it needs: it was an HTTP 500 (ReportLab's LayoutError: one table row taller than a
page)."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from accounts.models import User, Workspace
from billing import services
from billing.models import CreditLot, Invoice, Order, Package

pytestmark = pytest.mark.django_db

# What the form took before: 6,300 characters of words (ending in a letter: nothing to strip).
LONG_ADDRESS = ("Bakı şəhəri, Nizami küçəsi 1, mənzil 2. " * 158)[:6299] + "."


def _url(name: str, workspace: Workspace, **kwargs: object) -> str:
    return reverse(f"billing:{name}", kwargs={"workspace_slug": workspace.slug, **kwargs})


def _buy(client: Client, workspace: Workspace, package: Package, address: str) -> object:
    return client.post(
        _url("buy", workspace),
        {
            "package": package.pk,
            "method": "bank_transfer",
            "buyer_company": "Şəki Xalça MMC",
            "buyer_address": address,
            "accept_no_refund": "on",
        },
    )


def _pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type /Page\b(?!s)", pdf))


@pytest.mark.parametrize(
    "stored",
    [
        pytest.param(LONG_ADDRESS, id="6300 characters of words"),
        pytest.param("Ə" * 6300, id="one word of 6300 characters"),
        pytest.param("Bakı\n" * 1260, id="1260 lines"),
    ],
)
def test_an_invoice_with_a_very_long_stored_address_downloads_as_a_pdf(
    workspace: Workspace, member_client: Client, buy: Callable[..., CreditLot], stored: str
) -> None:
    invoice = Invoice.objects.get(order=buy(workspace).order)
    Invoice.objects.filter(pk=invoice.pk).update(buyer_address=stored)

    response = member_client.get(_url("invoice_pdf", workspace, invoice_id=invoice.public_id))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    assert _pages(response.content) >= 2  # the address runs on; nothing was cut off


def test_a_short_invoice_still_fits_on_one_page(
    workspace: Workspace, member_client: Client, buy: Callable[..., CreditLot]
) -> None:
    invoice = Invoice.objects.get(order=buy(workspace).order)
    Invoice.objects.filter(pk=invoice.pk).update(buyer_address="Bakı\nNizami küç. 1")

    response = member_client.get(_url("invoice_pdf", workspace, invoice_id=invoice.public_id))

    assert response.status_code == 200
    assert _pages(response.content) == 1


def test_the_order_form_refuses_a_6300_character_address_and_keeps_what_was_typed(
    workspace: Workspace, member_client: Client, package: Package
) -> None:
    response = _buy(member_client, workspace, package, LONG_ADDRESS)

    page = response.content.decode()
    assert response.status_code == 400
    assert "At most 500 characters (this has 6300)." in page
    assert 'data-testid="buyer-address-error"' in page
    assert html.escape(LONG_ADDRESS) in page  # the textarea still holds it
    assert "Şəki Xalça MMC" in page
    assert not Order.objects.exists()


def test_the_order_form_refuses_an_address_of_more_than_eight_lines(
    workspace: Workspace, member_client: Client, package: Package
) -> None:
    response = _buy(member_client, workspace, package, "\r\n".join(["Bakı"] * 9))

    assert response.status_code == 400
    assert "An address has at most 8 lines (this has 9)." in response.content.decode()
    assert not Order.objects.exists()


def test_an_address_of_500_characters_on_8_lines_is_taken(
    workspace: Workspace, member_client: Client, package: Package
) -> None:
    # 8 lines typed in a browser (CRLF line breaks, counted as one character, as the browser
    # counts them for the textarea's maxlength) of 500 characters in all
    address = "\r\n".join(["x" * 56] * 7 + ["y" * 101])

    response = _buy(member_client, workspace, package, address)

    assert response.status_code == 302
    stored = Order.objects.get(workspace=workspace).buyer_address
    assert (len(stored), len(stored.splitlines())) == (500, 8)


def test_the_address_field_tells_the_browser_its_limit(
    workspace: Workspace, member_client: Client
) -> None:
    page = member_client.get(_url("pricing", workspace)).content.decode()

    assert re.search(r'<textarea[^>]*name="buyer_address"[^>]*maxlength="500"', page)


def test_the_service_refuses_a_long_address_whoever_calls_it(
    workspace: Workspace, owner: User, package: Package
) -> None:
    with pytest.raises(ValidationError) as refused:
        services.order_create(
            workspace=workspace,
            package=package,
            method=Order.Method.BANK_TRANSFER,
            actor=owner,
            buyer_company="Şəki Xalça MMC",
            buyer_address=LONG_ADDRESS,
        )

    assert refused.value.message_dict == {
        "buyer_address": ["At most 500 characters (this has 6300)."]
    }
    assert not Order.objects.exists()


def test_a_company_name_is_stored_on_one_line(
    workspace: Workspace, owner: User, package: Package
) -> None:
    order = services.order_create(
        workspace=workspace,
        package=package,
        method=Order.Method.BANK_TRANSFER,
        actor=owner,
        buyer_company="Şəki\n\n\nXalça   MMC",
    )

    assert order.buyer_company == "Şəki Xalça MMC"


def test_long_words_in_the_address_wrap_on_the_proforma(
    workspace: Workspace, member_client: Client, owner: User, package: Package
) -> None:
    order = services.order_create(
        workspace=workspace,
        package=package,
        method=Order.Method.BANK_TRANSFER,
        actor=owner,
        buyer_company="Şəki Xalça MMC",
    )
    Order.objects.filter(pk=order.pk).update(buyer_address="Ə" * 6300)  # stored before the limit

    page = member_client.get(_url("order_proforma", workspace, order_id=order.public_id))

    buyer = re.search(r'<div class="([^"]*)"><h2 class="h6">Buyer</h2>', page.content.decode())
    assert buyer
    assert "invoice-party" in buyer.group(1).split()
    css = (Path(settings.BASE_DIR) / "static" / "css" / "app.css").read_text()
    assert re.search(r"\.invoice-party\s*\{[^}]*overflow-wrap:\s*anywhere", css)


def test_a_refusal_by_the_service_is_shown_on_the_form_with_what_was_typed(
    workspace: Workspace, member_client: Client, package: Package, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Should the form let an address through, the service still refuses it, and the page
    says why on the field and keeps the input (it was a redirect to an empty form)."""
    monkeypatch.setattr(
        "billing.forms.BuyForm.clean_buyer_address", lambda form: form.cleaned_data["buyer_address"]
    )

    response = _buy(member_client, workspace, package, LONG_ADDRESS)

    page = response.content.decode()
    assert response.status_code == 400
    assert re.search(
        r'data-testid="buyer-address-error">At most 500 characters \(this has 6300\)\.<', page
    )
    assert html.escape(LONG_ADDRESS) in page
    assert not Order.objects.exists()
