"""Journeys: an owner buys credits by bank transfer (staff confirm it in Django admin by
clicking) and by card (Stripe Checkout is another site: the journey clicks up to the redirect,
Stripe's API is stubbed at its HTTP client, and Stripe's signed webhook is then posted to the
live server as Stripe would)."""

from __future__ import annotations

import hashlib
import hmac
import importlib
import json
import re
import time
import urllib.request
from decimal import Decimal

import pytest
import stripe
from django.apps import apps
from playwright.sync_api import expect

from billing.models import Order, Package
from tests.billing.test_stripe import FakeStripeHTTP
from tests.factories import MembershipFactory, UserFactory

from .conftest import JOURNEY, words

pytestmark = JOURNEY

WEBHOOK_SECRET = "whsec_journey"


@pytest.fixture
def shop(settings):
    """Packages on sale as after a fresh install (the data migration's), both methods on."""
    importlib.import_module("billing.migrations.0003_default_packages").create_default_packages(
        apps, None
    )
    settings.STRIPE_ENABLED = True
    settings.STRIPE_SECRET_KEY = "sk_test_journey"
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    owner = MembershipFactory(workspace__name="Baku Flowers").user
    return owner, owner.memberships.get().workspace


def _order(journey, page, package: Package, method: str) -> Order:
    """From the dashboard to a placed order: Billing, Buy credits, a package, a method."""
    page.get_by_role("link", name=words("Billing")).first.click()
    page.get_by_role("link", name=words("Buy credits")).first.click()
    page.wait_for_url(re.compile(r"/billing/buy/$"))
    page.get_by_role("radio", name=re.compile(rf"^\s*{package.name}\b")).check()
    page.get_by_role("radio", name=words(method)).check()
    page.get_by_label(re.compile(r"^\s*Company or name on the invoice", re.I)).fill(
        "Baku Flowers MMC"
    )
    page.get_by_label(words("I understand that payments are non-refundable.")).check()
    journey.shot(page, f"pricing, {method}")
    page.get_by_role("button", name=words("Continue to payment")).click()
    page.wait_for_url(re.compile(r"/billing/orders/[0-9a-f-]{36}/"))
    return Order.objects.get(public_id=page.url.rstrip("/").rsplit("/", 1)[-1])


def test_buy_credits_by_bank_transfer(journey, shop) -> None:
    owner, workspace = shop
    staff = UserFactory(email="operator@isend.test", is_staff=True, is_superuser=True)
    package = Package.objects.get(name="Business")
    page = journey.new_page("owner")
    journey.sign_in(page, owner.email)
    order = _order(journey, page, package, "Bank transfer")
    assert (order.workspace, order.method, order.status) == (workspace, "bank_transfer", "pending")
    # The order names the seller's bank and the reference to quote.
    expect(page.get_by_text("IBAN: AZ21NABZ00000000137010001944")).to_be_visible()
    expect(page.get_by_text(order.payment_reference).first).to_be_visible()
    expect(page.get_by_text("Awaiting your bank transfer.", exact=False)).to_be_visible()
    journey.shot(page, "order awaiting transfer")

    # The operator, in Django admin: Orders, select this one, the confirm action, confirm.
    admin = journey.new_page("operator")
    admin.goto(f"{journey.base}/admin/")
    admin.get_by_label(re.compile(r"^\s*(e-?mail|username)", re.I)).fill(staff.email)
    admin.get_by_label(words("Password")).fill("correct-horse-battery-staple")
    admin.get_by_role("button", name=words("Log in")).click()
    admin.get_by_role("link", name=words("Orders")).first.click()
    journey.shot(admin, "admin orders")
    admin.get_by_role("row", name=re.compile(order.payment_reference)).get_by_role(
        "checkbox"
    ).check()
    admin.get_by_role("combobox", name=words("Action")).select_option(
        label="Confirm bank transfer received"
    )
    admin.get_by_role("button", name=words("Go")).click()
    expect(admin.get_by_text(order.payment_reference).first).to_be_visible()
    journey.shot(admin, "admin confirm")
    admin.get_by_role("button", name=words("Confirm")).click()
    expect(admin.get_by_text("1 order confirmed and its credits activated.")).to_be_visible()
    journey.shot(admin, "admin confirmed")

    # The owner sees the credits.
    page.reload()
    expect(
        page.get_by_text(f"Paid: {package.credits:,} credits were added to your balance.")
    ).to_be_visible()
    journey.shot(page, "order paid")
    page.get_by_role("link", name=words("Billing")).first.click()
    expect(page.get_by_test_id("available")).to_have_text(f"{package.credits:,}")
    journey.shot(page, "balance")
    order.refresh_from_db()
    assert (order.status, order.confirmed_by) == ("paid", staff)


def _stripe_signed_post(url: str, payload: bytes) -> int:
    timestamp = int(time.time())
    signature = hmac.new(
        WEBHOOK_SECRET.encode(), f"{timestamp}.{payload.decode()}".encode(), hashlib.sha256
    ).hexdigest()
    request = urllib.request.Request(
        url,
        data=payload,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "Stripe-Signature": f"t={timestamp},v1={signature}",
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status


def test_buy_credits_by_card(journey, shop, monkeypatch) -> None:
    owner, workspace = shop
    fake = FakeStripeHTTP()  # Stripe's API, stubbed at the SDK's HTTP client
    monkeypatch.setattr(stripe, "default_http_client", fake)
    package = Package.objects.get(name="Business")
    page = journey.new_page("owner")
    # Stripe Checkout is another site: the browser's request to it gets a stand-in page.
    checkout_requests: list[str] = []

    def checkout(route) -> None:
        checkout_requests.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body="<h1>Stripe Checkout</h1>")

    page.route("https://checkout.stripe.com/**", checkout)
    journey.sign_in(page, owner.email)
    order = _order(journey, page, package, "Card (Stripe)")
    assert (order.workspace, order.method, order.status) == (workspace, "card", "pending")
    journey.shot(page, "order")
    page.get_by_role("link", name=re.compile(r"^\s*Pay .* by card", re.I)).click()
    page.wait_for_url("https://checkout.stripe.com/**")
    assert checkout_requests == ["https://checkout.stripe.com/c/pay/cs_test_1"]
    journey.shot(page, "stripe checkout")
    # The session asked of Stripe: this order, its price, back to the order page.
    (method, url, form) = fake.requests[-1]
    assert (method, url) == ("post", "https://api.stripe.com/v1/checkout/sessions")
    assert form["client_reference_id"] == [str(order.public_id)]
    order_url = f"{journey.base}/w/{workspace.slug}/billing/orders/{order.public_id}/"
    assert form["success_url"] == [order_url + "?paid=1"]

    # Stripe sends the customer back; the page waits for Stripe's webhook.
    page.goto(form["success_url"][0])
    expect(page.get_by_text(re.compile("Waiting for the payment confirmation"))).to_be_visible()
    journey.shot(page, "back from stripe")
    event = {
        "id": "evt_journey_1",
        "object": "event",
        "type": "checkout.session.completed",
        "data": {
            "object": {
                "id": "cs_test_1",
                "object": "checkout.session",
                "client_reference_id": str(order.public_id),
                "payment_status": "paid",
                "payment_intent": "pi_journey_1",
                "amount_total": int(order.amount * 100),
                "currency": order.currency.lower(),
                "metadata": {"order_id": str(order.public_id)},
            }
        },
    }
    assert (
        _stripe_signed_post(f"{journey.base}/webhooks/stripe/", json.dumps(event).encode()) == 200
    )
    # The order page (polling) turns to paid by itself.
    expect(
        page.get_by_text(f"Paid: {package.credits:,} credits were added to your balance.")
    ).to_be_visible()
    journey.shot(page, "paid")
    order.refresh_from_db()
    assert order.status == "paid"
    assert order.amount == Decimal(package.price)
