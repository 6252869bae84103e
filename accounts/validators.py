import phonenumbers
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


def normalize_phone(raw: str, default_region: str | None = "AZ") -> str:
    """Parse a phone number written any common way and return it in E.164.

    Raises ValidationError with a message a person can act on."""
    raw = (raw or "").strip()
    if not raw:
        raise ValidationError(_("Enter a phone number."))
    candidate = "+" + raw[2:] if raw.startswith("00") else raw
    try:
        parsed = phonenumbers.parse(
            candidate, None if candidate.startswith("+") else default_region
        )
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(_("“%(value)s” is not a phone number.") % {"value": raw}) from exc
    if not phonenumbers.is_valid_number(parsed):
        raise ValidationError(
            _("“%(value)s” is not a valid phone number; include the country code.") % {"value": raw}
        )
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def validate_e164(value: str) -> None:
    if value and normalize_phone(value, None) != value:
        raise ValidationError(_("Store phone numbers in E.164 form, such as +994501234567."))
