"""Orders, payments and invoices: buying a package, bank-transfer confirmation and rejection,
activating paid credits (with the invoice's gapless number), and the workspace's billing
settings. Card payments start and finish in `stripe_checkout`."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.models import PluralNotice, User, Workspace
from accounts.services import audit_record, notify
from billing import lock_objects
from billing.models import BillingSettings, CreditLot, Invoice, LedgerEntry, Order, Package, Payment
from billing.selectors import vat_breakdown
from billing.services.credits import credits_revoke_lot
from billing.services.errors import BillingError, PaymentMismatch
from billing.services.ledger import ledger_write, low_balance_check

_REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: read over the phone


def _payment_reference() -> str:
    def block() -> str:
        return "".join(secrets.choice(_REFERENCE_ALPHABET) for _i in range(4))

    return f"ISN-{block()}-{block()}"


def order_create(
    *,
    workspace: Workspace,
    package: Package,
    method: str,
    actor: User,
    buyer_company: str = "",
    buyer_address: str = "",
    buyer_tax_id: str = "",
) -> Order:
    """An order for one package, priced from the package now. Card orders need Stripe. The
    buyer's details are checked as the form checks them (`full_clean`: the address is a few
    short lines, see `billing.validators`), so no caller can store an invoice block that does
    not fit on the invoice."""
    if not package.is_active:
        raise ValidationError(_("This package is no longer on sale."))
    if method not in Order.Method.values:
        raise ValidationError(_("Choose a payment method."))
    if method == Order.Method.CARD and not settings.STRIPE_ENABLED:
        raise ValidationError(_("Card payments are not available."))
    for _attempt in range(5):
        try:
            with transaction.atomic():
                order = Order(
                    workspace=workspace,
                    package=package,
                    method=method,
                    credits=package.credits,
                    validity_days=package.validity_days,
                    amount=package.price,
                    currency=package.currency,
                    payment_reference=_payment_reference(),
                    # One line: the name heads the buyer's block on the invoice.
                    buyer_company=" ".join(
                        (buyer_company or actor.company_name or workspace.name).split()
                    ),
                    buyer_address=buyer_address.replace("\r\n", "\n").strip(),
                    buyer_tax_id=buyer_tax_id.strip(),
                    buyer_email=actor.email,
                    created_by=actor,
                )
                order.full_clean()
                order.save()
                audit_record(
                    workspace=workspace,
                    action="billing.order.created",
                    actor=actor,
                    target=order,
                    details={
                        "package": package.name,
                        "method": method,
                        "amount": str(order.amount),
                        "currency": order.currency,
                    },
                )
                return order
        except IntegrityError:  # a payment reference collision: draw another
            continue
    raise BillingError(_("Could not create the order; please try again."))


@transaction.atomic
def order_cancel(*, order: Order, actor: User) -> Order:
    """The owner abandons a pending order (nothing was paid)."""
    order = lock_objects.order_lock(order_id=order.pk)
    if order.status != Order.Status.PENDING:
        raise BillingError(_("Only an order awaiting payment can be cancelled."))
    order.status = Order.Status.CANCELLED
    order.save(update_fields=["status"])
    audit_record(
        workspace=order.workspace, action="billing.order.cancelled", actor=actor, target=order
    )
    return order


def _invoice_issue(order: Order, *, now: datetime) -> Invoice:
    """Take the next number of the year under the counter's lock (locked last of all, so the
    global counter is held only for the end of the transaction)."""
    year = timezone.localtime(now).year  # the seller's calendar year (settings.TIME_ZONE)
    counter = lock_objects.invoice_counter_lock(year=year)
    counter.last += 1
    counter.save(update_fields=["last"])
    split = vat_breakdown(order.amount)
    rate, net, vat, total = split.rate, split.net, split.vat, split.total
    line = {
        "description": _("%(name)s: %(credits)d message credits, valid %(days)d days")
        % {"name": order.package.name, "credits": order.credits, "days": order.validity_days},
        "quantity": 1,
        "unit_price": str(net),
        "net": str(net),
    }
    return Invoice.objects.create(
        workspace_id=order.workspace_id,
        order=order,
        number=f"ISN-{year}-{counter.last:06d}",
        year=year,
        seq=counter.last,
        issued_at=now,
        seller_name=settings.INVOICE_SELLER_NAME,
        seller_address=settings.INVOICE_SELLER_ADDRESS,
        seller_tax_id=settings.INVOICE_SELLER_TAX_ID,
        buyer_name=order.buyer_company,
        buyer_address=order.buyer_address,
        buyer_tax_id=order.buyer_tax_id,
        vat_rate=rate,
        lines=[line],
        net=net,
        vat=vat,
        total=total,
        currency=order.currency,
    )


@transaction.atomic
def credits_purchase_activate(*, order: Order, payment: Payment) -> CreditLot:
    """Mark a fully paid order paid: a lot valid `validity_days` from now, a purchase entry, an
    invoice with the next gapless number. Idempotent: a paid order returns its lot."""
    order = lock_objects.order_lock(order_id=order.pk)
    if order.status == Order.Status.PAID:
        return order.lot
    if payment.order_id != order.pk:
        raise PaymentMismatch(_("The payment belongs to another order."))
    if payment.currency != order.currency or payment.amount < order.amount:
        raise PaymentMismatch(
            _("Payment of %(paid)s %(pc)s does not cover %(due)s %(oc)s.")
            % {
                "paid": payment.amount,
                "pc": payment.currency,
                "due": order.amount,
                "oc": order.currency,
            }
        )
    now = timezone.now()
    balance = lock_objects.balance_lock(workspace_id=order.workspace_id)
    lot = CreditLot.objects.create(
        workspace_id=order.workspace_id,
        order=order,
        credits_total=order.credits,
        credits_remaining=order.credits,
        expires_at=now + timedelta(days=order.validity_days),
    )
    ledger_write(
        balance,
        kind=LedgerEntry.Kind.PURCHASE,
        amount=order.credits,
        key=f"purchase:{order.public_id}",
        reference=order.payment_reference,
        lot=lot,
        actor=payment.recorded_by,
        now=now,
    )
    order.status = Order.Status.PAID
    order.confirmed_at = now
    order.confirmed_by = payment.recorded_by
    order.save(update_fields=["status", "confirmed_at", "confirmed_by"])
    invoice = _invoice_issue(order, now=now)
    workspace = balance.workspace
    audit_record(
        workspace=workspace,
        action="billing.credits.purchased",
        actor=payment.recorded_by,
        target=order,
        details={
            "credits": order.credits,
            "payment": f"{payment.provider}:{payment.provider_id}",
            "amount": str(payment.amount),
            "currency": payment.currency,
            "invoice": invoice.number,
        },
    )
    low_balance_check(balance)
    notify(
        kind="billing.paid",
        workspace=workspace,
        text=PluralNotice.ngettext(
            "Payment received: %(credits)d credit added (order %(ref)s).",
            "Payment received: %(credits)d credits added (order %(ref)s).",
            "credits",
        ),
        params={"credits": order.credits, "ref": order.payment_reference},
        link=reverse("billing:overview", kwargs={"workspace_slug": workspace.slug}),
    )
    if order.disputed_at is not None:  # the dispute arrived before the payment event
        credits_revoke_lot(lot=lot, reason=_("payment disputed"))
    return lot


@transaction.atomic
def order_confirm_bank_transfer(
    *, order: Order, actor: User, amount: Decimal | None = None, received_at: datetime | None = None
) -> Order:
    """Staff record that the transfer arrived. Confirming twice (or from two browsers at once)
    activates the credits once: the order row is locked and the payment id is unique."""
    order = lock_objects.order_lock(order_id=order.pk)
    if order.method != Order.Method.BANK_TRANSFER:
        raise BillingError(_("Only bank-transfer orders are confirmed by hand."))
    if order.status == Order.Status.PAID:
        return order
    payment, _created = Payment.objects.get_or_create(
        provider=Payment.Provider.BANK_TRANSFER,
        provider_id=order.payment_reference,
        defaults={
            "order": order,
            "amount": order.amount if amount is None else amount,
            "currency": order.currency,
            "received_at": received_at or timezone.now(),
            "recorded_by": actor,
        },
    )
    credits_purchase_activate(order=order, payment=payment)
    order.refresh_from_db()
    return order


@transaction.atomic
def order_reject(*, order: Order, actor: User, reason: str) -> Order:
    """Staff reject a pending bank-transfer order (no money, wrong amount...), with a reason."""
    if not reason.strip():
        raise ValidationError(_("Give a reason for rejecting the order."))
    order = lock_objects.order_lock(order_id=order.pk)
    if order.status != Order.Status.PENDING:
        raise BillingError(_("Only an order awaiting payment can be rejected."))
    order.status = Order.Status.REJECTED
    order.status_reason = reason.strip()
    order.save(update_fields=["status", "status_reason"])
    audit_record(
        workspace=order.workspace,
        action="billing.order.rejected",
        actor=actor,
        target=order,
        details={"reason": order.status_reason},
    )
    notify(
        kind="billing.rejected",
        workspace=order.workspace,
        text=gettext_noop("Order %(ref)s was rejected: %(reason)s"),
        params={"ref": order.payment_reference, "reason": order.status_reason},
    )
    return order


def billing_settings_update(
    *, workspace: Workspace, actor: User, low_balance_threshold: int
) -> BillingSettings:
    """Set the low-balance threshold; re-evaluates the banner/notice against the balance."""
    if low_balance_threshold < 0:
        raise ValidationError(_("The threshold cannot be negative."))
    with transaction.atomic():
        balance = lock_objects.balance_lock(workspace_id=workspace.pk)
        prefs, _created = BillingSettings.objects.get_or_create(workspace=workspace)
        prefs.low_balance_threshold = low_balance_threshold
        prefs.low_balance_notified = False
        prefs.save(update_fields=["low_balance_threshold", "low_balance_notified"])
        audit_record(
            workspace=workspace,
            action="billing.settings.updated",
            actor=actor,
            target=prefs,
            details={"low_balance_threshold": low_balance_threshold},
        )
        low_balance_check(balance)
    return prefs
