"""Webhook signatures: Meta's ``X-Hub-Signature-256`` and WAHA's ``X-Webhook-Hmac`` (SHA-512).

Both are a hex HMAC of the **raw** request body; re-serialised JSON would not match. Comparison
is constant-time, and an empty secret never verifies anything (a missing secret must not turn
into "accept all").
"""

from __future__ import annotations

import hashlib
import hmac

META_SIGNATURE_HEADER = "X-Hub-Signature-256"
META_SIGNATURE_PREFIX = "sha256="
WAHA_HMAC_HEADER = "X-Webhook-Hmac"
WAHA_HMAC_ALGORITHM_HEADER = "X-Webhook-Hmac-Algorithm"


def meta_signature(raw_body: bytes, app_secret: str) -> str:
    """The ``X-Hub-Signature-256`` value Meta would send for this body: ``sha256=<hex>``."""
    digest = hmac.new(app_secret.encode(), raw_body, hashlib.sha256).hexdigest()
    return META_SIGNATURE_PREFIX + digest


def verify_signature(raw_body: bytes, header: str | None, app_secret: str) -> bool:
    """Check a Meta ``X-Hub-Signature-256`` header against the raw body and the app secret."""
    if not app_secret or not header:
        return False
    header = header.strip()
    if not header.startswith(META_SIGNATURE_PREFIX):
        return False
    return _hex_digest_matches(
        hmac.new(app_secret.encode(), raw_body, hashlib.sha256).hexdigest(),
        header[len(META_SIGNATURE_PREFIX) :],
    )


def waha_hmac(raw_body: bytes, key: str) -> str:
    """The ``X-Webhook-Hmac`` value WAHA sends: hex HMAC-SHA512 of the raw body."""
    return hmac.new(key.encode(), raw_body, hashlib.sha512).hexdigest()


def verify_waha_hmac(raw_body: bytes, header: str | None, key: str) -> bool:
    """Check a WAHA ``X-Webhook-Hmac`` header (HMAC-SHA512, hex) against the raw body."""
    if not key or not header:
        return False
    return _hex_digest_matches(waha_hmac(raw_body, key), header.strip())


def _hex_digest_matches(expected_hex: str, provided: str) -> bool:
    # compare_digest on str raises for non-ASCII input; a forged header must be False, not 500.
    if not provided.isascii() or len(provided) != len(expected_hex):
        return False
    return hmac.compare_digest(expected_hex.encode(), provided.lower().encode())
