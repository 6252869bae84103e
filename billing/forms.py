from __future__ import annotations

import re

from django import forms
from django.utils.translation import gettext_lazy as _

from billing.models import Order, Package
from billing.validators import INVOICE_ADDRESS_MAX_CHARS, validate_invoice_address

#: An Azerbaijani taxpayer number (VÖEN) is ten digits.
VOEN_DIGITS = 10


class BuyForm(forms.Form):
    """A package and a payment method, both radio buttons. The methods offered are those the
    seller can take: card when Stripe is configured, bank transfer when the seller's bank
    details are (`INVOICE_SELLER_BANK_DETAILS`)."""

    package = forms.ModelChoiceField(
        queryset=Package.objects.none(),
        label=_("Package"),
        empty_label=None,
        widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
    )
    method = forms.ChoiceField(
        choices=Order.Method.choices,
        label=_("Payment method"),
        widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
    )
    buyer_company = forms.CharField(label=_("Company or name on the invoice"), max_length=200)
    buyer_address = forms.CharField(
        label=_("Address"),
        widget=forms.Textarea(attrs={"rows": 2, "maxlength": INVOICE_ADDRESS_MAX_CHARS}),
        required=False,
    )
    buyer_tax_id = forms.CharField(
        label=_("Tax ID (VÖEN)"),
        max_length=40,
        required=False,
        help_text=_("10 digits; a company outside Azerbaijan: its country code and tax number."),
    )
    accept_no_refund = forms.BooleanField(
        label=_("I understand that payments are non-refundable."), required=True
    )

    def __init__(
        self,
        *args: object,
        card_enabled: bool,
        bank_transfer_enabled: bool,
        **kwargs: object,
    ) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["package"].queryset = Package.objects.filter(is_active=True)  # type: ignore[attr-defined]
        methods: list[tuple[str, str]] = []
        if card_enabled:
            methods.append((Order.Method.CARD.value, str(Order.Method.CARD.label)))
        if bank_transfer_enabled:
            methods.append(
                (Order.Method.BANK_TRANSFER.value, str(Order.Method.BANK_TRANSFER.label))
            )
        self.fields["method"].choices = methods  # type: ignore[attr-defined]
        if len(methods) == 1 and not self.is_bound:
            self.initial.setdefault("method", methods[0][0])

    def clean_buyer_address(self) -> str:
        """A few short lines (see `billing.validators`); a line break counts as one character,
        as the browser counts it for `maxlength`."""
        address = str(self.cleaned_data.get("buyer_address", "")).replace("\r\n", "\n").strip()
        validate_invoice_address(address)
        return address

    def clean_buyer_tax_id(self) -> str:
        """Printed on the pro-forma and the tax invoice, so it must be one: a VÖEN is ten
        digits; a foreign buyer's number starts with its ISO country code (as EU VAT ids do)."""
        typed = "".join(self.cleaned_data.get("buyer_tax_id", "").split()).upper()
        if not typed:
            return ""
        if typed.isdigit() and len(typed) == VOEN_DIGITS:
            return typed
        if re.fullmatch(r"[A-Z]{2}[A-Z0-9-]{2,18}", typed) and not typed.startswith("AZ"):
            return typed
        raise forms.ValidationError(
            _(
                "A VÖEN has 10 digits (you typed “%(typed)s”). For a company outside "
                "Azerbaijan, give its country code and tax number, e.g. DE123456789."
            )
            % {"typed": typed[:40]}
        )

    @property
    def methods_available(self) -> bool:
        return bool(self.fields["method"].choices)  # type: ignore[attr-defined]


class ThresholdForm(forms.Form):
    low_balance_threshold = forms.IntegerField(
        label=_("Warn me when available credits fall below"), min_value=0, max_value=10**9
    )
