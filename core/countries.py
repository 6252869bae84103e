"""Countries by name in the reader's language (Babel's CLDR data): a person looks for
"Azərbaycan" or "Азербайджан", not for a two-letter code, in a list of 245 calling regions."""

from __future__ import annotations

from functools import lru_cache

import phonenumbers
from babel import Locale, UnknownLocaleError
from django.utils.translation import get_language


@lru_cache(maxsize=16)
def _territories(language: str) -> dict[str, str]:
    try:
        return dict(Locale.parse(language.replace("-", "_")).territories)
    except (UnknownLocaleError, ValueError):
        return dict(Locale.parse("en").territories)


def country_name(code: str, language: str | None = None) -> str:
    """The country's name in `language` (default: the active one); the code itself when CLDR
    has no name for it."""
    code = (code or "").upper()
    return _territories(language or get_language() or "en").get(code, code)


@lru_cache(maxsize=16)
def _phone_country_choices(language: str) -> tuple[tuple[str, str], ...]:
    rows = [
        (
            region,
            f"{country_name(region, language)} (+{phonenumbers.country_code_for_region(region)})",
        )
        for region in phonenumbers.SUPPORTED_REGIONS
    ]
    return tuple(sorted(rows, key=lambda row: row[1].casefold()))


def phone_country_choices() -> list[tuple[str, str]]:
    """Every region phone numbers can be read in, as "Name (+code)", sorted by name in the
    active language. Callable as a form field's `choices`: evaluated per request."""
    return list(_phone_country_choices(get_language() or "en"))
