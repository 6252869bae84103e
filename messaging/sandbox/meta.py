"""What the sandbox says as Meta (and as a WAHA gateway) would: error titles by code and the
webhook signatures, written from the providers' documents (shared/research/whatsapp-gateways.md),
not imported from our gateway client: the sandbox models WhatsApp, not our code, so a mistake in
the client cannot be mirrored here and pass unnoticed."""

from __future__ import annotations

import hashlib
import hmac

# Meta signs each webhook POST: "X-Hub-Signature-256: sha256=<HMAC-SHA256 of the raw body,
# keyed with the app secret>".
META_SIGNATURE_HEADER = "X-Hub-Signature-256"
# WAHA signs with HMAC-SHA512 when a key is set, naming the algorithm in a second header.
WAHA_HMAC_HEADER = "X-Webhook-Hmac"
WAHA_HMAC_ALGORITHM_HEADER = "X-Webhook-Hmac-Algorithm"

# Graph API error codes the sandbox answers with, and Meta's titles for them.
ERROR_TITLES: dict[int, str] = {
    1: "API Unknown",
    2: "API Service",
    3: "API Method",
    4: "API Too Many Calls",
    10: "API Permission Denied",
    100: "Invalid parameter",
    190: "Access token has expired",
    368: "Temporarily blocked for policies violations",
    130403: "Recipient blocked by business",
    130429: "Rate limit hit",
    130472: "User's number is part of an experiment",
    131000: "Something went wrong",
    131005: "Access denied",
    131008: "Required parameter is missing",
    131009: "Parameter value is not valid",
    131016: "Service unavailable",
    131021: "Recipient cannot be sender",
    131026: "Message undeliverable",
    131030: "Recipient phone number not in allowed list",
    131031: "Account has been locked",
    131042: "Business eligibility payment issue",
    131045: "Incorrect certificate",
    131047: "Re-engagement message",
    131048: "Spam rate limit hit",
    131049: "Meta chose not to deliver",
    131050: "User has stopped marketing messages",
    131051: "Unsupported message type",
    131053: "Media upload error",
    131056: "(Business Account, Consumer Account) pair rate limit hit",
    131057: "Account in maintenance mode",
    131063: "Marketing messages disabled for this account",
    131064: "Messaging limit reached",
    132000: "Template Param Count Mismatch",
    132001: "Template does not exist",
    132005: "Template Hydrated Text Too Long",
    132007: "Template Format Character Policy Violated",
    132012: "Template Parameter Format Mismatch",
    132015: "Template is Paused",
    132016: "Template is Disabled",
    132018: "There was an issue with the parameters in your template.",
}


def error_title(code: int) -> str:
    return ERROR_TITLES.get(code, "Unknown error")


def meta_signature(raw_body: bytes, app_secret: str) -> str:
    return "sha256=" + hmac.new(app_secret.encode(), raw_body, hashlib.sha256).hexdigest()


def waha_hmac(raw_body: bytes, key: str) -> str:
    return hmac.new(key.encode(), raw_body, hashlib.sha512).hexdigest()
