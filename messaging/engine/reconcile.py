"""Money and messages, reconciled by counting both sides (DESIGN: "Money and messages are
reconciled"): for every campaign, credits consumed − refunded under its reference must equal
its messages the gateway accepted that did not fail (`charges.CHARGED`); single (API)
messages are compared per workspace. Both sides are read in one snapshot, so a batch being
recorded meanwhile is counted on both sides or on neither.

Run by `manage.py credits_reconcile`, by a beat job (differences are logged as errors) and by
`manage.py billing_check_ledger` (registered with billing's checks at start-up)."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.db.models import Count, Q

from billing import selectors as billing_selectors
from messaging.campaigns.models import Campaign, Message
from messaging.engine.charges import CHARGED
from messaging.engine.runtime import campaign_credit_reference, message_credit_reference

log = logging.getLogger(__name__)

SINGLE_MESSAGES_PREFIX = message_credit_reference("")  # "message:<public id>"


@dataclass(frozen=True)
class CreditsCount:
    """One side-by-side count: a campaign's (or a workspace's single messages')."""

    workspace_id: int
    campaign_id: int | None  # None: the workspace's single messages
    campaign_public_id: uuid.UUID | None
    name: str
    spent: int  # credits consumed − refunded
    accepted: int  # messages the gateway accepted that did not fail

    @property
    def difference(self) -> int:
        return self.spent - self.accepted

    def __str__(self) -> str:
        what = (
            f"campaign {self.campaign_public_id} ({self.name})"
            if self.campaign_id
            else "single messages"
        )
        return (
            f"workspace {self.workspace_id}: {what}: credits consumed − refunded {self.spent}, "
            f"messages accepted and not failed {self.accepted} (difference {self.difference:+d})"
        )


def credits_reconcile(*, active_since: datetime | None = None) -> list[CreditsCount]:
    """Count both sides for every launched campaign (with `active_since`: only those still
    open or finished since then) and for each workspace's single messages."""
    outermost = not connection.in_atomic_block  # else a caller's (a test's) transaction
    with transaction.atomic():
        if outermost:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        return _campaign_counts(active_since) + _single_message_counts()


def _campaign_counts(active_since: datetime | None) -> list[CreditsCount]:
    campaigns = Campaign.objects.exclude(
        status__in=[Campaign.Status.DRAFT, Campaign.Status.SCHEDULED]
    )
    if active_since is not None:
        campaigns = campaigns.filter(Q(finished_at__isnull=True) | Q(finished_at__gte=active_since))
    rows = list(campaigns.order_by("pk").values_list("pk", "public_id", "workspace_id", "name"))
    accepted = dict(
        # (charged: the NULLs of `indexed_status`, which the campaign's index holds)
        Message.objects.filter(campaign_id__in=[pk for pk, *_ in rows], indexed_status__isnull=True)
        .order_by()
        .values_list("campaign_id")
        .annotate(n=Count("id"))
    )
    spent = billing_selectors.credits_spent_by_reference(
        references=[campaign_credit_reference(public_id) for _, public_id, _, _ in rows]
    )
    return [
        CreditsCount(
            workspace_id=workspace_id,
            campaign_id=pk,
            campaign_public_id=public_id,
            name=name,
            spent=spent.get(campaign_credit_reference(public_id), 0),
            accepted=accepted.get(pk, 0),
        )
        for pk, public_id, workspace_id, name in rows
    ]


def _single_message_counts() -> list[CreditsCount]:
    accepted = dict(
        Message.objects.filter(campaign__isnull=True, status__in=CHARGED)
        .order_by()
        .values_list("workspace_id")
        .annotate(n=Count("id"))
    )
    spent = billing_selectors.credits_spent_by_workspace(reference_prefix=SINGLE_MESSAGES_PREFIX)
    return [
        CreditsCount(
            workspace_id=workspace_id,
            campaign_id=None,
            campaign_public_id=None,
            name="",
            spent=spent.get(workspace_id, 0),
            accepted=accepted.get(workspace_id, 0),
        )
        for workspace_id in sorted(set(accepted) | set(spent))
    ]


def credits_reconcile_mismatches(*, active_since: datetime | None = None) -> list[str]:
    """One line per campaign (or workspace's single messages) whose two sides differ."""
    return [str(row) for row in credits_reconcile(active_since=active_since) if row.difference]


def credits_reconcile_report(*, active_since: datetime | None = None) -> int:
    """The beat job: log every difference as an error; returns how many there are."""
    lines = credits_reconcile_mismatches(active_since=active_since)
    for line in lines:
        log.error("credits and messages differ: %s", line)
    return len(lines)
