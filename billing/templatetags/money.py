"""``{{ amount|money:currency }}``: money written the reader's way (billing/money.py)."""

from __future__ import annotations

from decimal import Decimal

from django import template

from billing.money import format_money

register = template.Library()


@register.filter
def money(amount: Decimal | int | str | None, currency: str = "AZN") -> str:
    if amount is None or amount == "":
        return ""
    return format_money(amount, currency)
