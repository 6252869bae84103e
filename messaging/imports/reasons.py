"""Why an import did not take a row, in words, in the reader's language.

The worker stores a reason code and its parameters (`ContactImportRejection.reason` and
`.params`), never a sentence: the report page, its CSV and the API put them in words when
they are read, so a Russian reader reads Russian whatever language the worker ran in. Rows
stored before that (no `params`) keep the English sentence they were stored with."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext, gettext_noop

from core.phones import phone_reason_message

DUPLICATE = "duplicate"
SUPPRESSED = "suppressed"

_MESSAGES = {
    DUPLICATE: gettext_noop("Same phone number as line %(line)d."),
    SUPPRESSED: gettext_noop(
        "This number asked to be erased; add it back only with its fresh consent."
    ),
}


def rejection_message(reason: str, params: dict[str, Any] | None, stored: str = "") -> str:
    """The sentence for a rejected row: from `reason` and `params` in the active language,
    or `stored` (the sentence of a row kept from before reasons were stored as codes)."""
    if params is None:
        return stored
    msgid = _MESSAGES.get(reason)
    if msgid is None:
        return phone_reason_message(reason, params) or stored or reason
    try:
        return gettext(msgid) % params
    except (KeyError, TypeError, ValueError):  # a translation that lost a placeholder
        return msgid % params
