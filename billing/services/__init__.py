"""Every write to billing: orders, payments, the credit ledger, reservations and invoices.

Plain functions with keyword-only arguments; each is one transaction. Credit changes lock the
workspace's `CreditBalance` row first (see `lock_objects` for the global lock order), write one
append-only `LedgerEntry`, update the cached balance and the lots, and write an audit row, all in
the same transaction. Every credit operation carries an idempotency key (unique on the ledger):
calling it again with the same key returns the first result and changes nothing.

Billing never imports messaging: the campaign engine calls `credits_reserve`,
`credits_consume` and `credits_release` with its own reference strings.

The functions live in topical modules (`errors`, `ledger`, `credits`, `orders`,
`stripe_checkout`); this package re-exports the public ones, so callers keep writing
`from billing import services` and `services.credits_reserve(...)`."""

from __future__ import annotations

from billing.services.credits import (
    Balance,
    credits_adjust,
    credits_balance,
    credits_consume,
    credits_expire_due,
    credits_refund,
    credits_release,
    credits_reserve,
    credits_revoke_lot,
)
from billing.services.errors import (
    BillingError,
    IdempotencyConflict,
    InsufficientCredits,
    PaymentMismatch,
    ReservationNotFound,
)
from billing.services.orders import (
    billing_settings_update,
    credits_purchase_activate,
    order_cancel,
    order_confirm_bank_transfer,
    order_create,
    order_reject,
)
from billing.services.stripe_checkout import (
    order_checkout_start,
    stripe_event_construct,
    stripe_event_process,
)

__all__ = [
    "Balance",
    "BillingError",
    "IdempotencyConflict",
    "InsufficientCredits",
    "PaymentMismatch",
    "ReservationNotFound",
    "billing_settings_update",
    "credits_adjust",
    "credits_balance",
    "credits_consume",
    "credits_expire_due",
    "credits_purchase_activate",
    "credits_refund",
    "credits_release",
    "credits_reserve",
    "credits_revoke_lot",
    "order_cancel",
    "order_checkout_start",
    "order_confirm_bank_transfer",
    "order_create",
    "order_reject",
    "stripe_event_construct",
    "stripe_event_process",
]
