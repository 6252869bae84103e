"""How the support desk's audit actions read to a person (see `accounts.presenters`)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy

AUDIT_SENTENCES: dict[str, Any] = {
    "support.ticket_opened": gettext_lazy("Support ticket “%(target)s” opened"),
    "support.customer_replied": gettext_lazy("Reply written on support ticket “%(target)s”"),
    "support.customer_closed": gettext_lazy("Support ticket “%(target)s” closed"),
    "support.staff_replied": gettext_lazy("iSend support answered ticket “%(target)s”"),
    "support.note_added": gettext_lazy("Internal note added to support ticket “%(target)s”"),
    "support.ticket_assigned": gettext_lazy("Support ticket “%(target)s” assigned to %(assignee)s"),
    "support.status_changed": gettext_lazy(
        "Support ticket “%(target)s” moved from %(from)s to %(to)s"
    ),
    "support.data_request_created": gettext_lazy(
        "Support ticket “%(target)s” turned into a %(kind)s data request"
    ),
}
