"""Stripe: Checkout sessions through a fake HTTP client, webhooks signed with Stripe's scheme
(HMAC-SHA256 over "t.payload") and a test secret."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import parse_qs

import pytest
import stripe
from django.test import Client
from django.urls import reverse

from accounts.models import AuditEvent, Notification, User, Workspace
from billing import services
from billing.checks import ledger_mismatches
from billing.models import CreditLot, LedgerEntry, Order, Package, Payment, StripeEvent

pytestmark = pytest.mark.django_db

SECRET = "whsec_test_secret"


@pytest.fixture(autouse=True)
def _stripe_on(settings: Any) -> None:
    settings.STRIPE_SECRET_KEY = "sk_test_123"
    settings.STRIPE_WEBHOOK_SECRET = SECRET
    settings.STRIPE_ENABLED = True


class FakeStripeHTTP(stripe.HTTPClient):
    """Stands in for the network at stripe's HTTP layer and records every request."""

    name = "fake"

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[tuple[str, str, dict[str, list[str]]]] = []

    def request(self, method: str, url: str, headers: Any, post_data: Any = None, **kw: Any):  # type: ignore[no-untyped-def]
        self.requests.append((method, url, parse_qs(post_data or "")))
        body = {
            "id": "cs_test_1",
            "object": "checkout.session",
            "url": "https://checkout.stripe.com/c/pay/cs_test_1",
        }
        return json.dumps(body), 200, {}

    def close(self) -> None:
        pass


@pytest.fixture
def fake_stripe(monkeypatch: pytest.MonkeyPatch) -> FakeStripeHTTP:
    fake = FakeStripeHTTP()
    monkeypatch.setattr(stripe, "default_http_client", fake)  # restored after the test
    return fake


def _card_order(workspace: Workspace, package: Package, owner: User) -> Order:
    return services.order_create(
        workspace=workspace, package=package, method=Order.Method.CARD, actor=owner
    )


def _event(event_id: str, kind: str, obj: dict[str, Any]) -> bytes:
    return json.dumps(
        {"id": event_id, "object": "event", "type": kind, "data": {"object": obj}}
    ).encode()


def _session(order: Order, payment_status: str = "paid") -> dict[str, Any]:
    return {
        "id": "cs_test_1",
        "object": "checkout.session",
        "client_reference_id": str(order.public_id),
        "payment_status": payment_status,
        "payment_intent": "pi_test_1",
        "amount_total": 5900,
        "currency": "azn",
        "metadata": {"order_id": str(order.public_id)},
    }


def _deliver(payload: bytes, secret: str = SECRET) -> int:
    timestamp = int(time.time())
    signed = f"{timestamp}.{payload.decode()}".encode()
    signature = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    response = Client().post(
        reverse("billing:stripe_webhook"),
        data=payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=f"t={timestamp},v1={signature}",
    )
    return response.status_code


def test_owner_buying_by_card_is_sent_to_stripe_checkout(
    workspace: Workspace, package: Package, member_client: Client, fake_stripe: FakeStripeHTTP
) -> None:
    # given: the owner orders by card (the POST stays on our origin: CSP form-action 'self')
    created = member_client.post(
        reverse("billing:buy", kwargs={"workspace_slug": workspace.slug}),
        {
            "package": package.pk,
            "method": "card",
            "buyer_company": "Alpha MMC",
            "accept_no_refund": "on",
        },
    )
    order = Order.objects.get(workspace=workspace)
    kwargs = {"workspace_slug": workspace.slug, "order_id": order.public_id}
    page = member_client.get(reverse("billing:order", kwargs=kwargs))

    # when: they follow "Pay by card"
    response = member_client.get(reverse("billing:order_pay", kwargs=kwargs))

    # then
    order.refresh_from_db()
    assert created["Location"] == reverse("billing:order", kwargs=kwargs)
    assert reverse("billing:order_pay", kwargs=kwargs) in page.content.decode()
    assert response.status_code == 302
    assert response["Location"] == "https://checkout.stripe.com/c/pay/cs_test_1"
    assert order.stripe_session_id == "cs_test_1"
    ((method, url, form),) = fake_stripe.requests
    assert (method, url) == ("post", "https://api.stripe.com/v1/checkout/sessions")
    assert form["line_items[0][price_data][unit_amount]"] == ["5900"]
    assert form["line_items[0][price_data][currency]"] == ["azn"]
    assert form["client_reference_id"] == [str(order.public_id)]
    assert form["success_url"] == [
        "http://testserver" + reverse("billing:order", kwargs=kwargs) + "?paid=1"
    ]


def test_only_the_owner_can_open_checkout(
    workspace: Workspace,
    package: Package,
    owner: User,
    make_member: Any,
    fake_stripe: FakeStripeHTTP,
) -> None:
    order = _card_order(workspace, package, owner)
    client = Client()
    client.force_login(make_member(workspace, "admin").user)

    response = client.get(
        reverse(
            "billing:order_pay",
            kwargs={"workspace_slug": workspace.slug, "order_id": order.public_id},
        )
    )

    assert response.status_code == 403
    assert fake_stripe.requests == []


def test_same_event_three_times_and_out_of_order_credits_once(
    workspace: Workspace, package: Package, owner: User
) -> None:
    # given
    order = _card_order(workspace, package, owner)
    completed = _event("evt_1", "checkout.session.completed", _session(order))
    succeeded = _event("evt_2", "checkout.session.async_payment_succeeded", _session(order))

    # when: the later event first, then the first one three times
    codes = [_deliver(succeeded), _deliver(completed), _deliver(completed), _deliver(completed)]

    # then
    order.refresh_from_db()
    assert codes == [200, 200, 200, 200]
    assert order.status == Order.Status.PAID
    assert StripeEvent.objects.count() == 2
    assert Payment.objects.filter(provider="stripe", provider_id="pi_test_1").count() == 1
    assert LedgerEntry.objects.filter(kind=LedgerEntry.Kind.PURCHASE).count() == 1
    assert services.credits_balance(workspace=workspace) == services.Balance(1000, 0)
    assert ledger_mismatches() == []


def test_unpaid_completion_waits_for_the_async_result(
    workspace: Workspace, package: Package, owner: User
) -> None:
    order = _card_order(workspace, package, owner)

    _deliver(_event("evt_a", "checkout.session.completed", _session(order, "unpaid")))
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING
    assert services.credits_balance(workspace=workspace) == services.Balance(0, 0)

    _deliver(_event("evt_b", "checkout.session.async_payment_failed", _session(order, "unpaid")))
    order.refresh_from_db()
    assert order.status == Order.Status.FAILED
    assert not CreditLot.objects.exists()


def test_forged_signature_is_rejected_and_nothing_is_stored(
    workspace: Workspace, package: Package, owner: User
) -> None:
    order = _card_order(workspace, package, owner)
    payload = _event("evt_forged", "checkout.session.completed", _session(order))

    forged = _deliver(payload, secret="whsec_attacker")
    unsigned = Client().post(
        reverse("billing:stripe_webhook"), data=payload, content_type="application/json"
    )

    order.refresh_from_db()
    assert (forged, unsigned.status_code) == (400, 400)
    assert StripeEvent.objects.count() == 0
    assert order.status == Order.Status.PENDING
    assert not CreditLot.objects.exists()


def test_dispute_revokes_the_unused_credits_of_the_order(
    workspace: Workspace, package: Package, owner: User
) -> None:
    # given: a paid order with 100 credits reserved by a campaign
    order = _card_order(workspace, package, owner)
    _deliver(_event("evt_paid", "checkout.session.completed", _session(order)))
    services.credits_reserve(workspace=workspace, amount=100, reference="c", idempotency_key="c")
    dispute = {"id": "dp_1", "object": "dispute", "charge": "ch_1", "payment_intent": "pi_test_1"}

    # when
    _deliver(_event("evt_dispute", "charge.dispute.created", dispute))
    _deliver(_event("evt_dispute", "charge.dispute.created", dispute))

    # then
    lot = CreditLot.objects.get(order=order)
    assert lot.revoked_at is not None
    assert (lot.credits_remaining, lot.credits_reserved) == (100, 100)
    assert services.credits_balance(workspace=workspace) == services.Balance(0, 100)
    assert LedgerEntry.objects.filter(kind=LedgerEntry.Kind.REVOCATION).get().amount == -900
    assert AuditEvent.objects.filter(action="billing.credits.revoked").count() == 1
    assert Notification.objects.filter(workspace=workspace, kind="billing.revoked").count() == 1
    assert ledger_mismatches() == []


def test_dispute_arriving_before_the_payment_still_revokes(
    workspace: Workspace, package: Package, owner: User
) -> None:
    order = _card_order(workspace, package, owner)
    Order.objects.filter(pk=order.pk).update(stripe_payment_intent="pi_test_1")
    refund = {"id": "ch_1", "object": "charge", "payment_intent": "pi_test_1"}

    _deliver(_event("evt_refund", "charge.refunded", refund))
    _deliver(_event("evt_paid", "checkout.session.completed", _session(order)))

    assert CreditLot.objects.get(order=order).revoked_at is not None
    assert services.credits_balance(workspace=workspace) == services.Balance(0, 0)
    assert ledger_mismatches() == []


def test_card_option_is_hidden_without_stripe_keys(
    settings: Any, workspace: Workspace, package: Package, member_client: Client
) -> None:
    settings.STRIPE_ENABLED = False

    page = member_client.get(reverse("billing:pricing", kwargs={"workspace_slug": workspace.slug}))
    refused = member_client.post(
        reverse("billing:buy", kwargs={"workspace_slug": workspace.slug}),
        {"package": package.pk, "method": "card", "buyer_company": "A", "accept_no_refund": "on"},
    )

    assert page.status_code == 200
    assert 'value="card"' not in page.content.decode()
    assert 'value="bank_transfer"' in page.content.decode()
    assert refused.status_code == 400
    assert not Order.objects.exists()


def test_success_page_polls_until_the_webhook_marks_the_order_paid(
    workspace: Workspace, package: Package, owner: User, member_client: Client
) -> None:
    order = _card_order(workspace, package, owner)
    kwargs = {"workspace_slug": workspace.slug, "order_id": order.public_id}

    waiting = member_client.get(reverse("billing:order", kwargs=kwargs) + "?paid=1")
    _deliver(_event("evt_ok", "checkout.session.completed", _session(order)))
    done = member_client.get(reverse("billing:order_status", kwargs=kwargs))

    status_url = reverse("billing:order_status", kwargs=kwargs)
    assert f'hx-get="{status_url}"' in waiting.content.decode()
    assert "hx-get" not in done.content.decode()
    assert "Paid: 1,000 credits were added to your balance." in done.content.decode()
