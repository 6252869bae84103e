"""In Chromium: a workspace owner buys credits by bank transfer and staff confirm the transfer
in Django admin, all by clicking (issue 16).

The owner opens the pricing page, picks a package, clicks the "Bank transfer" radio button,
accepts the no-refund rule and places the order; the order page shows the seller's bank
details and the payment reference. A staff user signs in to admin, selects the order, runs
"Confirm bank transfer received" and confirms; the owner's balance then shows the credits.
The owner's pages raise no console error (a CSP violation is one)."""

from __future__ import annotations

import importlib
import re

import pytest
from django.apps import apps
from playwright.sync_api import expect

from billing.models import Order, Package
from tests.factories import PASSWORD, MembershipFactory, UserFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

BANK = "Beneficiary: iSend MMC\nBank: Kapital Bank ASC\nIBAN: AZ21NABZ00000000137010001944"


def _sign_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_login", email)
    page.fill("#id_password", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(re.compile(r"/w/[\w-]+/$"))


def test_owner_buys_by_bank_transfer_and_staff_confirm_in_admin(
    page, browser, live_server, settings
) -> None:
    # A transactional test flushes the default packages; publish them the migration's way.
    importlib.import_module("billing.migrations.0003_default_packages").create_default_packages(
        apps, None
    )
    settings.STRIPE_ENABLED = True  # both methods on offer: the buyer has to choose
    settings.INVOICE_SELLER_BANK_DETAILS = BANK
    owner = MembershipFactory().user
    workspace = owner.memberships.get().workspace
    staff = UserFactory(email="operator@isend.test", is_staff=True, is_superuser=True)
    package = Package.objects.get(name="Business")
    base = live_server.url
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    # The owner: pricing, a package, bank transfer, the order.
    _sign_in(page, base, owner.email)
    page.goto(f"{base}/w/{workspace.slug}/billing/")
    page.locator(".nav-tabs").get_by_role("link", name="Buy credits").click()
    page.wait_for_url(re.compile(r"/billing/buy/$"))
    page.click(f"[data-testid=package-{package.pk}]")
    expect(page.locator(f"input[name=package][value='{package.pk}']")).to_be_checked()
    bank_transfer = page.get_by_role("radio", name="Bank transfer")
    expect(bank_transfer).not_to_be_checked()
    bank_transfer.click()
    expect(bank_transfer).to_be_checked()
    page.get_by_label("I understand that payments are non-refundable.").check()
    page.click("[data-testid=place-order]")
    page.wait_for_url(re.compile(r"/billing/orders/[0-9a-f-]{36}/$"))

    order = Order.objects.get(workspace=workspace)
    assert (order.method, order.status, order.package) == ("bank_transfer", "pending", package)
    expect(page.locator("[data-testid=bank-details]")).to_contain_text(
        "IBAN: AZ21NABZ00000000137010001944"
    )
    expect(page.locator("[data-testid=bank-details]")).to_contain_text("Kapital Bank ASC")
    expect(page.locator("[data-testid=bank-reference]")).to_have_text(order.payment_reference)
    expect(page.locator("[data-testid=order-status]")).to_contain_text(
        "Awaiting your bank transfer."
    )

    # Staff confirm the transfer in Django admin.
    staff_context = browser.new_context(locale="en-US")
    admin = staff_context.new_page()
    admin.set_default_timeout(15_000)
    admin.goto(f"{base}/admin/login/?next=/admin/billing/order/")
    admin.fill("#id_username", staff.email)
    admin.fill("#id_password", PASSWORD)
    admin.click("input[type=submit]")
    admin.wait_for_url(re.compile(r"/admin/billing/order/$"))
    admin.check(f"input[name=_selected_action][value='{order.pk}']")
    admin.select_option("select[name=action]", "confirm_bank_transfer")
    admin.click("button[name=index]")
    expect(admin.locator("#content")).to_contain_text(order.payment_reference)
    admin.click("input[type=submit][value=Confirm]")
    expect(admin.locator(".messagelist")).to_contain_text(
        "1 order confirmed and its credits activated."
    )
    staff_context.close()

    # The owner sees the credits.
    page.goto(f"{base}/w/{workspace.slug}/billing/")
    expect(page.locator("[data-testid=available]")).to_have_text(f"{package.credits:,}")
    page.goto(f"{base}/w/{workspace.slug}/billing/orders/{order.public_id}/")
    expect(page.locator("[data-testid=order-status]")).to_contain_text(
        f"Paid: {package.credits:,} credits were added to your balance."
    )
    order.refresh_from_db()
    assert (order.status, order.confirmed_by) == ("paid", staff)
    assert errors == []
