"""Rules for what a buyer types for the invoice. The address is printed in a block beside the
seller's on the pro-forma and the tax invoice (HTML and PDF), so it is held to what an address
is: a few short lines. Used by the order form and by `Order`'s field (so `order_create`, which
runs `full_clean`, refuses the same input whatever the caller)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

#: The longest invoice address a buyer can give, in characters and in lines.
INVOICE_ADDRESS_MAX_CHARS = 500
INVOICE_ADDRESS_MAX_LINES = 8


def validate_invoice_address(value: str) -> None:
    """At most `INVOICE_ADDRESS_MAX_CHARS` characters on at most `INVOICE_ADDRESS_MAX_LINES`
    lines (surrounding blank space does not count: it is stripped when stored)."""
    text = (value or "").strip()
    if len(text) > INVOICE_ADDRESS_MAX_CHARS:
        raise ValidationError(
            _("At most %(limit)d characters (this has %(length)d).")
            % {"limit": INVOICE_ADDRESS_MAX_CHARS, "length": len(text)},
            code="max_length",
        )
    lines = len(text.splitlines())
    if lines > INVOICE_ADDRESS_MAX_LINES:
        raise ValidationError(
            _("An address has at most %(limit)d lines (this has %(lines)d).")
            % {"limit": INVOICE_ADDRESS_MAX_LINES, "lines": lines},
            code="max_lines",
        )
