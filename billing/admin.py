"""Billing in Django admin: packages and prices, bank-transfer confirmation and rejection, and
read-only views of money and credit records (they change only through `billing.services`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from billing import services
from billing.models import (
    BillingSettings,
    CreditBalance,
    CreditLot,
    Invoice,
    InvoiceCounter,
    LedgerEntry,
    Order,
    Package,
    Payment,
    Reservation,
    ReservationLot,
    StripeEvent,
)

if TYPE_CHECKING:
    # django-stubs makes the admin classes generic in their model, but at runtime they cannot
    # be subscripted (that takes django_stubs_ext.monkeypatch(), which iSend does not run), so
    # only the type checker sees the parameters.
    _ReadOnlyAdminBase = admin.ModelAdmin[Any]  # one base for many models
    _PackageAdminBase = admin.ModelAdmin[Package]
    _OrderAdminBase = admin.ModelAdmin[Order]
    _BillingSettingsAdminBase = admin.ModelAdmin[BillingSettings]
    _PaymentInlineBase = admin.TabularInline[Payment, Order]
    _ReservationLotInlineBase = admin.TabularInline[ReservationLot, Reservation]
else:
    _ReadOnlyAdminBase = _PackageAdminBase = admin.ModelAdmin
    _OrderAdminBase = _BillingSettingsAdminBase = admin.ModelAdmin
    _PaymentInlineBase = _ReservationLotInlineBase = admin.TabularInline


class ReadOnlyAdmin(_ReadOnlyAdminBase):
    """Money and credit rows are written by services only; admin shows them."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Package)
class PackageAdmin(_PackageAdminBase):
    list_display = (
        "name",
        "credits",
        "validity_days",
        "price",
        "currency",
        "is_active",
        "sort_order",
    )
    list_editable = ("is_active", "sort_order")
    list_filter = ("is_active", "currency")
    search_fields = ("name",)


class PaymentInline(_PaymentInlineBase):
    model = Payment
    extra = 0
    can_delete = False
    readonly_fields = (
        "provider",
        "provider_id",
        "amount",
        "currency",
        "received_at",
        "recorded_by",
    )

    def has_add_permission(self, request: HttpRequest, obj: Order | None = None) -> bool:
        return False


class ConfirmForm(forms.Form):
    received_at = forms.DateTimeField(
        label=gettext_lazy("Received at"), initial=timezone.now, required=True
    )
    amount = forms.DecimalField(
        label=gettext_lazy("Amount received"),
        max_digits=12,
        decimal_places=2,
        required=False,
        help_text=gettext_lazy("Leave empty when the full amount of each order arrived."),
    )


class RejectForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("Reason"), widget=forms.Textarea, max_length=1000)


@admin.register(Order)
class OrderAdmin(_OrderAdminBase):
    list_display = (
        "payment_reference",
        "workspace",
        "package",
        "method",
        "status",
        "amount",
        "currency",
        "created_at",
        "confirmed_by",
        "confirmed_at",
    )
    list_filter = ("status", "method", "currency", "created_at")
    search_fields = ("payment_reference", "workspace__name", "workspace__slug", "buyer_company")
    list_select_related = ("workspace", "package", "confirmed_by")
    readonly_fields = [f.name for f in Order._meta.fields]
    inlines = [PaymentInline]
    actions = ["confirm_bank_transfer", "reject_orders"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Order | None = None) -> bool:
        return False

    @admin.action(description=gettext_lazy("Confirm bank transfer received"))
    def confirm_bank_transfer(
        self, request: HttpRequest, queryset: QuerySet[Order]
    ) -> HttpResponse | None:
        """Asks when the money arrived (and, optionally, how much), then activates each order
        once: confirming an order that is already paid changes nothing."""
        form = ConfirmForm(request.POST if "received_at" in request.POST else None)
        if form.is_valid():
            done = 0
            for order in queryset.order_by("pk"):
                try:
                    before = order.status
                    services.order_confirm_bank_transfer(
                        order=order,
                        actor=request.user,  # type: ignore[arg-type]
                        amount=form.cleaned_data["amount"],
                        received_at=form.cleaned_data["received_at"],
                    )
                    done += before != Order.Status.PAID
                except (services.BillingError, ValidationError) as exc:
                    self.message_user(request, f"{order}: {exc}", messages.ERROR)
            self.message_user(
                request,
                ngettext(
                    "%(n)d order confirmed and its credits activated.",
                    "%(n)d orders confirmed and their credits activated.",
                    done,
                )
                % {"n": done},
            )
            return None
        return render(
            request,
            "billing/admin_action_form.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Confirm bank transfers"),
                "intro": _(
                    "Credits are activated only for a payment that covers the order in full."
                ),
                "objects": queryset,
                "form": form,
                "action": "confirm_bank_transfer",
                "opts": self.model._meta,
                "submit": _("Confirm"),
            },
        )

    @admin.action(description=gettext_lazy("Reject with a reason"))
    def reject_orders(self, request: HttpRequest, queryset: QuerySet[Order]) -> HttpResponse | None:
        form = RejectForm(request.POST if "reason" in request.POST else None)
        if form.is_valid():
            for order in queryset.order_by("pk"):
                try:
                    services.order_reject(
                        order=order,
                        actor=request.user,  # type: ignore[arg-type]
                        reason=form.cleaned_data["reason"],
                    )
                except (services.BillingError, ValidationError) as exc:
                    self.message_user(request, f"{order}: {exc}", messages.ERROR)
            return None
        return render(
            request,
            "billing/admin_action_form.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Reject orders"),
                "intro": _("Reject these orders? The workspace owner is told the reason."),
                "objects": queryset,
                "form": form,
                "action": "reject_orders",
                "opts": self.model._meta,
                "submit": _("Reject"),
            },
        )


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = (
        "order",
        "provider",
        "provider_id",
        "amount",
        "currency",
        "received_at",
        "recorded_by",
    )
    list_filter = ("provider", "currency")
    search_fields = ("provider_id", "order__payment_reference")


@admin.register(CreditLot)
class CreditLotAdmin(ReadOnlyAdmin):
    list_display = (
        "pk",
        "workspace",
        "order",
        "credits_total",
        "credits_remaining",
        "credits_reserved",
        "expires_at",
        "expired_at",
        "revoked_at",
    )
    list_filter = ("expires_at", "revoked_at")
    search_fields = ("workspace__name", "workspace__slug", "order__payment_reference")
    actions = ["revoke_unused"]

    @admin.action(description=gettext_lazy("Revoke unused credits (chargeback)"))
    def revoke_unused(self, request: HttpRequest, queryset: QuerySet[CreditLot]) -> None:
        for lot in queryset.order_by("pk"):
            services.credits_revoke_lot(
                lot=lot,
                reason=_("revoked by staff"),
                actor=request.user,  # type: ignore[arg-type]
            )
        self.message_user(request, _("Unused credits revoked."))


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "workspace",
        "kind",
        "amount",
        "reserved_delta",
        "reference",
        "actor",
    )
    list_filter = ("kind", "created_at")
    search_fields = ("reference", "idempotency_key", "workspace__name", "workspace__slug")
    list_select_related = ("workspace", "actor")


class AdjustForm(forms.Form):
    amount = forms.IntegerField(
        label=gettext_lazy("Credits (negative to remove)"), min_value=-(10**9), max_value=10**9
    )
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=1000)

    def clean_amount(self) -> int:
        amount: int = self.cleaned_data["amount"]
        if amount == 0:
            raise ValidationError(_("Enter a non-zero number of credits."))
        return amount


@admin.register(CreditBalance)
class CreditBalanceAdmin(ReadOnlyAdmin):
    list_display = ("workspace", "available", "reserved", "updated_at")
    search_fields = ("workspace__name", "workspace__slug")
    list_select_related = ("workspace",)
    actions = ["adjust_credits"]

    @admin.action(description=gettext_lazy("Adjust credits (goodwill or correction)"))
    def adjust_credits(
        self, request: HttpRequest, queryset: QuerySet[CreditBalance]
    ) -> HttpResponse | None:
        form = AdjustForm(request.POST if "reason" in request.POST else None)
        if form.is_valid():
            for balance in queryset.select_related("workspace").order_by("pk"):
                try:
                    services.credits_adjust(
                        workspace=balance.workspace,
                        amount=form.cleaned_data["amount"],
                        reason=form.cleaned_data["reason"],
                        actor=request.user,  # type: ignore[arg-type]
                    )
                except services.BillingError as exc:
                    self.message_user(request, f"{balance.workspace}: {exc}", messages.ERROR)
            return None
        return render(
            request,
            "billing/admin_action_form.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Adjust credits"),
                "objects": queryset,
                "form": form,
                "action": "adjust_credits",
                "opts": self.model._meta,
                "submit": _("Adjust"),
            },
        )


class ReservationLotInline(_ReservationLotInlineBase):
    model = ReservationLot
    extra = 0
    can_delete = False
    readonly_fields = ("lot", "amount", "remaining")

    def has_add_permission(self, request: HttpRequest, obj: Reservation | None = None) -> bool:
        return False


@admin.register(Reservation)
class ReservationAdmin(ReadOnlyAdmin):
    list_display = ("reference", "workspace", "amount", "remaining", "status", "created_at")
    list_filter = ("status",)
    search_fields = ("reference", "idempotency_key", "workspace__name")
    inlines = [ReservationLotInline]


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyAdmin):
    list_display = ("number", "workspace", "buyer_name", "total", "currency", "issued_at")
    list_filter = ("year", "currency")
    search_fields = ("number", "buyer_name", "order__payment_reference", "workspace__name")


@admin.register(InvoiceCounter)
class InvoiceCounterAdmin(ReadOnlyAdmin):
    list_display = ("year", "last")


@admin.register(StripeEvent)
class StripeEventAdmin(ReadOnlyAdmin):
    list_display = ("event_id", "type", "received_at", "processed_at", "outcome")
    list_filter = ("type",)
    search_fields = ("event_id",)


@admin.register(BillingSettings)
class BillingSettingsAdmin(_BillingSettingsAdminBase):
    list_display = ("workspace", "low_balance_threshold", "low_balance_notified")
    search_fields = ("workspace__name", "workspace__slug")
    readonly_fields = ("low_balance_notified",)
