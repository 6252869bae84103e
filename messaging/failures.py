"""Why a message failed, in words a business user can act on: "Not on WhatsApp (131026):
remove or fix the number", not `recipient_permanent 131026 Undeliverable`.

The codes are the gateway error table's (`messaging.gateways.base.ERROR_RULES`, from Meta's
documents); every code there has its sentence here (tests/messaging/engine/test_words.py checks it),
and a code we never met reads by its class (the rule's kind) with that class's advice."""

from __future__ import annotations

from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from messaging.gateways.base import OutcomeKind, rule_for_code

_FIX_NUMBER = gettext_lazy("remove or fix the number")
_DO_NOT_RESEND = gettext_lazy("do not send to this number again")
_TEMPLATE = gettext_lazy("fix the template or its parameters, then send again")
_LATER = gettext_lazy("nothing to do: it is retried; if it keeps failing, send later")
_SLOWER = gettext_lazy("send more slowly or to fewer people at once")
_NUMBER = gettext_lazy("check the number on the Numbers page or connect another one")
_RECONNECT = gettext_lazy("reconnect the number (its access expired or lacks a permission)")

#: code -> (what happened, what to do)
REASONS: dict[int, tuple[Promise, Promise]] = {
    130429: (gettext_lazy("Too many messages per second for this number"), _SLOWER),
    4: (gettext_lazy("Too many requests to WhatsApp"), _SLOWER),
    80007: (gettext_lazy("The business account's rate limit was reached"), _SLOWER),
    131056: (gettext_lazy("Too many messages to this person in a short time"), _SLOWER),
    131049: (
        gettext_lazy("WhatsApp held it back to protect the recipient's experience"),
        gettext_lazy("send to this person again no sooner than tomorrow"),
    ),
    131026: (gettext_lazy("Not on WhatsApp"), _FIX_NUMBER),
    131050: (gettext_lazy("The recipient stopped your marketing messages"), _DO_NOT_RESEND),
    130403: (
        gettext_lazy("Your business blocked this person"),
        gettext_lazy("unblock them to send"),
    ),
    130472: (gettext_lazy("The recipient is part of a WhatsApp experiment"), _LATER),
    131021: (gettext_lazy("Sent to your own number"), _FIX_NUMBER),
    131030: (gettext_lazy("The number is not in the test allow-list"), _FIX_NUMBER),
    130497: (
        gettext_lazy("Your business cannot message people in this country"),
        _DO_NOT_RESEND,
    ),
    131047: (
        gettext_lazy("More than 24 hours since the person last wrote"),
        gettext_lazy("use an approved WhatsApp template"),
    ),
    100: (gettext_lazy("A parameter is missing or wrong"), _TEMPLATE),
    131008: (gettext_lazy("A required parameter is missing"), _TEMPLATE),
    131009: (gettext_lazy("A parameter value is not valid"), _TEMPLATE),
    131051: (gettext_lazy("This kind of message is not supported"), _TEMPLATE),
    131053: (
        gettext_lazy("The media could not be uploaded"),
        gettext_lazy("check the file or its link"),
    ),
    132000: (gettext_lazy("The template's parameters do not match"), _TEMPLATE),
    132001: (
        gettext_lazy("The template does not exist in this language or is not approved"),
        gettext_lazy("pick an approved template"),
    ),
    132005: (gettext_lazy("The translated template text is too long"), _TEMPLATE),
    132007: (gettext_lazy("The template breaks a WhatsApp policy"), _TEMPLATE),
    132012: (gettext_lazy("A template parameter has the wrong format"), _TEMPLATE),
    132015: (
        gettext_lazy("The template was paused for low quality"),
        gettext_lazy("edit it or use another one"),
    ),
    132016: (
        gettext_lazy("The template was disabled for good"),
        gettext_lazy("use another template"),
    ),
    131063: (
        gettext_lazy("Marketing templates are off for this account"),
        gettext_lazy("use a utility template or another number"),
    ),
    131048: (gettext_lazy("Too many of your messages were blocked or reported as spam"), _NUMBER),
    131064: (gettext_lazy("Messaging limited for template violations"), _NUMBER),
    368: (gettext_lazy("The account is restricted for a policy violation"), _NUMBER),
    131031: (gettext_lazy("The account is restricted or could not be verified"), _NUMBER),
    131042: (
        gettext_lazy("There is a payment problem on the business account"),
        gettext_lazy("fix the payment method in Meta Business Manager"),
    ),
    131037: (gettext_lazy("The number has no approved display name"), _NUMBER),
    133016: (
        gettext_lazy("Too many register attempts for the number"),
        gettext_lazy("wait, then reconnect it"),
    ),
    0: (gettext_lazy("WhatsApp did not accept the number's credentials"), _RECONNECT),
    190: (gettext_lazy("The number's access token expired"), _RECONNECT),
    10: (gettext_lazy("Permission denied"), _RECONNECT),
    131005: (gettext_lazy("Access denied"), _RECONNECT),
    3: (gettext_lazy("A permission or capability is missing"), _RECONNECT),
    131057: (gettext_lazy("The business account is in maintenance"), _LATER),
    131000: (gettext_lazy("WhatsApp had an unknown error"), _LATER),
    131016: (gettext_lazy("WhatsApp was temporarily unavailable"), _LATER),
    2: (gettext_lazy("WhatsApp was temporarily overloaded"), _LATER),
    1: (gettext_lazy("WhatsApp reported a possible server error"), _LATER),
}

#: For codes not in the table (and messages without a code): the class's words.
BY_KIND: dict[str, tuple[Promise, Promise]] = {
    OutcomeKind.RATE_LIMITED: (gettext_lazy("Sending limit reached"), _SLOWER),
    OutcomeKind.RETRY_LATER: (gettext_lazy("WhatsApp kept answering 'try later'"), _LATER),
    OutcomeKind.RECIPIENT_WAIT: (
        gettext_lazy("This person must wait before the next message"),
        _SLOWER,
    ),
    OutcomeKind.RECIPIENT_PERMANENT: (gettext_lazy("The recipient cannot receive it"), _FIX_NUMBER),
    OutcomeKind.FIX_REQUEST: (gettext_lazy("The message or template was refused"), _TEMPLATE),
    OutcomeKind.SENDER_BLOCKED: (
        gettext_lazy("The sending number was blocked or restricted"),
        _NUMBER,
    ),
    OutcomeKind.CREDENTIALS_INVALID: (
        gettext_lazy("The sending number lost its access"),
        _RECONNECT,
    ),
    OutcomeKind.AMBIGUOUS: (
        gettext_lazy("No answer came from WhatsApp"),
        gettext_lazy("check the conversation before sending again"),
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
