"""Attachment files in storage: which ones tickets hold, and deleting them (after a commit).
Shared by the services (retention) and the privacy door, which must not import privacy."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from django.core.files.storage import default_storage
from django.db.models import Q

from support.models import Ticket, TicketAttachment

logger = logging.getLogger(__name__)


def stored_files_delete(names: Sequence[str]) -> None:
    for name in names:
        try:
            default_storage.delete(name)
        except OSError:
            logger.exception("could not delete the support attachment %s", name)


def attachment_files_of(tickets: Q) -> list[str]:
    """The stored names of the attachments of the tickets matching `tickets` (a Q on Ticket)."""
    return list(
        TicketAttachment.objects.filter(ticket__in=Ticket.objects.filter(tickets))
        .exclude(file="")
        .values_list("file", flat=True)
    )
