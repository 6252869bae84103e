from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from billing.models import Order, Package


class BuyForm(forms.Form):
    package = forms.ModelChoiceField(queryset=Package.objects.none(), label=_("Package"))
    method = forms.ChoiceField(choices=Order.Method.choices, label=_("Payment method"))
    buyer_company = forms.CharField(label=_("Company or name on the invoice"), max_length=200)
    buyer_address = forms.CharField(
        label=_("Address"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )
    buyer_tax_id = forms.CharField(label=_("Tax ID (VÖEN)"), max_length=40, required=False)
    accept_no_refund = forms.BooleanField(
        label=_("I understand that payments are non-refundable."), required=True
    )

    def __init__(self, *args: object, card_enabled: bool, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["package"].queryset = Package.objects.filter(is_active=True)  # type: ignore[attr-defined]
        if not card_enabled:
            self.fields["method"].choices = [  # type: ignore[attr-defined]
                (Order.Method.BANK_TRANSFER, Order.Method.BANK_TRANSFER.label)
            ]


class ThresholdForm(forms.Form):
    low_balance_threshold = forms.IntegerField(
        label=_("Warn me when available credits fall below"), min_value=0, max_value=10**9
    )
