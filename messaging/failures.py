"""Why a message failed, in words a business user can act on: "Not on WhatsApp (131026):
remove or fix the number", not `recipient_permanent 131026 Undeliverable`.

The codes are the gateway error table's (`messaging.gateways.base.ERROR_RULES`, from Meta's
documents); every code there has its sentence here (tests/messaging/engine/test_words.py checks it),
and a code we never met reads by its class (the rule's kind) with that class's advice."""

from __future__ import annotations

from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l

from messaging.gateways.base import OutcomeKind, rule_for_code

_FIX_NUMBER = _l("remove or fix the number")
_DO_NOT_RESEND = _l("do not send to this number again")
_TEMPLATE = _l("fix the template or its parameters, then send again")
_LATER = _l("nothing to do: it is retried; if it keeps failing, send later")
_SLOWER = _l("send more slowly or to fewer people at once")
_NUMBER = _l("check the number on the Numbers page or connect another one")
_RECONNECT = _l("reconnect the number (its access expired or lacks a permission)")

#: code -> (what happened, what to do)
REASONS: dict[int, tuple[Promise, Promise]] = {
    130429: (_l("Too many messages per second for this number"), _SLOWER),
    4: (_l("Too many requests to WhatsApp"), _SLOWER),
    80007: (_l("The business account's rate limit was reached"), _SLOWER),
    131056: (_l("Too many messages to this person in a short time"), _SLOWER),
    131049: (
        _l("WhatsApp held it back to protect the recipient's experience"),
        _l("send to this person again no sooner than tomorrow"),
    ),
    131026: (_l("Not on WhatsApp"), _FIX_NUMBER),
    131050: (_l("The recipient stopped your marketing messages"), _DO_NOT_RESEND),
    130403: (_l("Your business blocked this person"), _l("unblock them to send")),
    130472: (_l("The recipient is part of a WhatsApp experiment"), _LATER),
    131021: (_l("Sent to your own number"), _FIX_NUMBER),
    131030: (_l("The number is not in the test allow-list"), _FIX_NUMBER),
    130497: (
        _l("Your business cannot message people in this country"),
        _DO_NOT_RESEND,
    ),
    131047: (
        _l("More than 24 hours since the person last wrote"),
        _l("use an approved WhatsApp template"),
    ),
    100: (_l("A parameter is missing or wrong"), _TEMPLATE),
    131008: (_l("A required parameter is missing"), _TEMPLATE),
    131009: (_l("A parameter value is not valid"), _TEMPLATE),
    131051: (_l("This kind of message is not supported"), _TEMPLATE),
    131053: (_l("The media could not be uploaded"), _l("check the file or its link")),
    132000: (_l("The template's parameters do not match"), _TEMPLATE),
    132001: (
        _l("The template does not exist in this language or is not approved"),
        _l("pick an approved template"),
    ),
    132005: (_l("The translated template text is too long"), _TEMPLATE),
    132007: (_l("The template breaks a WhatsApp policy"), _TEMPLATE),
    132012: (_l("A template parameter has the wrong format"), _TEMPLATE),
    132015: (_l("The template was paused for low quality"), _l("edit it or use another one")),
    132016: (_l("The template was disabled for good"), _l("use another template")),
    131063: (
        _l("Marketing templates are off for this account"),
        _l("use a utility template or another number"),
    ),
    131048: (_l("Too many of your messages were blocked or reported as spam"), _NUMBER),
    131064: (_l("Messaging limited for template violations"), _NUMBER),
    368: (_l("The account is restricted for a policy violation"), _NUMBER),
    131031: (_l("The account is restricted or could not be verified"), _NUMBER),
    131042: (
        _l("There is a payment problem on the business account"),
        _l("fix the payment method in Meta Business Manager"),
    ),
    131037: (_l("The number has no approved display name"), _NUMBER),
    133016: (_l("Too many register attempts for the number"), _l("wait, then reconnect it")),
    0: (_l("WhatsApp did not accept the number's credentials"), _RECONNECT),
    190: (_l("The number's access token expired"), _RECONNECT),
    10: (_l("Permission denied"), _RECONNECT),
    131005: (_l("Access denied"), _RECONNECT),
    3: (_l("A permission or capability is missing"), _RECONNECT),
    131057: (_l("The business account is in maintenance"), _LATER),
    131000: (_l("WhatsApp had an unknown error"), _LATER),
    131016: (_l("WhatsApp was temporarily unavailable"), _LATER),
    2: (_l("WhatsApp was temporarily overloaded"), _LATER),
    1: (_l("WhatsApp reported a possible server error"), _LATER),
}

#: For codes not in the table (and messages without a code): the class's words.
BY_KIND: dict[str, tuple[Promise, Promise]] = {
    OutcomeKind.RATE_LIMITED: (_l("Sending limit reached"), _SLOWER),
    OutcomeKind.RETRY_LATER: (_l("WhatsApp kept answering 'try later'"), _LATER),
    OutcomeKind.RECIPIENT_WAIT: (_l("This person must wait before the next message"), _SLOWER),
    OutcomeKind.RECIPIENT_PERMANENT: (_l("The recipient cannot receive it"), _FIX_NUMBER),
    OutcomeKind.FIX_REQUEST: (_l("The message or template was refused"), _TEMPLATE),
    OutcomeKind.SENDER_BLOCKED: (_l("The sending number was blocked or restricted"), _NUMBER),
    OutcomeKind.CREDENTIALS_INVALID: (_l("The sending number lost its access"), _RECONNECT),
    OutcomeKind.AMBIGUOUS: (
        _l("No answer came from WhatsApp"),
        _l("check the conversation before sending again"),
    ),
}


def failure_reason(*, code: int | None, kind: str = "", title: str = "") -> str:
    """ "Not on WhatsApp (131026): remove or fix the number"."""
    found = REASONS.get(code) if code is not None else None
    if found is None:
        by_kind = kind or (rule_for_code(code).kind if code is not None else "")
        found = BY_KIND.get(by_kind)
    if found is None:
        label = title or _("Failed")
        return f"{label} ({code})" if code is not None else label
    what, action = found
    if code is not None:
        return _("%(what)s (%(code)s): %(action)s") % {"what": what, "code": code, "action": action}
    return _("%(what)s: %(action)s") % {"what": what, "action": action}


def message_failure_reason(message: Any) -> str:
    """The reason of a failed message row (or a dict with its error fields)."""
    get = message.get if isinstance(message, dict) else lambda k: getattr(message, k, None)
    if get("error_code") is None and not get("error_kind") and not get("error_title"):
        return ""
    return failure_reason(
        code=get("error_code"), kind=get("error_kind") or "", title=get("error_title") or ""
    )
