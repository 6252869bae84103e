"""Paying works out of the box (issue 16): default packages after install, a pricing form whose
package and method are radio buttons that submit, bank transfer offered only when the seller's
bank details are configured, and the bank details with the payment reference on the order
page, the pro-forma and the order e-mail."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.models import Workspace
from billing.forms import BuyForm
from billing.models import Order, Package

pytestmark = pytest.mark.django_db

BANK = "Beneficiary: iSend MMC\nBank: Kapital Bank ASC\nIBAN: AZ21NABZ00000000137010001944"


def _url(name: str, workspace: Workspace, **kwargs: object) -> str:
    return reverse(f"billing:{name}", kwargs={"workspace_slug": workspace.slug, **kwargs})


def _radios(html: str, name: str) -> list[str]:
    return re.findall(rf'<input type="radio" name="{name}" value="([^"]+)"', html)


def test_a_fresh_install_has_packages_on_sale_in_azn() -> None:
    on_sale = list(Package.objects.filter(is_active=True).order_by("sort_order"))

    assert [p.name for p in on_sale] == ["Start", "Business", "Pro", "Enterprise"]
    assert all(p.currency == "AZN" and p.price > 0 and p.credits > 0 for p in on_sale)
    # a bigger package never costs more per credit
    per_credit = [p.price / p.credits for p in on_sale]
    assert per_credit == sorted(per_credit, reverse=True)


def test_the_migration_leaves_existing_prices_alone() -> None:
    import importlib

    from django.apps import apps

    migration = importlib.import_module("billing.migrations.0003_default_packages")
    Package.objects.all().delete()
    Package.objects.create(name="Own", credits=10, validity_days=5, price=Decimal("1.00"))

    migration.create_default_packages(apps, None)

    assert list(Package.objects.values_list("name", flat=True)) == ["Own"]


def test_the_pricing_page_offers_packages_and_bank_transfer_as_radio_buttons(
    workspace: Workspace, member_client: Client, settings
) -> None:
    settings.STRIPE_ENABLED = False
    settings.INVOICE_SELLER_BANK_DETAILS = BANK

    html = member_client.get(_url("pricing", workspace)).content.decode()

    packages = _radios(html, "package")
    assert sorted(int(pk) for pk in packages) == sorted(
        Package.objects.filter(is_active=True).values_list("pk", flat=True)
    )
    assert _radios(html, "method") == ["bank_transfer"]
    # the only method is preselected, and nothing is a <select> pretending to be radios
    assert re.search(r'name="method" value="bank_transfer"[^>]*checked', html)
    (order_form,) = [f for f in re.findall(r"<form.*?</form>", html, re.S) if 'name="package"' in f]
    assert "<option" not in order_form  # (the footer's language switcher is a real <select>)


def test_what_the_pricing_page_submits_places_a_bank_transfer_order(
    workspace: Workspace, member_client: Client, settings
) -> None:
    """The names and values the page renders are what the view accepts (the old page rendered
    the method as a bare <option>, so every order failed with 400)."""
    settings.STRIPE_ENABLED = False
    settings.INVOICE_SELLER_BANK_DETAILS = BANK
    html = member_client.get(_url("pricing", workspace)).content.decode()
    package = Package.objects.get(name="Business")
    assert str(package.pk) in _radios(html, "package")

    response = member_client.post(
        _url("buy", workspace),
        {
            "package": package.pk,
            "method": _radios(html, "method")[0],
            "buyer_company": "Gəncə Çay MMC",
            "accept_no_refund": "on",
        },
    )

    order = Order.objects.get(workspace=workspace)
    assert response.status_code == 302
    assert (order.method, order.package, order.amount) == ("bank_transfer", package, package.price)


def test_a_package_link_preselects_it(workspace: Workspace, member_client: Client) -> None:
    package = Package.objects.get(name="Pro")

    html = member_client.get(_url("pricing", workspace) + f"?package={package.pk}").content.decode()

    assert re.search(rf'name="package" value="{package.pk}"[^>]*checked', html)


def test_without_bank_details_bank_transfer_is_not_offered_nor_accepted(
    workspace: Workspace, member_client: Client, settings
) -> None:
    settings.STRIPE_ENABLED = False
    settings.INVOICE_SELLER_BANK_DETAILS = ""
    package = Package.objects.get(name="Start")

    html = member_client.get(_url("pricing", workspace)).content.decode()
    response = member_client.post(
        _url("buy", workspace),
        {
            "package": package.pk,
            "method": "bank_transfer",
            "buyer_company": "X",
            "accept_no_refund": "on",
        },
    )

    assert _radios(html, "method") == []
    assert 'data-testid="no-payment-method"' in html
    assert "Payments are not set up yet." in html
    assert response.status_code == 400
    assert not Order.objects.exists()


def test_with_card_and_bank_details_both_methods_are_offered(settings) -> None:
    form = BuyForm(card_enabled=True, bank_transfer_enabled=True)

    assert [value for value, _label in form.fields["method"].choices] == [
        "card",
        "bank_transfer",
    ]
    assert "method" not in form.initial  # two choices: the buyer picks one


def test_order_page_proforma_and_email_show_the_bank_details_and_reference(
    workspace: Workspace, member_client: Client, settings, owner, django_capture_on_commit_callbacks
) -> None:
    settings.STRIPE_ENABLED = False
    settings.INVOICE_SELLER_BANK_DETAILS = BANK
    settings.INVOICE_SELLER_NAME = "iSend MMC"
    package = Package.objects.get(name="Start")

    with django_capture_on_commit_callbacks(execute=True):
        member_client.post(
            _url("buy", workspace),
            {
                "package": package.pk,
                "method": "bank_transfer",
                "buyer_company": "Şəki Xalça",
                "accept_no_refund": "on",
            },
        )
    order = Order.objects.get(workspace=workspace)
    ref = order.payment_reference
    page = member_client.get(_url("order", workspace, order_id=order.public_id)).content.decode()
    proforma = member_client.get(
        _url("order_proforma", workspace, order_id=order.public_id)
    ).content.decode()

    for html in (page, proforma):
        assert "IBAN: AZ21NABZ00000000137010001944" in html
        assert "Kapital Bank ASC" in html
        assert ref in html
    assert f'data-testid="bank-reference">{ref}<' in page
    assert "AZN\xa025.00" in page
    # the order e-mail, to the buyer, says the same
    [email] = mail.outbox
    assert email.to == [owner.email]
    assert ref in email.subject
    assert "AZN\xa025.00" in email.subject
    assert BANK in email.body
    assert ref in email.body
    assert f"/orders/{order.public_id}/proforma/" in email.body
    html_body = email.alternatives[0][0]
    assert "IBAN: AZ21NABZ00000000137010001944" in html_body
    assert ref in html_body


def test_a_card_order_sends_no_bank_transfer_email(
    workspace: Workspace, member_client: Client, settings, django_capture_on_commit_callbacks
) -> None:
    settings.STRIPE_ENABLED = True
    package = Package.objects.get(name="Start")

    with django_capture_on_commit_callbacks(execute=True):
        member_client.post(
            _url("buy", workspace),
            {
                "package": package.pk,
                "method": "card",
                "buyer_company": "X",
                "accept_no_refund": "on",
            },
        )

    assert Order.objects.get(workspace=workspace).method == "card"
    assert mail.outbox == []


def test_dead_ends_about_credits_link_to_the_pricing_page(
    workspace: Workspace, member_client: Client
) -> None:
    pricing = _url("pricing", workspace)

    overview = member_client.get(_url("overview", workspace)).content.decode()

    assert f'href="{pricing}"' in overview  # "No credits yet. Buy a package"
