"""Phone number normalisation for contacts: every shape people and spreadsheets produce, to E.164.

Pure functions (no ORM). `parse_phone` never raises: it returns either the E.164 form or a
reason code with its parameters, because imports report bad rows and carry on. The message a
person can act on is made from them when it is read (`phone_reason_message`), in the reader's
language: an import stores the code and parameters, not a sentence.
`normalize_phone` raises `PhoneError` for forms and the API.

Shapes handled: spaces, dashes, dots, slashes, brackets, non-breaking spaces, a `tel:` prefix,
`00` international prefix, `+`, the country code without `+` (`994501234567`), national numbers
with or without the trunk `0` (`050 123 45 67`, `501234567` after Excel dropped the zero), Excel
floats (`994501234567.0`, or a real float from XLSX) and scientific notation
(`9.94501234567E+11`)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache

import phonenumbers
from django.utils.translation import gettext, gettext_noop
from phonenumbers import NumberParseException, PhoneNumberType, ValidationResult
from phonenumbers import timezone as phone_timezone

MIN_DIGITS = 6
MAX_DIGITS = 15  # ITU-T E.164

_SEPARATORS = re.compile(r"[\s\u00a0\u2007\u202f\-\.\(\)\[\]/\\_]+")
_FLOAT_TAIL = re.compile(r"^(\+?\d+)\.0+$")
_SCIENTIFIC = re.compile(r"^\d(?:[.,]\d+)?[eE]\+?\d{1,2}$")
_ALLOWED = re.compile(r"^\+?\d+$")


class Reason:
    """Stable codes for why a value is not a phone number (API clients match on them)."""

    EMPTY = "empty"
    NOT_A_NUMBER = "not_a_number"
    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"
    UNKNOWN_COUNTRY = "unknown_country_code"
    INVALID_FOR_COUNTRY = "invalid_for_country"
    PRECISION_LOST = "precision_lost"


# The sentence for each reason; a reason found for a known country has its own sentence.
_MESSAGES: dict[tuple[str, bool], str] = {
    (Reason.EMPTY, False): gettext_noop("The phone number is empty."),
    (Reason.NOT_A_NUMBER, False): gettext_noop("“%(value)s” is not a phone number."),
    (Reason.TOO_SHORT, False): gettext_noop("“%(value)s” is too short to be a phone number."),
    (Reason.TOO_SHORT, True): gettext_noop("“%(value)s” is too short for a number in %(country)s."),
    (Reason.TOO_LONG, False): gettext_noop("“%(value)s” is too long to be a phone number."),
    (Reason.TOO_LONG, True): gettext_noop("“%(value)s” is too long for a number in %(country)s."),
    (Reason.UNKNOWN_COUNTRY, False): gettext_noop(
        "“%(value)s” starts with an unknown country code; add the country code, e.g. +994."
    ),
    (Reason.INVALID_FOR_COUNTRY, True): gettext_noop(
        "“%(value)s” is not a valid number for %(country)s."
    ),
    (Reason.PRECISION_LOST, False): gettext_noop(
        "“%(value)s” lost digits in scientific notation; format the column as text in the "
        "spreadsheet and export it again."
    ),
}


def phone_reason_message(reason: str, params: dict[str, str]) -> str:
    """The sentence for a `Reason` code and its parameters, in the active language; "" for a
    code this version does not know."""
    msgid = _MESSAGES.get((reason, "country" in params))
    if msgid is None:
        return ""
    try:
        return gettext(msgid) % params
    except (KeyError, TypeError, ValueError):  # a translation that lost a placeholder
        return msgid % params


@dataclass(frozen=True, slots=True)
class PhoneResult:
    """The outcome of parsing one value: `e164` when valid, else `reason` + `params` (the
    value, and the country when one was recognised), which `message` puts in words."""

    raw: str
    e164: str | None = None
    country: str = ""
    reason: str = ""
    params: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.e164 is not None

    @property
    def message(self) -> str:
        """Why the value is not a phone number, in the active language ("" when it is one)."""
        return phone_reason_message(self.reason, self.params) if self.reason else ""


class PhoneError(ValueError):
    """`normalize_phone` failed; `code` is one of `Reason`, `message` is for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _as_text(raw: object) -> str:
    """Numbers from spreadsheets arrive as int/float; render them without a float tail."""
    if raw is None:
        return ""
    if isinstance(raw, bool):
        return str(raw)
    if isinstance(raw, int):
        return str(raw)
    if isinstance(raw, float):
        if raw != raw or raw in (float("inf"), float("-inf")):  # NaN / inf
            return ""
        if raw.is_integer():
            return str(int(raw))
        return repr(raw)
    return str(raw)


def _fail(raw: str, code: str, country: str | None = None) -> PhoneResult:
    params = {"value": raw} if country is None else {"value": raw, "country": country}
    return PhoneResult(raw=raw, reason=code, params=params)


def parse_phone(raw: object, *, default_country: str | None = "AZ") -> PhoneResult:
    """Parse `raw` into E.164, using `default_country` (ISO 3166 alpha-2) for national numbers.

    Never raises. Results are cached: imports parse the same few shapes many times. The
    result holds no sentence, so the cache serves every language."""
    region = (default_country or "").upper() or None
    return _parse_cached(_as_text(raw), region)


def _expand_scientific(value: str) -> str | None:
    """Expand `9.94501234567E+11` to `994501234567`; None when Excel already rounded digits away
    (9.94501E+11): refusing beats inventing the missing digits."""
    number = Decimal(value.replace(",", "."))
    mantissa = re.split("[eE]", value)[0].replace(",", "").replace(".", "")
    digits = str(int(number))
    if len(mantissa) < len(digits):
        return None
    return digits


def _not_a_number(raw: str) -> PhoneResult:
    return _fail(raw, Reason.NOT_A_NUMBER)


@lru_cache(maxsize=4096)  # small: an import repeats a few shapes, not numbers
def _parse_cached(text: str, region: str | None) -> PhoneResult:
    raw = text
    value = text.strip().lstrip("'")  # Excel's "treat as text" mark
    if value.lower().startswith("tel:"):
        value = value[4:]
    if not value:
        return PhoneResult(raw=raw, reason=Reason.EMPTY)

    # Excel: "9.94501234567E+11" (the float tail "994501234567.0" is handled below).
    if _SCIENTIFIC.match(value):
        expanded = _expand_scientific(value)
        if expanded is None:
            return _fail(raw, Reason.PRECISION_LOST)
        value = expanded
    float_tail = _FLOAT_TAIL.match(value)
    if float_tail:
        value = float_tail.group(1)
    value = _SEPARATORS.sub("", value)
    if value.startswith("00"):
        value = "+" + value[2:]
    if value.startswith("+00"):
        value = "+" + value[3:]
    if not _ALLOWED.match(value):
        return _not_a_number(raw)

    digits = value.lstrip("+")
    if len(digits) < MIN_DIGITS:
        return _fail(raw, Reason.TOO_SHORT)
    if len(digits) > MAX_DIGITS + 2:  # a trunk 0 and a country code may both be present
        return _fail(raw, Reason.TOO_LONG)

    candidates: list[tuple[str, str | None]] = []
    if value.startswith("+"):
        candidates.append((value, None))
    else:
        if region:
            candidates.append((value, region))
        # The country code without "+" or "00" (e.g. 994501234567, 905321234567).
        candidates.append(("+" + value, None))

    first_invalid: phonenumbers.PhoneNumber | None = None
    bad_country_code = False
    for candidate, candidate_region in candidates:
        try:
            parsed = phonenumbers.parse(candidate, candidate_region)
        except NumberParseException as exc:
            bad_country_code |= exc.error_type == NumberParseException.INVALID_COUNTRY_CODE
            continue
        if phonenumbers.is_valid_number(parsed):
            e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
            if len(e164) - 1 > MAX_DIGITS:  # the metadata accepts some; E.164 does not
                return _fail(raw, Reason.TOO_LONG)
            return PhoneResult(
                raw=raw,
                e164=e164,
                country=phonenumbers.region_code_for_number(parsed) or "",
            )
        if first_invalid is None:
            first_invalid = parsed
    return _explain(raw, first_invalid, unknown_country=bad_country_code)


def _explain(
    raw: str, parsed: phonenumbers.PhoneNumber | None, *, unknown_country: bool
) -> PhoneResult:
    if parsed is None and not unknown_country:
        return _not_a_number(raw)
    country = (
        phonenumbers.region_code_for_country_code(parsed.country_code)
        if parsed is not None and parsed.country_code is not None
        else None
    )
    if parsed is None or country in ("ZZ", "001", None):
        return _fail(raw, Reason.UNKNOWN_COUNTRY)
    possible = phonenumbers.is_possible_number_with_reason(parsed)
    if possible == ValidationResult.TOO_SHORT:
        return _fail(raw, Reason.TOO_SHORT, country)
    if possible == ValidationResult.TOO_LONG:
        return _fail(raw, Reason.TOO_LONG, country)
    return _fail(raw, Reason.INVALID_FOR_COUNTRY, country)


def normalize_phone(raw: object, *, default_country: str | None = "AZ") -> str:
    """E.164 for `raw`, or `PhoneError` naming the reason."""
    result = parse_phone(raw, default_country=default_country)
    if result.e164 is None:
        raise PhoneError(result.reason, result.message)
    return result.e164


def phone_time_zone(e164: str) -> str:
    """The number's IANA time zone when the numbering plan pins one zone, else "" (e.g. a
    Russian mobile spans eleven zones: a guess would put send windows in someone's night).

    Cached by the first eight characters: zones are assigned to prefixes far shorter than
    that, and imports ask for the same few prefixes a hundred thousand times."""
    prefix = e164[:8]
    zone = _ZONE_BY_PREFIX.get(prefix)
    if zone is None:
        zone = _time_zone_uncached(e164)
        if len(_ZONE_BY_PREFIX) < 20_000:
            _ZONE_BY_PREFIX[prefix] = zone
    return zone


_ZONE_BY_PREFIX: dict[str, str] = {}


def _time_zone_uncached(e164: str) -> str:
    try:
        parsed = phonenumbers.parse(e164, None)
    except NumberParseException:
        return ""
    zones = phone_timezone.time_zones_for_number(parsed)
    if len(zones) == 1 and zones[0] != phone_timezone.UNKNOWN_TIMEZONE:
        return zones[0]
    return ""


def phone_country(e164: str) -> str:
    """ISO country of an E.164 number ("" when unknown)."""
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(e164, None)) or ""
    except NumberParseException:
        return ""


def is_mobile(e164: str) -> bool:
    """Whether the number is a mobile (or could be): WhatsApp numbers are mostly mobiles."""
    parsed = phonenumbers.parse(e164, None)
    return phonenumbers.number_type(parsed) in (
        PhoneNumberType.MOBILE,
        PhoneNumberType.FIXED_LINE_OR_MOBILE,
    )
