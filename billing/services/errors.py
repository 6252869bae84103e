"""Billing's errors: every rule violation a caller may catch. The messages are safe to show to
the user."""

from __future__ import annotations

from django.utils.translation import gettext as _


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
