"""Card payments through Stripe: the Checkout session for a card order, and the webhook events
that settle it (paid, failed, refunded or disputed), each processed once whatever the number
and order of deliveries. Named `stripe_checkout` so that it never shadows the `stripe` SDK."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import stripe
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.services import audit_record
from billing import lock_objects
from billing.models import CreditLot, Order, Payment, StripeEvent
from billing.services.credits import credits_revoke_lot
from billing.services.errors import BillingError, PaymentMismatch
from billing.services.orders import credits_purchase_activate


def _minor_units(amount: Decimal) -> int:
    return int((amount * 100).quantize(Decimal("1")))


def order_checkout_start(*, order: Order, success_url: str, cancel_url: str) -> str:
    """Create the Stripe Checkout session for a card order and return its URL. The network
    call happens outside any transaction; only the session id is saved afterwards."""
    if order.method != Order.Method.CARD or order.status != Order.Status.PENDING:
        raise BillingError(_("This order cannot be paid by card."))
    extra: dict[str, Any] = {"customer_email": order.buyer_email} if order.buyer_email else {}
    session = stripe.checkout.Session.create(
        api_key=settings.STRIPE_SECRET_KEY,
        mode="payment",
        client_reference_id=str(order.public_id),
        line_items=[
            {
                "quantity": 1,
                "price_data": {
                    "currency": order.currency.lower(),
                    "unit_amount": _minor_units(order.amount),
                    "product_data": {"name": f"iSend: {order.package.name}"},
                },
            }
        ],
        metadata={"order_id": str(order.public_id), "reference": order.payment_reference},
        payment_intent_data={"metadata": {"order_id": str(order.public_id)}},
        success_url=success_url,
        cancel_url=cancel_url,
        idempotency_key=f"checkout:{order.public_id}",
        **extra,
    )
    Order.objects.filter(pk=order.pk).update(stripe_session_id=session.id)
    order.stripe_session_id = session.id
    return str(session.url)


def stripe_event_construct(*, payload: bytes, signature: str) -> stripe.Event:
    """Verify the signature (raises `stripe.SignatureVerificationError` or `ValueError`)."""
    # The SDK leaves construct_event unannotated; it builds and returns a `stripe.Event`.
    event: stripe.Event = stripe.Webhook.construct_event(
        payload, signature, settings.STRIPE_WEBHOOK_SECRET
    )
    return event


@transaction.atomic
def stripe_event_process(*, event: stripe.Event) -> StripeEvent:
    """Store the event once and act on it once, whatever the number and order of deliveries.
    The event row is locked, so two simultaneous deliveries of one event run one after the
    other and the second finds it processed."""
    data = event.to_dict()
    StripeEvent.objects.bulk_create(
        [StripeEvent(event_id=event.id, type=event.type, payload=data)], ignore_conflicts=True
    )
    stored = StripeEvent.objects.select_for_update().get(event_id=event.id)
    if stored.processed_at is not None:
        return stored
    obj: dict[str, Any] = data.get("data", {}).get("object", {})
    handler = _STRIPE_HANDLERS.get(event.type)
    stored.outcome = handler(obj) if handler else "ignored"
    stored.processed_at = timezone.now()
    stored.save(update_fields=["outcome", "processed_at"])
    return stored


def _order_by_public_id(value: object) -> Order | None:
    try:
        return Order.objects.filter(public_id=str(value)).first() if value else None
    except ValidationError:  # not a UUID: not one of ours
        return None


def _order_for_session(session: dict[str, Any]) -> Order | None:
    order = _order_by_public_id(
        session.get("client_reference_id") or (session.get("metadata") or {}).get("order_id")
    )
    return order if order is not None and order.method == Order.Method.CARD else None


def _order_for_charge(charge: dict[str, Any]) -> Order | None:
    intent = charge.get("payment_intent")
    if intent:
        order = Order.objects.filter(stripe_payment_intent=intent).first()
        if order is not None:
            return order
    return _order_by_public_id((charge.get("metadata") or {}).get("order_id"))


def _stripe_session_paid(session: dict[str, Any]) -> str:
    order = _order_for_session(session)
    if order is None:
        return "no matching order"
    if session.get("payment_status") != "paid":
        Order.objects.filter(pk=order.pk).update(
            stripe_payment_intent=session.get("payment_intent") or ""
        )
        return "awaiting payment"
    amount = Decimal(session.get("amount_total") or 0) / 100
    currency = str(session.get("currency") or "").upper()
    intent = session.get("payment_intent") or session.get("id")
    Order.objects.filter(pk=order.pk).update(stripe_payment_intent=intent)
    locked = lock_objects.order_lock(order_id=order.pk)
    if locked.status == Order.Status.PAID:
        return "already paid"
    payment, _created = Payment.objects.get_or_create(
        provider=Payment.Provider.STRIPE,
        provider_id=str(intent),
        defaults={"order": locked, "amount": amount, "currency": currency},
    )
    try:
        credits_purchase_activate(order=locked, payment=payment)
    except PaymentMismatch as exc:
        return f"not activated: {exc}"[:200]
    return "paid"


def _stripe_session_failed(session: dict[str, Any]) -> str:
    order = _order_for_session(session)
    if order is None:
        return "no matching order"
    locked = lock_objects.order_lock(order_id=order.pk)
    if locked.status != Order.Status.PENDING:
        return f"left {locked.status}"
    locked.status = Order.Status.FAILED
    locked.save(update_fields=["status"])
    audit_record(workspace=locked.workspace, action="billing.order.failed", target=locked)
    return "failed"


def _stripe_charge_reversed(charge: dict[str, Any]) -> str:
    """Refund or dispute: revoke what is unused of the order's credits (terms: no refunds, so
    this is a chargeback or a staff decision made in Stripe)."""
    order = _order_for_charge(charge)
    if order is None:
        return "no matching order"
    locked = lock_objects.order_lock(order_id=order.pk)
    if locked.disputed_at is None:
        locked.disputed_at = timezone.now()
        locked.save(update_fields=["disputed_at"])
    lot = CreditLot.objects.filter(order=locked).first()
    if lot is None:
        return "noted before payment"
    credits_revoke_lot(lot=lot, reason=_("card payment refunded or disputed"))
    return "revoked"


_STRIPE_HANDLERS = {
    "checkout.session.completed": _stripe_session_paid,
    "checkout.session.async_payment_succeeded": _stripe_session_paid,
    "checkout.session.async_payment_failed": _stripe_session_failed,
    "charge.refunded": _stripe_charge_reversed,
    "charge.dispute.created": _stripe_charge_reversed,
}
