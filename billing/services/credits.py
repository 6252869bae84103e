"""Credit operations: the balance, reservations and their consumption, release and refund (the
campaign engine's API), expiry, staff adjustments and revocation.

Each credit change locks the workspace's `CreditBalance` row first (see `lock_objects` for the
global lock order), writes one append-only `LedgerEntry`, updates the cached balance and the
lots, and writes an audit row, all in one transaction. Every operation carries an idempotency
key (unique on the ledger): calling it again with the same key returns the first result and
changes nothing."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import PluralNotice, User, Workspace
from accounts.services import audit_record, notify
from billing import lock_objects
from billing.models import CreditBalance, CreditLot, LedgerEntry, Reservation, ReservationLot
from billing.services.errors import InsufficientCredits, ReservationNotFound
from billing.services.ledger import (
    CreditsBack,
    expire_lots,
    ledger_replayed,
    ledger_write,
    live_lots,
    low_balance_check,
    post_credit_change,
    take_from_pins,
)


@dataclass(frozen=True)
class Balance:
    available: int
    reserved: int


def credits_balance(*, workspace: Workspace) -> Balance:
    """The cached balance (no lock): what the dashboard and the API show."""
    row = CreditBalance.objects.filter(workspace=workspace).first()
    if row is None:
        return Balance(available=0, reserved=0)
    return Balance(available=row.available, reserved=row.reserved)


def _reserve_on_live_lots(workspace_id: int, amount: int, now: datetime) -> dict[int, int]:
    """Reserve `amount` free credits on the workspace's live lots, oldest expiry first; returns
    lot id -> credits. Raises `InsufficientCredits` when the lots hold less than the cached
    balance said (the caller's transaction then rolls back rather than overdraw)."""
    allocations: dict[int, int] = {}
    left = amount
    lots = live_lots(workspace_id, now)
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
    return allocations


def _reservation_add(
    *,
    workspace: Workspace,
    reference: str,
    idempotency_key: str,
    amount: int,
    allocations: dict[int, int],
) -> Reservation:
    """Open the reservation of `reference`, or add to it (reactivating it), and pin the
    allocated credits to their lots."""
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
    return reservation


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
    if ledger_replayed(
        idempotency_key,
        workspace_id=workspace.pk,
        kind=LedgerEntry.Kind.RESERVATION,
        reference=reference,
    ):
        return Reservation.objects.get(workspace=workspace, reference=reference)
    expire_lots(balance, now=now)  # the balance must not count lots that just expired
    if balance.available < amount:
        raise InsufficientCredits(needed=amount, available=balance.available)
    allocations = _reserve_on_live_lots(workspace.pk, amount, now)
    reservation = _reservation_add(
        workspace=workspace,
        reference=reference,
        idempotency_key=idempotency_key,
        amount=amount,
        allocations=allocations,
    )
    post_credit_change(
        balance,
        workspace=workspace,
        kind=LedgerEntry.Kind.RESERVATION,
        amount=0,
        reserved_delta=amount,
        key=idempotency_key,
        reference=reference,
        allocations=allocations,
        now=now,
        audit_action="billing.credits.reserved",
        audit_target=reservation,
        audit_details={"credits": amount, "reference": reference},
    )
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
    replay = ledger_replayed(
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
    taken = take_from_pins(pins, amount)
    for lot_id, part in taken.items():
        lot = lots[lot_id]
        lot.credits_remaining -= part
        lot.credits_reserved -= part
        lot.save(update_fields=["credits_remaining", "credits_reserved"])
    reservation.remaining -= amount
    if reservation.remaining == 0:
        reservation.status = Reservation.Status.SETTLED
    reservation.save(update_fields=["remaining", "status"])
    # Spending reserved credits leaves the available balance as it was: no low-balance check.
    return post_credit_change(
        balance,
        workspace=workspace,
        kind=LedgerEntry.Kind.CONSUMPTION,
        amount=-amount,
        reserved_delta=-amount,
        key=idempotency_key,
        reference=reference,
        lot=lots[next(iter(taken))] if len(taken) == 1 else None,
        allocations=taken,
        audit_action="billing.credits.consumed",
        audit_target=reservation,
        audit_details={"credits": amount, "reference": reference},
        check_low_balance=False,
    )


@transaction.atomic
def credits_release(
    *, workspace: Workspace, reference: str, amount: int | None = None, idempotency_key: str
) -> LedgerEntry | None:
    """Give back `amount` (None: all that is left) of the reservation of `reference`: failed,
    skipped or cancelled messages. Credits pinned to a lot that has since expired or been
    revoked are written off as they come back. Returns None when nothing was left to release."""
    now = timezone.now()
    balance = lock_objects.balance_lock(workspace_id=workspace.pk)
    replay = ledger_replayed(
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
    taken = take_from_pins(pins, amount)
    reservation.remaining -= amount
    if reservation.remaining == 0:
        reservation.status = Reservation.Status.SETTLED
    reservation.save(update_fields=["remaining", "status"])
    for lot_id, part in taken.items():
        lots[lot_id].credits_reserved -= part
    return post_credit_change(
        balance,
        workspace=workspace,
        kind=LedgerEntry.Kind.RELEASE,
        amount=0,
        reserved_delta=-amount,
        key=idempotency_key,
        reference=reference,
        allocations=taken,
        now=now,
        audit_action="billing.credits.released",
        audit_target=reservation,
        audit_details={"credits": amount, "reference": reference},
        credits_back=CreditsBack(
            lots=[(lots[lot_id], part) for lot_id, part in taken.items()],
            writeoff_reason="released into an expired or revoked lot",
            lot_fields=["credits_remaining", "credits_reserved"],
        ),
    )


def _refundable_by_lot(*, workspace_id: int, reference: str) -> dict[int, int]:
    """Lot id -> credits consumed under `reference` and not refunded yet (may be zero)."""
    refundable: dict[int, int] = {}
    for kind, allocations in LedgerEntry.objects.filter(
        workspace_id=workspace_id,
        reference=reference,
        kind__in=[LedgerEntry.Kind.CONSUMPTION, LedgerEntry.Kind.REFUND],
    ).values_list("kind", "allocations"):
        sign = 1 if kind == LedgerEntry.Kind.CONSUMPTION else -1
        for lot_id, part in (allocations or {}).items():
            refundable[int(lot_id)] = refundable.get(int(lot_id), 0) + sign * int(part)
    return refundable


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
    replay = ledger_replayed(
        idempotency_key,
        workspace_id=workspace.pk,
        kind=LedgerEntry.Kind.REFUND,
        reference=reference,
    )
    if replay:
        return replay
    refundable = _refundable_by_lot(workspace_id=workspace.pk, reference=reference)
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
    for lot_id, part in taken.items():
        lots[lot_id].credits_remaining += part
    return post_credit_change(
        balance,
        workspace=workspace,
        kind=LedgerEntry.Kind.REFUND,
        amount=total,
        key=idempotency_key,
        reference=reference,
        allocations=taken,
        now=now,
        audit_action="billing.credits.refunded",
        audit_details={"credits": total, "reference": reference},
        credits_back=CreditsBack(
            lots=[(lots[lot_id], part) for lot_id, part in taken.items()],
            writeoff_reason="refunded into an expired or revoked lot",
            lot_fields=["credits_remaining"],
        ),
    )


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
            total += expire_lots(balance, now=now)
            low_balance_check(balance)
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
    replay = ledger_replayed(key, workspace_id=workspace.pk, kind=LedgerEntry.Kind.ADJUSTMENT)
    if replay:
        return replay
    expire_lots(balance, now=now)
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
        for live in live_lots(workspace.pk, now):
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
    return post_credit_change(
        balance,
        workspace=workspace,
        kind=LedgerEntry.Kind.ADJUSTMENT,
        amount=amount,
        key=key,
        lot=lot,
        allocations=allocations,
        actor=actor,
        reason=reason,
        now=now,
        audit_action="billing.credits.adjusted",
        audit_details={"credits": amount, "reason": reason},
    )


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
    entry = ledger_write(
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
        text=PluralNotice.ngettext(
            "%(credits)d unused credit was revoked: %(reason)s",
            "%(credits)d unused credits were revoked: %(reason)s",
            "credits",
        ),
        params={"credits": free, "reason": reason},
        link=reverse("billing:overview", kwargs={"workspace_slug": workspace.slug}),
    )
    low_balance_check(balance)
    return entry
