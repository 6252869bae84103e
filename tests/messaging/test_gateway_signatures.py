"""Webhook signature checks: Meta's X-Hub-Signature-256 and WAHA's SHA-512 HMAC."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from messaging.gateways.cloud_api import meta_signature, verify_signature
from messaging.gateways.signatures import verify_waha_hmac, waha_hmac

from .conftest import PAYLOADS

SECRET = "app-secret-123"
BODY = (PAYLOADS / "webhook_status_sent.json").read_bytes()


def metas_header(body: bytes, secret: str) -> str:
    """What Meta sends, computed independently of the code under test."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def test_accepts_a_meta_style_signature() -> None:
    header = metas_header(BODY, SECRET)
    assert verify_signature(BODY, header, SECRET)
    assert meta_signature(BODY, SECRET) == header


def test_accepts_uppercase_hex_and_surrounding_whitespace() -> None:
    header = metas_header(BODY, SECRET)
    assert verify_signature(BODY, " sha256=" + header[7:].upper() + " ", SECRET)


def test_rejects_an_altered_body() -> None:
    header = metas_header(BODY, SECRET)
    assert not verify_signature(BODY.replace(b"sent", b"read"), header, SECRET)
    assert not verify_signature(BODY + b" ", header, SECRET)


def test_rejects_the_wrong_secret() -> None:
    assert not verify_signature(BODY, metas_header(BODY, "another-secret"), SECRET)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "sha256=",
        "sha1=" + "0" * 40,
        hashlib.sha256(BODY).hexdigest(),  # no prefix
        "sha256=" + "z" * 64,  # not hex
        "sha256=" + "é" * 64,  # not ASCII: must be False, not an exception
        "sha256=abc",  # truncated
    ],
)
def test_rejects_missing_or_malformed_headers(header: str | None) -> None:
    assert not verify_signature(BODY, header, SECRET)


def test_an_empty_secret_verifies_nothing() -> None:
    assert not verify_signature(BODY, metas_header(BODY, ""), "")


def test_waha_hmac_sha512() -> None:
    expected = hmac.new(b"waha-key", BODY, hashlib.sha512).hexdigest()
    assert waha_hmac(BODY, "waha-key") == expected
    assert verify_waha_hmac(BODY, expected, "waha-key")
    assert not verify_waha_hmac(BODY + b"x", expected, "waha-key")
    assert not verify_waha_hmac(BODY, expected, "other")
    assert not verify_waha_hmac(BODY, None, "waha-key")
