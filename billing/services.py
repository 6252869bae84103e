"""Every write to billing: orders, payments, the credit ledger, reservations and invoices.

Plain functions with keyword-only arguments; each is one transaction. Credit changes lock the
workspace's `CreditBalance` row first (see `lock_objects` for the global lock order), write one
append-only `LedgerEntry`, update the cached balance and the lots, and write an audit row, all in
the same transaction. Every credit operation carries an idempotency key (unique on the ledger):
calling it again with the same key returns the first result and changes nothing.

Billing never imports messaging: the campaign engine calls `credits_reserve`,
`credits_consume` and `credits_release` with its own reference strings."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import stripe
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User, Workspace
from accounts.services import audit_record, notify
from billing import lock_objects
from billing.models import (
    BillingSettings,
    CreditBalance,
    CreditLot,
    Invoice,
    LedgerEntry,
    Order,
    Package,
    Payment,
    Reservation,
    ReservationLot,
    StripeEvent,
)
from core.events import credits_low_event, events_publish

# --- errors ---------------------------------------------------------------------------------


class BillingError(Exception):
    """Base for billing rule violations; the message is safe to show to the user."""


class InsufficientCredits(BillingError):
    """Not enough available credits (or not enough left in a reservation). All or nothing:
    nothing was reserved or consumed."""

    def __init__(self, *, needed: int, available: int) -> None:
        self.needed = needed
        self.available = available
        super().__init__(
            _("Not enough credits: needs %(needed)d credits, has %(available)d")
            % {"needed": needed, "available": available}
        )


class ReservationNotFound(BillingError):
    def __init__(self, reference: str) -> None:
        self.reference = reference
        super().__init__(_("No credit reservation for “%(ref)s”.") % {"ref": reference})


class IdempotencyConflict(BillingError):
    """The idempotency key was already used for a different operation."""

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(
            _("Idempotency key “%(key)s” was used for another operation.") % {"key": key}
        )


class PaymentMismatch(BillingError):
    """A payment does not cover its order in full (packages are activated only when paid)."""


@dataclass(frozen=True)
class Balance:
    available: int
    reserved: int


# --- ledger internals ---------------------------------------------------------------------


def _entry_for_key(idempotency_key: str) -> LedgerEntry | None:
    return LedgerEntry.objects.filter(idempotency_key=idempotency_key).first()


def _replayed(
    key: str, *, workspace_id: int, kind: str, reference: str | None = None
) -> LedgerEntry | None:
    """The entry an earlier call with this key wrote, or None. Called with the balance lock
    held, so two concurrent calls with one key cannot both pass it."""
    entry = _entry_for_key(key)
    if entry is None:
        return None
    if (
        entry.workspace_id != workspace_id
        or entry.kind != kind
        or (reference is not None and entry.reference != reference)
    ):
        raise IdempotencyConflict(key)
    return entry


def _write(
    balance: CreditBalance,
    *,
    kind: str,
    amount: int,
    reserved_delta: int = 0,
    key: str,
    reference: str = "",
    lot: CreditLot | None = None,
    allocations: dict[int, int] | None = None,
    actor: User | None = None,
    reason: str = "",
    now: datetime | None = None,
) -> LedgerEntry:
    """Append one entry and move the locked cached balance by the same amounts."""
    entry = LedgerEntry.objects.create(
        workspace_id=balance.workspace_id,
        kind=kind,
        amount=amount,
        reserved_delta=reserved_delta,
        lot=lot,
        allocations={str(k): v for k, v in (allocations or {}).items()},
        reference=reference,
        idempotency_key=key,
        actor=actor if actor is not None and actor.pk else None,
        reason=reason,
        created_at=now or timezone.now(),
    )
    balance.available += amount - reserved_delta
    balance.reserved += reserved_delta
    balance.updated_at = timezone.now()
    balance.save(update_fields=["available", "reserved", "updated_at"])
    return entry


def _live_lots(workspace_id: int, now: datetime) -> list[CreditLot]:
    """The workspace's unexpired, unrevoked lots, locked, oldest expiry first."""
    lots = lock_objects.lots_lock(
        CreditLot.objects.filter(
            workspace_id=workspace_id,
            revoked_at__isnull=True,
            expired_at__isnull=True,
            expires_at__gt=now,
        )
    )
    return sorted(lots, key=lambda lot: (lot.expires_at, lot.pk))


def _expire_lots(balance: CreditBalance, *, now: datetime) -> int:
    """Write off the unreserved part of every lot of this workspace that has expired. Pinned
    credits stay with their reservation (DESIGN: a reservation pins its lots)."""
    lots = lock_objects.lots_lock(
        CreditLot.objects.filter(
            workspace_id=balance.workspace_id,
            expires_at__lte=now,
            expired_at__isnull=True,
            revoked_at__isnull=True,
        )
    )
    written_off = 0
    for lot in lots:
        free = lot.credits_free
        lot.expired_at = now
        if free > 0:
            lot.credits_remaining -= free
            _write(
                balance,
                kind=LedgerEntry.Kind.EXPIRY,
                amount=-free,
                key=f"expiry:{lot.pk}",
                lot=lot,
                reason="lot expired",
                now=now,
            )
            audit_record(
                workspace=balance.workspace,
                action="billing.credits.expired",
                target=lot,
                details={"credits": free, "reserved_kept": lot.credits_reserved},
            )
            written_off += free
        lot.save(update_fields=["credits_remaining", "expired_at"])
    return written_off


def _low_balance_check(balance: CreditBalance) -> None:
    """Tell the workspace once when its available credits fall below its threshold, and re-arm
    when they climb back. Runs under the balance lock, so a crossing is told once."""
    prefs = BillingSettings.objects.filter(workspace_id=balance.workspace_id).first()
    if prefs is None or prefs.low_balance_threshold <= 0:
        return
    below = balance.available < prefs.low_balance_threshold
    if below and not prefs.low_balance_notified:
        prefs.low_balance_notified = True
        prefs.save(update_fields=["low_balance_notified"])
        workspace = balance.workspace
        notify(
            kind="billing.low_balance",
            workspace=workspace,
            text=_("Low balance: %(available)d credits left (your threshold is %(threshold)d).")
            % {"available": balance.available, "threshold": prefs.low_balance_threshold},
            link=reverse("billing:overview", kwargs={"workspace_slug": workspace.slug}),
        )
        events_publish(
            workspace_id=balance.workspace_id,
            events=[
                credits_low_event(
                    available=balance.available, threshold=prefs.low_balance_threshold
                )
            ],
        )
    elif not below and prefs.low_balance_notified:
        prefs.low_balance_notified = False
        prefs.save(update_fields=["low_balance_notified"])


def _write_off_if_dead(
    balance: CreditBalance,
    lot: CreditLot,
    part: int,
    *,
    key: str,
    reference: str,
    reason: str,
    now: datetime,
) -> None:
    """Credits coming back to a lot that has expired or been revoked are written off at once
    (the caller saves the lot)."""
    if not lot.is_dead(now):
        return
    lot.credits_remaining -= part
    _write(
        balance,
        kind=(LedgerEntry.Kind.REVOCATION if lot.revoked_at else LedgerEntry.Kind.EXPIRY),
        amount=-part,
        key=key,
        reference=reference,
        lot=lot,
        reason=reason,
        now=now,
    )


def _take_from_pins(pins: Iterable[ReservationLot], amount: int) -> dict[int, int]:
    """Take `amount` from pins in the given order; returns lot id -> credits taken."""
    taken: dict[int, int] = {}
    left = amount
    for pin in pins:
        if left == 0:
            break
        part = min(pin.remaining, left)
        if part == 0:
            continue
        pin.remaining -= part
        pin.save(update_fields=["remaining"])
        taken[pin.lot_id] = part
        left -= part
    if left:  # an invariant broke: refuse (the transaction rolls back) rather than overdraw
        raise BillingError(f"reservation pins are {left} credits short")
    return taken


# --- credit operations (the engine's API) ---------------------------------------------------


def credits_balance(*, workspace: Workspace) -> Balance:
    """The cached balance (no lock): what the dashboard and the API show."""
    row = CreditBalance.objects.filter(workspace=workspace).first()
    if row is None:
        return Balance(available=0, reserved=0)
    return Balance(available=row.available, reserved=row.reserved)


@transaction.atomic
def credits_reserve(
    *, workspace: Workspace, amount: int, reference: str, idempotency_key: str
) -> Reservation:
    """Hold `amount` credits for `reference`, all or nothing, pinned to lots oldest expiry
    first. Raises `InsufficientCredits` ("needs N credits, has M") and reserves nothing when
    the available balance is short. The same idempotency key returns the same reservation;
    a new key on an existing reference adds to that reservation."""
    if amount <= 0:
        raise ValueError("amount must be positive")
    now = timezone.now()
    balance = lock_objects.balance_lock(workspace_id=workspace.pk)
    if _replayed(
        idempotency_key,
        workspace_id=workspace.pk,
        kind=LedgerEntry.Kind.RESERVATION,
        reference=reference,
    ):
        return Reservation.objects.get(workspace=workspace, reference=reference)
    _expire_lots(balance, now=now)  # the balance must not count lots that just expired
    if balance.available < amount:
        raise InsufficientCredits(needed=amount, available=balance.available)

    allocations: dict[int, int] = {}
    left = amount
    lots = _live_lots(workspace.pk, now)
    for lot in lots:
        part = min(lot.credits_free, left)
        if part <= 0:
            continue
        lot.credits_reserved += part
        lot.save(update_fields=["credits_reserved"])
        allocations[lot.pk] = part
        left -= part
        if left == 0:
            break
    if left:  # the cached balance disagrees with the lots: refuse rather than overdraw
        raise InsufficientCredits(needed=amount, available=amount - left)

    reservation = lock_objects.reservation_lock(workspace_id=workspace.pk, reference=reference)
    if reservation is None:
        reservation = Reservation.objects.create(
            workspace=workspace,
            reference=reference,
            idempotency_key=idempotency_key,
            amount=amount,
            remaining=amount,
        )
    else:
        reservation.amount += amount
        reservation.remaining += amount
        reservation.status = Reservation.Status.ACTIVE
        reservation.save(update_fields=["amount", "remaining", "status"])
    for lot_id, part in allocations.items():
        pin, created = ReservationLot.objects.get_or_create(
            reservation=reservation, lot_id=lot_id, defaults={"amount": part, "remaining": part}
        )
        if not created:
            pin.amount += part
            pin.remaining += part
            pin.save(update_fields=["amount", "remaining"])

    _write(
        balance,
        kind=LedgerEntry.Kind.RESERVATION,
        amount=0,
        reserved_delta=amount,
        key=idempotency_key,
        reference=reference,
        allocations=allocations,
        now=now,
    )
    audit_record(
        workspace=workspace,
        action="billing.credits.reserved",
        target=reservation,
        details={"credits": amount, "reference": reference},
    )
    _low_balance_check(balance)
    return reservation


@transaction.atomic
def credits_consume(
    *, workspace: Workspace, reference: str, amount: int, idempotency_key: str
) -> LedgerEntry:
    """Spend `amount` reserved credits of `reference` (messages accepted by the gateway), from
    the reservation's oldest-expiring lots first. Raises `ReservationNotFound`, or
    `InsufficientCredits` if the reservation holds less than `amount`."""
    if amount <= 0:
        raise ValueError("amount must be positive")
    balance = lock_objects.balance_lock(workspace_id=workspace.pk)
    replay = _replayed(
        idempotency_key,
        workspace_id=workspace.pk,
        kind=LedgerEntry.Kind.CONSUMPTION,
        reference=reference,
    )
    if replay:
        return replay
    reservation = lock_objects.reservation_lock(workspace_id=workspace.pk, reference=reference)
    if reservation is None:
        raise ReservationNotFound(reference)
    if reservation.remaining < amount:
        raise InsufficientCredits(needed=amount, available=reservation.remaining)

    pins = list(reservation.pins.select_related("lot").filter(remaining__gt=0))
    lots = {
        lot.pk: lot
        for lot in lock_objects.lots_lock(CreditLot.objects.filter(pk__in=[p.lot_id for p in pins]))
    }
    pins.sort(key=lambda p: (lots[p.lot_id].expires_at, p.lot_id))
    taken = _take_from_pins(pins, amount)
    for lot_id, part in taken.items():
        lot = lots[lot_id]
        lot.credits_remaining -= part
        lot.credits_reserved -= part
        lot.save(update_fields=["credits_remaining", "credits_reserved"])
    reservation.remaining -= amount
    if reservation.remaining == 0:
        reservation.status = Reservation.Status.SETTLED
    reservation.save(update_fields=["remaining", "status"])
    entry = _write(
        balance,
        kind=LedgerEntry.Kind.CONSUMPTION,
        amount=-amount,
        reserved_delta=-amount,
        key=idempotency_key,
        reference=reference,
        lot=lots[next(iter(taken))] if len(taken) == 1 else None,
        allocations=taken,
    )
    audit_record(
        workspace=workspace,
        action="billing.credits.consumed",
        target=reservation,
        details={"credits": amount, "reference": reference},
    )
    return entry


@transaction.atomic
def credits_release(
    *, workspace: Workspace, reference: str, amount: int | None = None, idempotency_key: str
) -> LedgerEntry | None:
    """Give back `amount` (None: all that is left) of the reservation of `reference`: failed,
    skipped or cancelled messages. Credits pinned to a lot that has since expired or been
    revoked are written off as they come back. Returns None when nothing was left to release."""
    now = timezone.now()
    balance = lock_objects.balance_lock(workspace_id=workspace.pk)
    replay = _replayed(
        idempotency_key,
        workspace_id=workspace.pk,
        kind=LedgerEntry.Kind.RELEASE,
        reference=reference,
    )
    if replay:
        return replay
    reservation = lock_objects.reservation_lock(workspace_id=workspace.pk, reference=reference)
    if reservation is None:
        raise ReservationNotFound(reference)
    amount = reservation.remaining if amount is None else amount
    if amount < 0:
        raise ValueError("amount must not be negative")
    if amount == 0:
        return None
    if reservation.remaining < amount:
        raise InsufficientCredits(needed=amount, available=reservation.remaining)

    pins = list(reservation.pins.filter(remaining__gt=0))
    lots = {
        lot.pk: lot
        for lot in lock_objects.lots_lock(CreditLot.objects.filter(pk__in=[p.lot_id for p in pins]))
    }
    # Release from live lots first, latest expiry first: what stays reserved is what would
    # otherwise be lost, so the workspace gets the most out of its credits.
    pins.sort(key=lambda p: (lots[p.lot_id].is_dead(now), -lots[p.lot_id].expires_at.timestamp()))
    taken = _take_from_pins(pins, amount)
    reservation.remaining -= amount
    if reservation.remaining == 0:
        reservation.status = Reservation.Status.SETTLED
    reservation.save(update_fields=["remaining", "status"])
    entry = _write(
        balance,
        kind=LedgerEntry.Kind.RELEASE,
        amount=0,
        reserved_delta=-amount,
        key=idempotency_key,
        reference=reference,
        allocations=taken,
        now=now,
    )
    for lot_id, part in taken.items():
        lot = lots[lot_id]
        lot.credits_reserved -= part
        _write_off_if_dead(
            balance,
            lot,
            part,
            key=f"{idempotency_key}:writeoff:{lot.pk}",
            reference=reference,
            reason="released into an expired or revoked lot",
            now=now,
        )
        lot.save(update_fields=["credits_remaining", "credits_reserved"])
    audit_record(
        workspace=workspace,
        action="billing.credits.released",
        target=reservation,
        details={"credits": amount, "reference": reference},
    )
    _low_balance_check(balance)
    return entry


@transaction.atomic
def credits_refund(
    *, workspace: Workspace, reference: str, amount: int, idempotency_key: str
) -> LedgerEntry | None:
    """Give back `amount` credits consumed under `reference` (messages the gateway accepted
    and later reported failed: users pay only for what did not fail), to the lots they were
    taken from, latest expiry first. A lot that has since expired or been revoked takes its
    credits back and writes them off at once. Never refunds more than was consumed; returns
    None when nothing is left to refund."""
    if amount <= 0:
        raise ValueError("amount must be positive")
    now = timezone.now()
    balance = lock_objects.balance_lock(workspace_id=workspace.pk)
    replay = _replayed(
        idempotency_key,
        workspace_id=workspace.pk,
        kind=LedgerEntry.Kind.REFUND,
        reference=reference,
    )
    if replay:
        return replay
    refundable: dict[int, int] = {}
    for kind, allocations in LedgerEntry.objects.filter(
        workspace_id=workspace.pk,
        reference=reference,
        kind__in=[LedgerEntry.Kind.CONSUMPTION, LedgerEntry.Kind.REFUND],
    ).values_list("kind", "allocations"):
        sign = 1 if kind == LedgerEntry.Kind.CONSUMPTION else -1
        for lot_id, part in (allocations or {}).items():
            refundable[int(lot_id)] = refundable.get(int(lot_id), 0) + sign * int(part)
    lots = {
        lot.pk: lot
        for lot in lock_objects.lots_lock(
            CreditLot.objects.filter(pk__in=[k for k, v in refundable.items() if v > 0])
        )
    }
    order = sorted(lots.values(), key=lambda lot: (lot.is_dead(now), -lot.expires_at.timestamp()))
    taken: dict[int, int] = {}
    left = amount
    for lot in order:
        part = min(refundable[lot.pk], left)
        if part > 0:
            taken[lot.pk] = part
            left -= part
    total = amount - left
    if total == 0:
        return None
    entry = _write(
        balance,
        kind=LedgerEntry.Kind.REFUND,
        amount=total,
        key=idempotency_key,
        reference=reference,
        allocations=taken,
        now=now,
    )
    for lot_id, part in taken.items():
        lot = lots[lot_id]
        lot.credits_remaining += part
        _write_off_if_dead(
            balance,
            lot,
            part,
            key=f"{idempotency_key}:writeoff:{lot.pk}",
            reference=reference,
            reason="refunded into an expired or revoked lot",
            now=now,
        )
        lot.save(update_fields=["credits_remaining"])
    audit_record(
        workspace=workspace,
        action="billing.credits.refunded",
        target=entry,
        details={"credits": total, "reference": reference},
    )
    _low_balance_check(balance)
    return entry


def credits_expire_due(now: datetime | None = None) -> int:
    """Write off the unreserved part of every expired lot, one workspace per transaction.
    Returns the number of credits written off. Safe to run any number of times."""
    now = now or timezone.now()
    workspace_ids = (
        CreditLot.objects.filter(
            expires_at__lte=now, expired_at__isnull=True, revoked_at__isnull=True
        )
        .values_list("workspace_id", flat=True)
        .distinct()
        .order_by("workspace_id")
    )
    total = 0
    for workspace_id in list(workspace_ids):
        with transaction.atomic():
            balance = lock_objects.balance_lock(workspace_id=workspace_id)
            total += _expire_lots(balance, now=now)
            _low_balance_check(balance)
    return total


@transaction.atomic
def credits_adjust(
    *,
    workspace: Workspace,
    amount: int,
    reason: str,
    actor: User | None,
    validity_days: int = 365,
    idempotency_key: str | None = None,
) -> LedgerEntry:
    """Staff correction. A positive amount creates a lot valid for `validity_days`; a negative
    one takes free credits from the oldest-expiring lots (`InsufficientCredits` if short)."""
    if amount == 0:
        raise ValueError("amount must not be zero")
    if not reason.strip():
        raise ValidationError(_("Give a reason for the adjustment."))
    now = timezone.now()
    key = idempotency_key or f"adjustment:{secrets.token_hex(12)}"
    balance = lock_objects.balance_lock(workspace_id=workspace.pk)
    replay = _replayed(key, workspace_id=workspace.pk, kind=LedgerEntry.Kind.ADJUSTMENT)
    if replay:
        return replay
    _expire_lots(balance, now=now)
    lot: CreditLot | None = None
    allocations: dict[int, int] = {}
    if amount > 0:
        lot = CreditLot.objects.create(
            workspace=workspace,
            credits_total=amount,
            credits_remaining=amount,
            expires_at=now + timedelta(days=validity_days),
        )
        allocations[lot.pk] = amount
    else:
        needed = -amount
        if balance.available < needed:
            raise InsufficientCredits(needed=needed, available=balance.available)
        left = needed
        for live in _live_lots(workspace.pk, now):
            part = min(live.credits_free, left)
            if part <= 0:
                continue
            live.credits_remaining -= part
            live.save(update_fields=["credits_remaining"])
            allocations[live.pk] = part
            left -= part
            if left == 0:
                break
        if left:
            raise InsufficientCredits(needed=needed, available=needed - left)
    entry = _write(
        balance,
        kind=LedgerEntry.Kind.ADJUSTMENT,
        amount=amount,
        key=key,
        lot=lot,
        allocations=allocations,
        actor=actor,
        reason=reason,
        now=now,
    )
    audit_record(
        workspace=workspace,
        action="billing.credits.adjusted",
        actor=actor,
        target=entry,
        details={"credits": amount, "reason": reason},
    )
    _low_balance_check(balance)
    return entry


@transaction.atomic
def credits_revoke_lot(
    *, lot: CreditLot, reason: str, actor: User | None = None
) -> LedgerEntry | None:
    """Chargeback or dispute: revoke the lot's unused credits (those not pinned by a
    reservation), audit it and tell the owner. Idempotent: a revoked lot is left alone."""
    now = timezone.now()
    balance = lock_objects.balance_lock(workspace_id=lot.workspace_id)
    (lot,) = lock_objects.lots_lock(CreditLot.objects.filter(pk=lot.pk))
    if lot.revoked_at is not None:
        return None
    free = 0 if lot.expired_at else lot.credits_free
    lot.revoked_at = now
    lot.credits_remaining -= free
    lot.save(update_fields=["revoked_at", "credits_remaining"])
    entry = _write(
        balance,
        kind=LedgerEntry.Kind.REVOCATION,
        amount=-free,
        key=f"revocation:{lot.pk}",
        lot=lot,
        actor=actor,
        reason=reason,
        reference=lot.order.payment_reference if lot.order is not None else "",
        now=now,
    )
    workspace = balance.workspace
    audit_record(
        workspace=workspace,
        action="billing.credits.revoked",
        actor=actor,
        target=lot,
        details={"credits": free, "reason": reason},
    )
    notify(
        kind="billing.revoked",
        workspace=workspace,
        text=_("%(credits)d unused credits were revoked: %(reason)s")
        % {"credits": free, "reason": reason},
        link=reverse("billing:overview", kwargs={"workspace_slug": workspace.slug}),
    )
    _low_balance_check(balance)
    return entry


# --- orders, payments, invoices ---------------------------------------------------------------

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
    """An order for one package, priced from the package now. Card orders need Stripe."""
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
                    buyer_company=(buyer_company or actor.company_name or workspace.name).strip(),
                    buyer_address=buyer_address.strip(),
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
    rate = Decimal(str(settings.INVOICE_VAT_RATE))
    total = order.amount
    net = (total / (1 + rate)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    vat = total - net
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
    _write(
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
            "invoice": invoice.number,
        },
    )
    _low_balance_check(balance)
    notify(
        kind="billing.paid",
        workspace=workspace,
        text=_("Payment received: %(credits)d credits added (order %(ref)s).")
        % {"credits": order.credits, "ref": order.payment_reference},
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
        text=_("Order %(ref)s was rejected: %(reason)s")
        % {"ref": order.payment_reference, "reason": order.status_reason},
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
        _low_balance_check(balance)
    return prefs


# --- Stripe -------------------------------------------------------------------------------


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
    return stripe.Webhook.construct_event(payload, signature, settings.STRIPE_WEBHOOK_SECRET)


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
