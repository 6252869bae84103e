"""Billing: packages, orders and payments, the credit ledger, reservations and invoices.

Credits are whole numbers. A purchase creates a `CreditLot`; every change to credits writes one
append-only `LedgerEntry` and updates the workspace's cached `CreditBalance` under a row lock in
the same transaction (see `billing.services`). Ledger sign convention:

- `amount` is the change to the credits the workspace holds (available + reserved);
- `reserved_delta` is the change to the reserved part.

So `balance.available + balance.reserved == sum(amount)` and `balance.reserved ==
sum(reserved_delta)`; `manage.py billing_check_ledger` verifies both, and the lots."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.tenancy import WorkspaceOwned
from billing.validators import validate_invoice_address


class Currency(models.TextChoices):
    AZN = "AZN", "AZN"
    USD = "USD", "USD"


class Package(models.Model):
    """A credit package on sale. Managed by staff in admin; orders copy its price."""

    name = models.CharField(_("name"), max_length=100)
    credits = models.PositiveIntegerField(_("credits"), validators=[MinValueValidator(1)])
    validity_days = models.PositiveIntegerField(
        _("validity (days)"), validators=[MinValueValidator(1)]
    )
    price = models.DecimalField(
        _("price (VAT included)"),
        max_digits=12,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01"))],
    )
    currency = models.CharField(
        _("currency"), max_length=3, choices=Currency.choices, default=Currency.AZN
    )
    is_active = models.BooleanField(_("on sale"), default=True)
    sort_order = models.IntegerField(_("sort order"), default=0)

    class Meta:
        ordering = ["sort_order", "price", "pk"]
        verbose_name = _("package")
        verbose_name_plural = _("packages")
        constraints = [
            models.CheckConstraint(condition=Q(credits__gt=0), name="package_credits_positive"),
            models.CheckConstraint(condition=Q(price__gt=0), name="package_price_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.credits} / {self.price} {self.currency})"


class Order(WorkspaceOwned):
    """One purchase attempt. Credits are activated only when the order is paid in full."""

    class Method(models.TextChoices):
        CARD = "card", _("Card (Stripe)")
        BANK_TRANSFER = "bank_transfer", _("Bank transfer")

    class Status(models.TextChoices):
        PENDING = "pending", _("Awaiting payment")
        PAID = "paid", _("Paid")
        FAILED = "failed", _("Payment failed")
        CANCELLED = "cancelled", _("Cancelled")
        REJECTED = "rejected", _("Rejected")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    package = models.ForeignKey(Package, on_delete=models.PROTECT, related_name="orders")
    method = models.CharField(_("method"), max_length=20, choices=Method.choices)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    credits = models.PositiveIntegerField(_("credits"))
    validity_days = models.PositiveIntegerField(_("validity (days)"))
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, choices=Currency.choices)
    payment_reference = models.CharField(_("payment reference"), max_length=20, unique=True)
    stripe_session_id = models.CharField(max_length=255, blank=True, db_index=True)
    stripe_payment_intent = models.CharField(max_length=255, blank=True, db_index=True)
    buyer_company = models.CharField(_("buyer company"), max_length=200, blank=True)
    buyer_address = models.TextField(
        _("buyer address"), blank=True, validators=[validate_invoice_address]
    )
    buyer_tax_id = models.CharField(_("buyer tax ID"), max_length=40, blank=True)
    buyer_email = models.EmailField(_("buyer e-mail"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    confirmed_at = models.DateTimeField(null=True, blank=True)
    status_reason = models.TextField(_("reason"), blank=True)
    disputed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("order")
        verbose_name_plural = _("orders")

    def __str__(self) -> str:
        return self.payment_reference

    @property
    def is_pending(self) -> bool:
        return self.status == self.Status.PENDING


class Payment(models.Model):
    """Money received for an order. `(provider, provider_id)` is unique, so recording the same
    bank transfer or Stripe payment twice is impossible at the database level."""

    class Provider(models.TextChoices):
        STRIPE = "stripe", "Stripe"
        BANK_TRANSFER = "bank_transfer", _("Bank transfer")

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="payments")
    provider = models.CharField(max_length=20, choices=Provider.choices)
    provider_id = models.CharField(max_length=255)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3, choices=Currency.choices)
    received_at = models.DateTimeField(default=timezone.now)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "provider_id"], name="payment_unique_id")
        ]

    def __str__(self) -> str:
        return f"{self.provider}:{self.provider_id} {self.amount} {self.currency}"


class CreditLot(WorkspaceOwned):
    """Credits from one purchase (or a staff adjustment), with one expiry date.

    `credits_remaining` counts credits not yet consumed nor written off, including the
    `credits_reserved` part pinned by reservations. Expiry and revocation write off only the
    unreserved part; pinned credits stay usable by the reservation that holds them."""

    order = models.OneToOneField(
        Order, null=True, blank=True, on_delete=models.PROTECT, related_name="lot"
    )
    credits_total = models.PositiveIntegerField()
    credits_remaining = models.PositiveIntegerField()
    credits_reserved = models.PositiveIntegerField(default=0)
    expires_at = models.DateTimeField(db_index=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    expired_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["expires_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(credits_remaining__lte=F("credits_total")),
                name="lot_remaining_le_total",
            ),
            models.CheckConstraint(
                condition=Q(credits_reserved__lte=F("credits_remaining")),
                name="lot_reserved_le_remaining",
            ),
        ]

    def __str__(self) -> str:
        return f"lot {self.pk}: {self.credits_remaining}/{self.credits_total}"

    @property
    def credits_free(self) -> int:
        return self.credits_remaining - self.credits_reserved

    def is_dead(self, now: datetime | None = None) -> bool:
        """Expired or revoked: its unreserved credits are gone and nothing new is pinned."""
        if self.revoked_at is not None or self.expired_at is not None:
            return True
        return self.expires_at <= (now or timezone.now())


class CreditBalance(models.Model):
    """The cached balance, one row per workspace, changed only under `select_for_update` in the
    transaction that writes the matching ledger entry."""

    workspace = models.OneToOneField(
        "accounts.Workspace", on_delete=models.CASCADE, related_name="credit_balance"
    )
    available = models.BigIntegerField(default=0)
    reserved = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(available__gte=0), name="balance_available_gte_0"),
            models.CheckConstraint(condition=Q(reserved__gte=0), name="balance_reserved_gte_0"),
        ]

    def __str__(self) -> str:
        return f"{self.workspace_id}: {self.available} available, {self.reserved} reserved"


class LedgerEntry(WorkspaceOwned):
    """Append-only record of every credit change (see the module docstring for the signs)."""

    class Kind(models.TextChoices):
        PURCHASE = "purchase", _("Purchase")
        RESERVATION = "reservation", _("Reservation")
        CONSUMPTION = "consumption", _("Consumption")
        RELEASE = "release", _("Release")
        EXPIRY = "expiry", _("Expiry")
        ADJUSTMENT = "adjustment", _("Adjustment")
        REVOCATION = "revocation", _("Revocation")
        REFUND = "refund", _("Refund")

    kind = models.CharField(max_length=16, choices=Kind.choices, db_index=True)
    amount = models.BigIntegerField()
    reserved_delta = models.BigIntegerField(default=0)
    lot = models.ForeignKey(
        CreditLot, null=True, blank=True, on_delete=models.PROTECT, related_name="entries"
    )
    allocations = models.JSONField(default=dict, blank=True)
    reference = models.CharField(max_length=200, blank=True, db_index=True)
    idempotency_key = models.CharField(max_length=200, unique=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = _("ledger entries")
        indexes = [models.Index(fields=["workspace", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount:+d} ({self.reference})"


class Reservation(WorkspaceOwned):
    """Credits held for one piece of work (e.g. a campaign), pinned to specific lots."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        SETTLED = "settled", _("Settled")

    reference = models.CharField(max_length=200)
    idempotency_key = models.CharField(max_length=200, unique=True)
    amount = models.PositiveIntegerField()
    remaining = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "reference"], name="reservation_unique_reference"
            ),
            models.CheckConstraint(
                condition=Q(remaining__lte=F("amount")), name="reservation_remaining_le_amount"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference}: {self.remaining}/{self.amount}"


class ReservationLot(models.Model):
    """How much of a reservation is pinned to one lot (`remaining` is still held there)."""

    reservation = models.ForeignKey(Reservation, on_delete=models.CASCADE, related_name="pins")
    lot = models.ForeignKey(CreditLot, on_delete=models.PROTECT, related_name="pins")
    amount = models.PositiveIntegerField()
    remaining = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["reservation", "lot"], name="reservation_lot_unique"),
            models.CheckConstraint(
                condition=Q(remaining__lte=F("amount")), name="pin_remaining_le_amount"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reservation_id}@{self.lot_id}: {self.remaining}/{self.amount}"


class InvoiceCounter(models.Model):
    """The last invoice number issued per year; locked while a number is taken, so numbers are
    gapless (a rolled-back payment rolls back its number too)."""

    year = models.PositiveIntegerField(primary_key=True)
    last = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.year}: {self.last}"


class Invoice(WorkspaceOwned):
    """A tax invoice, issued when an order is paid. Seller and buyer are snapshots."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    order = models.OneToOneField(Order, on_delete=models.PROTECT, related_name="invoice")
    number = models.CharField(max_length=32, unique=True)
    year = models.PositiveIntegerField()
    seq = models.PositiveIntegerField()
    issued_at = models.DateTimeField(default=timezone.now)
    seller_name = models.CharField(max_length=200)
    seller_address = models.TextField(blank=True)
    seller_tax_id = models.CharField(max_length=40, blank=True)
    buyer_name = models.CharField(max_length=200)
    buyer_address = models.TextField(blank=True)
    buyer_tax_id = models.CharField(max_length=40, blank=True)
    vat_rate = models.DecimalField(max_digits=5, decimal_places=4)
    lines = models.JSONField(default=list)
    net = models.DecimalField(max_digits=12, decimal_places=2)
    vat = models.DecimalField(max_digits=12, decimal_places=2)
    total = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3, choices=Currency.choices)

    class Meta:
        ordering = ["-year", "-seq"]
        constraints = [
            models.UniqueConstraint(fields=["year", "seq"], name="invoice_unique_year_seq")
        ]

    def __str__(self) -> str:
        return self.number


class StripeEvent(models.Model):
    """Each Stripe webhook event, stored once (its id is unique) whatever the delivery count."""

    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100, db_index=True)
    payload = models.JSONField()
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"


class BillingSettings(models.Model):
    """Per-workspace billing preferences: the low-balance threshold and whether the workspace
    has already been told it crossed it (so it is told once per crossing)."""

    workspace = models.OneToOneField(
        "accounts.Workspace", on_delete=models.CASCADE, related_name="billing_settings"
    )
    low_balance_threshold = models.PositiveIntegerField(_("low-balance threshold"), default=0)
    low_balance_notified = models.BooleanField(default=False)

    class Meta:
        verbose_name_plural = _("billing settings")

    def __str__(self) -> str:
        return f"{self.workspace_id}: threshold {self.low_balance_threshold}"
