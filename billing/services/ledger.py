"""The ledger's internals, shared by the credit operations and by purchase activation: the
idempotency check, the one writer of ledger entries (which moves the cached balance with them),
the lots' expiry and write-offs, and the low-balance notice. Every function here expects the
caller to hold the workspace's balance lock (`lock_objects.balance_lock`) and to run inside the
caller's transaction. Internal to `billing.services` (its `__init__` does not re-export them)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Model
from django.urls import reverse
from django.utils import timezone

from accounts.models import PluralNotice, User, Workspace
from accounts.services import audit_record, notify
from billing import lock_objects
from billing.models import BillingSettings, CreditBalance, CreditLot, LedgerEntry, ReservationLot
from billing.services.errors import BillingError, IdempotencyConflict
from core.events import credits_low_event, events_publish


def _entry_for_key(idempotency_key: str) -> LedgerEntry | None:
    return LedgerEntry.objects.filter(idempotency_key=idempotency_key).first()


def ledger_replayed(
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


def ledger_write(
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


def live_lots(workspace_id: int, now: datetime) -> list[CreditLot]:
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


def expire_lots(balance: CreditBalance, *, now: datetime) -> int:
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
            ledger_write(
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


def low_balance_check(balance: CreditBalance) -> None:
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
            text=PluralNotice.ngettext(
                "Low balance: %(available)d credit left (your threshold is %(threshold)d).",
                "Low balance: %(available)d credits left (your threshold is %(threshold)d).",
                "available",
            ),
            params={"available": balance.available, "threshold": prefs.low_balance_threshold},
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
    ledger_write(
        balance,
        kind=(LedgerEntry.Kind.REVOCATION if lot.revoked_at else LedgerEntry.Kind.EXPIRY),
        amount=-part,
        key=key,
        reference=reference,
        lot=lot,
        reason=reason,
        now=now,
    )


def take_from_pins(pins: Iterable[ReservationLot], amount: int) -> dict[int, int]:
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


@dataclass(frozen=True)
class CreditsBack:
    """Credits a release or a refund gives back to lots, already added to the lot objects in
    memory. `post_credit_change` writes off at once what came back into a lot that has since
    expired or been revoked, then saves each lot's `lot_fields`."""

    lots: list[tuple[CreditLot, int]]
    writeoff_reason: str
    lot_fields: list[str]


def post_credit_change(
    balance: CreditBalance,
    *,
    workspace: Workspace,
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
    audit_action: str,
    audit_target: Model | None = None,
    audit_details: dict[str, Any],
    credits_back: CreditsBack | None = None,
    check_low_balance: bool = True,
) -> LedgerEntry:
    """How a credit operation ends, in this order, under the balance lock its caller took (and
    after its replay check): append the ledger entry, which moves the cached balance; write off
    credits that came back into dead lots; write the audit row (`audit_target`, or the entry
    itself); re-check the low-balance notice against the new balance. Returns the entry."""
    entry = ledger_write(
        balance,
        kind=kind,
        amount=amount,
        reserved_delta=reserved_delta,
        key=key,
        reference=reference,
        lot=lot,
        allocations=allocations,
        actor=actor,
        reason=reason,
        now=now,
    )
    if credits_back is not None:
        for back_lot, part in credits_back.lots:
            _write_off_if_dead(
                balance,
                back_lot,
                part,
                key=f"{key}:writeoff:{back_lot.pk}",
                reference=reference,
                reason=credits_back.writeoff_reason,
                now=now or timezone.now(),
            )
            back_lot.save(update_fields=credits_back.lot_fields)
    audit_record(
        workspace=workspace,
        action=audit_action,
        actor=actor,
        target=entry if audit_target is None else audit_target,
        details=audit_details,
    )
    if check_low_balance:
        low_balance_check(balance)
    return entry
