from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from core.phones import PhoneError
from core.phones import normalize_phone as phone_e164


def normalize_phone(raw: str, default_region: str | None = "AZ") -> str:
    """A phone number written any common way, in E.164 (the one normaliser, `core.phones`,
    with a ValidationError a form shows). Raises ValidationError with a message a person can
    act on."""
    raw = (raw or "").strip()
    if not raw:
        raise ValidationError(_("Enter a phone number."))
    try:
        return phone_e164(raw, default_country=default_region)
    except PhoneError as exc:
        raise ValidationError(exc.message) from exc


def validate_e164(value: str) -> None:
    if value and normalize_phone(value, None) != value:
        raise ValidationError(_("Store phone numbers in E.164 form, such as +994501234567."))
