"""What stands in for a person once their data is gone: a salted hash, and a pseudonym made
from it (the same for the same person, so kept records can still be grouped)."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from accounts.hashing import subject_hash

__all__ = ["phone_normalize", "pseudonym_for", "subject_hash"]


def phone_normalize(phone: str) -> str:
    """E.164 form used for hashing and matching: '+' and digits only ('00' prefix allowed)."""
    raw = phone.strip()
    digits = re.sub(r"\D", "", raw)
    if raw.startswith("00"):
        digits = digits[2:]
    if not 7 <= len(digits) <= 15:
        raise ValidationError({"phone": _("Enter the number in international form, e.g. +994…")})
    return f"+{digits}"


def pseudonym_for(value: str) -> str:
    """The text that replaces an identifier in records kept after an erasure."""
    return f"erased-{subject_hash(value)[:12]}"
