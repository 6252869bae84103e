"""How the engine moves credits for messages, whichever report comes first: the drainer's
record of a send or the gateway's status webhook.

The rule both paths follow (they lock the message rows first, so they see each other's
writes): a message is charged once, by whichever write moves it from a state before the
gateway's acceptance (`queued`, `sending`, `ambiguous`) to an accepted one (`accepted`,
`sent`, `delivered`, `read`); a message that fails before it was charged gives its reserved
credit back (release); a failure after the charge is refunded. So credits consumed − refunded
always equal the messages the gateway accepted that did not fail (`reconcile` counts both)."""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from collections.abc import Iterable

from accounts.models import Workspace
from billing import services as billing
from core.queries import binary_array_cursor
from messaging.campaigns.models import CHARGED_STATUSES, Message

log = logging.getLogger(__name__)

#: Before the gateway took the message: not charged yet, its credit is reserved.
UNCHARGED = ("queued", "sending", "ambiguous")
#: The gateway took it: charged (until a failure refunds it).
CHARGED = CHARGED_STATUSES


def rows_lock(ids: Iterable[int]) -> dict[int, str]:
    """Lock these messages in id order (every writer of outcomes and statuses does, so two of
    them never deadlock) and return their current status."""
    ordered = sorted(set(ids))
    if not ordered:
        return {}
    with binary_array_cursor() as cursor:
        cursor.execute(
            f"SELECT id, status FROM {Message._meta.db_table} WHERE id = ANY(%b::bigint[]) "  # noqa: S608 # nosec B608
            "ORDER BY id FOR UPDATE",
            [ordered],
        )
        return dict(cursor.fetchall())


def credits_settle(
    *,
    workspace: Workspace,
    consume: Counter[str] | None = None,
    release: Counter[str] | None = None,
    refund: Counter[str] | None = None,
) -> None:
    """Consume, release and refund credits per reference, once per batch (the idempotency keys
    name the batch). A reservation that cannot cover a move (e.g. released in full by a
    cancel while a send was in flight) is logged, not raised: raising would roll back the
    statuses of messages already sent (re-sent later: duplicates; or a webhook never applied).
    `credits_reconcile` reports such a difference."""
    batch = uuid.uuid4().hex
    moves = (
        ("consume", billing.credits_consume, consume),
        ("release", billing.credits_release, release),
        ("refund", billing.credits_refund, refund),
    )
    for verb, move, amounts in moves:
        for reference, amount in (amounts or Counter()).items():
            if amount <= 0:
                continue
            try:
                move(
                    workspace=workspace,
                    reference=reference,
                    amount=amount,
                    idempotency_key=f"{reference}:{verb}:{batch}",
                )
            except billing.BillingError:
                log.exception(
                    "credits not moved: %s %d under %s (workspace %s)",
                    verb,
                    amount,
                    reference,
                    workspace.pk,
                )
