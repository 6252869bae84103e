"""One way to write an amount of money, per language (issue 19): in Azerbaijani and Russian
"1 234,56 ₼" (a no-break space between thousands and before the sign), in English
"AZN 1,234.56" (the code before the number: "₼" is not widely read in English). Pages, e-mails
and PDFs all use this, through the ``money`` template filter or ``format_money``."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.utils import formats, translation

NBSP = "\xa0"
SYMBOLS = {"AZN": "₼", "USD": "$", "EUR": "€"}


def format_money(
    amount: Decimal | int | float | str, currency: str, language: str = "", *, sign: bool = True
) -> str:
    """The amount with two decimals, grouped and signed the way ``language`` (default: the
    active one) writes money. ``sign=False`` writes the code instead of the sign ("1 234,56
    AZN"), for output whose font has no "₼" (the PDFs' DejaVu Sans)."""
    try:
        value = Decimal(str(amount)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        return f"{amount} {currency}".strip()
    language = language or translation.get_language() or "en"
    with translation.override(language):
        number = formats.number_format(value, decimal_pos=2, use_l10n=True, force_grouping=True)
    symbol = SYMBOLS.get(currency, currency) if sign else currency
    if language.split("-")[0] == "en":
        if currency == "AZN" or symbol == currency:
            return f"{currency}{NBSP}{number}"
        return f"{symbol}{number}"
    return f"{number}{NBSP}{symbol}"
