"""How the support desk's audit actions read to a person (see `accounts.presenters`)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _l

AUDIT_SENTENCES: dict[str, Any] = {
    "support.ticket_opened": _l("Support ticket “%(target)s” opened"),
    "support.customer_replied": _l("Reply written on support ticket “%(target)s”"),
    "support.staff_replied": _l("iSend support answered ticket “%(target)s”"),
    "support.note_added": _l("Internal note added to support ticket “%(target)s”"),
    "support.ticket_assigned": _l("Support ticket “%(target)s” assigned to %(assignee)s"),
    "support.status_changed": _l("Support ticket “%(target)s” moved from %(from)s to %(to)s"),
    "support.data_request_created": _l(
        "Support ticket “%(target)s” turned into a %(kind)s data request"
    ),
}
