"""Secrets at rest (gateway tokens, app secrets, API keys of gateways): Fernet with
FIELD_ENCRYPTION_KEY. Values are never logged and never shown again after they are saved."""

from __future__ import annotations

import base64
import hashlib
import json
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


@lru_cache(maxsize=4)
def _fernet(key: str) -> Fernet:
    try:
        return Fernet(key.encode())
    except ValueError:
        # Accept any passphrase too: derive a proper 32-byte key from it.
        digest = hashlib.sha256(key.encode()).digest()
        return Fernet(base64.urlsafe_b64encode(digest))


def encrypt_json(data: dict[str, Any]) -> str:
    return _fernet(settings.FIELD_ENCRYPTION_KEY).encrypt(json.dumps(data).encode()).decode()


def decrypt_json(token: str) -> dict[str, Any]:
    if not token:
        return {}
    try:
        return json.loads(_fernet(settings.FIELD_ENCRYPTION_KEY).decrypt(token.encode()))
    except InvalidToken as exc:
        raise ValueError("credentials cannot be decrypted with FIELD_ENCRYPTION_KEY") from exc
