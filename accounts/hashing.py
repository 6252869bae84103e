"""The salted hash that stands in for a person after an erasure.

One function, shared by the apps that keep such a trace: privacy (the proof of an account or
recipient erasure) and messaging (the suppression list, which must keep matching the numbers
privacy erased). It lives here, in the base app, because both import accounts and neither may
import the other."""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings


def _hash_salt() -> bytes:
    # A dedicated salt survives SECRET_KEY rotation; without one the suppression list would
    # silently stop matching after a rotation, so the fallback is only for development.
    return str(getattr(settings, "PRIVACY_HASH_SALT", "") or settings.SECRET_KEY).encode()


def subject_hash(value: str) -> str:
    """Salted SHA-256 (HMAC) of an e-mail or an E.164 number: the only trace an erasure keeps.

    Phones must be passed in E.164 form (`core.phones.parse_phone`): the same number
    typed two ways must give one hash."""
    return hmac.new(_hash_salt(), value.strip().lower().encode(), hashlib.sha256).hexdigest()
