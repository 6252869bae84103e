"""Status ingestion: apply parsed gateway events in bulk, idempotently and monotonically.

`read` is never undone, a late `sent` after `delivered` is ignored, `delivered` may be skipped
(a `read` implies it), and duplicates are no-ops: one UPDATE per batch whose WHERE clause only
lets a status move forward. Matching is by our public id (`biz_opaque_callback_data`) when the
event carries one, which also reconciles sends whose outcome was ambiguous, else by the
provider's message id. Inbound replies are stored; opt-out keywords act at once."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Workspace
from core.events import (
    contact_opted_out_event,
    events_publish,
    message_inbound_event,
    message_status_event,
)
from core.queries import binary_array_cursor
from core.text import name_clean
from messaging.campaigns.models import Campaign, InboundMessage, Message
from messaging.contacts.models import Contact, CreatedVia, OptOutSource, WhatsAppStatus
from messaging.engine import charges, conversations, keywords, reactions, signals
from messaging.engine.content import TEMPLATE_PAUSE_CODES
from messaging.engine.runtime import campaign_credit_reference, message_credit_reference
from messaging.gateways.base import (
    DeliveryStatus,
    InboundMessageEvent,
    Outcome,
    OutcomeKind,
    ProviderError,
    StatusEvent,
)
from messaging.numbers.models import CustomerWindow, Sender

RANK_SQL = """CASE m.status WHEN 'queued' THEN 0 WHEN 'sending' THEN 1 WHEN 'ambiguous' THEN 1
    WHEN 'accepted' THEN 2 WHEN 'sent' THEN 3 WHEN 'delivered' THEN 4 WHEN 'read' THEN 5
    ELSE 9 END"""
_RANK = {
    DeliveryStatus.SENT: 3,
    DeliveryStatus.DELIVERED: 4,
    DeliveryStatus.READ: 5,
    DeliveryStatus.PLAYED: 5,
    DeliveryStatus.FAILED: 3.5,  # a failure after delivery is not believed
}
_STATUS = {
    DeliveryStatus.SENT: "sent",
    DeliveryStatus.DELIVERED: "delivered",
    DeliveryStatus.READ: "read",
    DeliveryStatus.PLAYED: "read",
    DeliveryStatus.FAILED: "failed",
}


def _uuid_or_none(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


def _timestamp(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromtimestamp(int(value), tz=UTC)
    except (TypeError, ValueError):
        return timezone.now()


class _StatusRow(NamedTuple):
    """One status event, in the column order of the update's VALUES list."""

    provider_message_id: str
    public_id: str | None  # our id, echoed by the gateway
    status: str
    rank: float
    timestamp: datetime
    error_code: int | None
    error_title: str
    error_kind: str


class _Changed(NamedTuple):
    """A message the batch moved forward: the update's RETURNING list."""

    campaign_id: int | None
    contact_id: int | None
    error_code: int | None
    error_kind: str
    public_id: uuid.UUID
    status: str
    phone: str
    error_title: str
    campaign_public_id: uuid.UUID | None
    previous_status: str


def apply_statuses(*, workspace_id: int, events: Sequence[StatusEvent]) -> set[int]:
    """Apply a batch of status events; returns the campaigns whose messages changed."""
    return apply_status_batches(batches={workspace_id: events})


def apply_status_batches(*, batches: Mapping[int, Sequence[StatusEvent]]) -> set[int]:
    """Statuses by workspace (many webhooks' worth), applied together; returns the campaigns
    whose messages changed.

    Every message they name is resolved and locked first, all in one id order (as the
    drainer's record locks): the updates then see each message's status as it is, and so
    does the credit decision made from it, and two batches running at once never deadlock.
    Workspaces are then taken in id order (their credit rows lock in that order too)."""
    with transaction.atomic():
        resolved = {}
        for workspace_id in sorted(batches):
            rows = _status_rows(batches[workspace_id])
            if rows:
                resolved[workspace_id] = _rows_resolve(workspace_id=workspace_id, rows=rows)
        charges.rows_lock(mid for targets in resolved.values() for mid, _ in targets)
        campaigns: set[int] = set()
        for workspace_id, targets in resolved.items():
            if targets:
                campaigns |= _statuses_apply(workspace_id=workspace_id, targets=targets)
    return campaigns


def _statuses_apply(*, workspace_id: int, targets: list[tuple[int, _StatusRow]]) -> set[int]:
    changed = _statuses_update(workspace_id=workspace_id, targets=targets)
    _status_events_publish(workspace_id=workspace_id, changed=changed)
    _credits_settle(workspace_id=workspace_id, changed=changed)
    reactions.contacts_mark(workspace_id=workspace_id, effects=_contact_effects(changed))
    _template_pauses(changed)
    return {row.campaign_id for row in changed if row.campaign_id}


def _template_pauses(changed: list[_Changed]) -> None:
    """A message Meta held and then dropped because its template was paused (132015) or
    disabled (132016) arrives as a failed status: its campaign pauses, as a send refused with
    the same code pauses it."""
    paused: dict[int, Outcome] = {}
    for row in changed:
        if row.status == "failed" and row.campaign_id and row.error_code in TEMPLATE_PAUSE_CODES:
            paused.setdefault(
                row.campaign_id,
                Outcome(
                    str(row.public_id),
                    OutcomeKind.FIX_REQUEST,
                    error=ProviderError(code=row.error_code, title=row.error_title),
                ),
            )
    if paused:
        reactions.campaigns_pause_for_template(paused=paused)


def _status_rows(events: Sequence[StatusEvent]) -> list[_StatusRow]:
    """The events the ingestion ranks (others are ignored), as rows for the update."""
    rows = []
    for event in events:
        if event.status not in _RANK:
            continue
        error = event.error
        rows.append(
            _StatusRow(
                provider_message_id=event.provider_message_id or "",
                public_id=_uuid_or_none(event.public_id),
                status=_STATUS[event.status],
                rank=_RANK[event.status],
                timestamp=_timestamp(event.timestamp),
                error_code=error.code if error else None,
                error_title=(error.title if error else "")[:255],
                error_kind=str(event.failure.kind) if event.failure else "",
            )
        )
    return rows


def _statuses_update(*, workspace_id: int, targets: list[tuple[int, _StatusRow]]) -> list[_Changed]:
    """One UPDATE for the batch that only lets a status move forward; returns what moved.

    The rows come resolved to message ids, so the update joins on the primary key: its cost
    grows with the batch, never with the workspace's message count (the workspace is a
    guard on each row, written so that the planner cannot walk the workspace's index)."""
    # Eight arrays, not a VALUES list of 8 x N parameters: planning a statement with tens of
    # thousands of parameters costs more than running it.
    columns = [
        list(column)
        for column in zip(
            *(
                (mid, r.provider_message_id, r.status, float(r.rank), r.timestamp, r.error_code)
                + (r.error_title, r.error_kind)
                for mid, r in targets
            ),
            strict=True,
        )
    ]
    table = Message._meta.db_table
    with binary_array_cursor() as cursor:
        # Within one batch, the highest status per message wins (duplicates and disorder).
        cursor.execute(
            f"""
            WITH v(mid, pid, status, rank, ts, code, title, kind) AS (
                SELECT * FROM unnest(%b::bigint[], %b::text[], %b::text[], %b::numeric[],
                                     %b::timestamptz[], %b::int[], %b::text[], %b::text[])
            ),
            best AS (SELECT DISTINCT ON (mid) * FROM v ORDER BY mid, rank DESC)
            UPDATE {table} m SET
                status = best.status,
                provider_message_id = CASE WHEN best.pid <> '' THEN best.pid
                                           ELSE m.provider_message_id END,
                delivered_at = CASE WHEN best.rank >= 4 THEN COALESCE(m.delivered_at, best.ts)
                                    ELSE m.delivered_at END,
                read_at = CASE WHEN best.rank = 5 THEN COALESCE(m.read_at, best.ts)
                               ELSE m.read_at END,
                accepted_at = LEAST(m.accepted_at, best.ts),  -- the earliest report wins
                error_code = CASE WHEN best.status = 'failed' THEN best.code ELSE m.error_code END,
                error_title = CASE WHEN best.status = 'failed' THEN best.title
                                   ELSE m.error_title END,
                error_kind = CASE WHEN best.status = 'failed' THEN best.kind ELSE m.error_kind END,
                lease_until = NULL, status_changed_at = now()
            FROM best, {table} prev
            WHERE m.id = best.mid AND prev.id = m.id
              -- IS NOT DISTINCT FROM, not =: a guard checked on each row, never an index to
              -- walk (see _rows_resolve: the workspace's index read all its messages)
              AND m.workspace_id IS NOT DISTINCT FROM %s
              AND {RANK_SQL} < best.rank
            RETURNING m.campaign_id, m.contact_id, best.code, best.kind,
                      m.public_id, m.status, m.phone, best.title,
                      (SELECT c.public_id FROM {Campaign._meta.db_table} c
                        WHERE c.id = m.campaign_id),
                      prev.status
            """,  # noqa: S608 - placeholders only  # nosec B608 # own table names, values are parameters
            [*columns, workspace_id],
        )
        return [_Changed._make(row) for row in cursor.fetchall()]


def _status_events_publish(*, workspace_id: int, changed: list[_Changed]) -> None:
    """`message.status` events for every message that moved (the integrator's webhook)."""
    events_publish(
        workspace_id=workspace_id,
        events=[
            message_status_event(
                message_id=row.public_id,
                status=row.status,
                phone=row.phone,
                campaign_id=row.campaign_public_id,
                error_code=row.error_code,
                error_title=row.error_title,
            )
            for row in changed
        ],
    )


def _rows_resolve(*, workspace_id: int, rows: list[_StatusRow]) -> list[tuple[int, _StatusRow]]:
    """The message each status names (by our id when the event echoes it, else by the
    provider's id); statuses of messages we do not know, or of another workspace's, are
    dropped.

    The ids' own indexes drive the lookups and the workspace is checked on the rows found: a
    `workspace_id = ...` condition in the query let Postgres walk the workspace's index
    whenever its statistics had not yet seen the workspace (a new customer's first large
    campaign), filtering every message of the workspace for each batch (0.6-2 s for 500
    statuses among 120,000 messages, growing with the workspace)."""
    public_ids = sorted({row.public_id for row in rows if row.public_id})
    provider_ids = sorted({row.provider_message_id for row in rows if not row.public_id} - {""})
    by_public: dict[str, int] = {}
    by_provider: dict[str, int] = {}
    if public_ids:
        by_public = {
            str(public_id): pk
            for pk, public_id, owner in Message.objects.filter(
                public_id__in=public_ids
            ).values_list("pk", "public_id", "workspace_id")
            if owner == workspace_id
        }
    if provider_ids:
        # The literal `<> ''` lets Postgres use the partial index on provider ids.
        by_provider = {
            provider_id: pk
            for pk, provider_id, owner in Message.objects.filter(
                provider_message_id__in=provider_ids
            )
            .exclude(provider_message_id="")
            .values_list("pk", "provider_message_id", "workspace_id")
            if owner == workspace_id
        }
    targets = []
    for row in rows:
        message_id = (
            by_public.get(row.public_id)
            if row.public_id
            else by_provider.get(row.provider_message_id)
        )
        if message_id is not None:
            targets.append((message_id, row))
    return targets


def _credits_settle(*, workspace_id: int, changed: list[_Changed]) -> None:
    """The webhook decided these messages' credits when it moved them (`charges`' rule):
    accepted by the gateway before the drainer recorded it (or never recorded: the drainer
    died; or reconciled from `ambiguous`): charged; failed before that: released; failed
    after it: refunded (users pay only for what did not fail)."""
    consume: Counter[str] = Counter()
    release: Counter[str] = Counter()
    refund: Counter[str] = Counter()
    for row in changed:
        reference = (
            campaign_credit_reference(row.campaign_public_id)
            if row.campaign_public_id
            else message_credit_reference(row.public_id)
        )
        was_charged = row.previous_status in charges.CHARGED
        if row.status == "failed":
            (refund if was_charged else release)[reference] += 1
        elif row.previous_status in charges.UNCHARGED:
            consume[reference] += 1
    if consume or release or refund:
        charges.credits_settle(
            workspace=Workspace.objects.get(pk=workspace_id),
            consume=consume,
            release=release,
            refund=refund,
        )


_REACHED = (Message.Status.DELIVERED, Message.Status.READ)


def _contact_effects(changed: list[_Changed]) -> dict[str, list[int]]:
    """Contacts a status marks: on WhatsApp once a message reached them (delivered or read),
    opted out (131050) or not on WhatsApp after a permanent recipient failure."""
    effects: dict[str, list[int]] = {"invalid": [], "opt_out": [], "valid": []}
    for row in changed:
        if not row.contact_id:
            continue
        if row.status in _REACHED and row.previous_status not in _REACHED:
            # The first receipt that shows the message arrived (a read after a delivered
            # finds the contact marked already).
            effects["valid"].append(row.contact_id)
        elif row.error_kind == "recipient_permanent":
            effects["opt_out" if row.error_code == 131050 else "invalid"].append(row.contact_id)
    return effects


@dataclass(frozen=True)
class _Reply:
    """An inbound message as the opt-out rules read it."""

    phone: str  # E.164, from the digits the gateway sent
    text: str
    button: str  # a quick-reply button's payload
    opt_out: bool
    opt_in: bool


def _reply_read(event: InboundMessageEvent) -> _Reply:
    phone = "+" + "".join(ch for ch in (event.sender or "") if ch.isdigit())
    text = event.text or ""
    button = event.payload or ""
    opt_out = keywords.is_opt_out(text) or keywords.is_opt_out(button)
    opt_in = not opt_out and keywords.is_opt_in(text)
    return _Reply(phone=phone, text=text, button=button, opt_out=opt_out, opt_in=opt_in)


def apply_inbound(*, sender: Sender, events: Sequence[InboundMessageEvent]) -> set[int]:
    """Store replies once each; STOP-like replies (text or quick-reply button) opt the contact
    out at once, so no queued message of any campaign reaches them (checked at send time)."""
    campaigns: set[int] = set()
    new_inbound: list[int] = []  # keyword automation runs on these after commit
    windows: dict[str, datetime] = {}  # phone -> its latest message in this batch
    for event in events:
        reply = _reply_read(event)
        if len(reply.phone) > 1:
            moment = _timestamp(event.timestamp)
            windows[reply.phone] = max(moment, windows.get(reply.phone, moment))
        contact = Contact.objects.filter(
            workspace_id=sender.workspace_id, phone=reply.phone
        ).first()
        if contact is None and reply.opt_out and len(reply.phone) > 1:
            # A STOP from a number that is not a contact yet is kept as an opted-out contact:
            # with nothing to hold it, adding them later (by hand, an import) made them
            # subscribed, and the next campaign reached the person who had said stop.
            contact = _contact_from_stop(sender=sender, phone=reply.phone, event=event)
        answered_id, last = _last_campaign_message(contact)
        received_at = _timestamp(event.timestamp)
        with transaction.atomic():
            inbound = _inbound_store(
                sender=sender,
                event=event,
                reply=reply,
                contact=contact,
                campaign_id=last,
                received_at=received_at,
            )
            if inbound is None:
                continue  # a duplicate webhook
            new_inbound.append(inbound.pk)
            conversations.conversations_touch(
                [
                    conversations.Touch(
                        workspace_id=sender.workspace_id,
                        sender_id=sender.pk,
                        phone=reply.phone,
                        contact_id=contact.pk if contact is not None else None,
                        at=received_at,
                        kind="in",
                        preview=reply.text or reply.button or str(event.kind),
                        profile_name=" ".join((event.contact_name or "").split()),
                    )
                ]
            )
            if answered_id:
                _answered_mark(
                    message_id=answered_id, opt_out=reply.opt_out, received_at=received_at
                )
            if contact is not None and contact.whatsapp_status != WhatsAppStatus.VALID:
                # They wrote from this number: it is on WhatsApp.
                reactions.contacts_mark(
                    workspace_id=sender.workspace_id, effects={"valid": [contact.pk]}
                )
            if contact is not None and reply.opt_out and contact.opted_out_at is None:
                _contact_opt_out(sender=sender, contact=contact, reply=reply)
            if contact is not None and reply.opt_in and contact.opted_out_at is not None:
                _contact_opt_in(contact=contact)
            _inbound_event_publish(
                sender=sender,
                event=event,
                reply=reply,
                contact=contact,
                campaign_id=last,
                received_at=received_at,
            )
        if last:
            campaigns.add(last)
    windows_open(sender=sender, last_inbound=windows)
    if new_inbound:
        signals.inbound_replies_stored.send(
            sender=InboundMessage, workspace_id=sender.workspace_id, inbound_ids=new_inbound
        )
    return campaigns


def windows_open(*, sender: Sender, last_inbound: dict[str, datetime]) -> None:
    """Open (or extend) the 24-hour customer-service window of each phone that wrote to this
    number: one upsert for the batch; a late or replayed webhook never moves a window back."""
    if not last_inbound:
        return
    table = CustomerWindow._meta.db_table
    values = ", ".join(["(%s, %s, %s, %s::timestamptz)"] * len(last_inbound))
    params: list[Any] = []
    for phone, moment in sorted(last_inbound.items()):
        params += [sender.workspace_id, sender.pk, phone, moment]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {table} (workspace_id, sender_id, phone, last_inbound_at)
            VALUES {values}
            ON CONFLICT (sender_id, phone) DO UPDATE
               SET last_inbound_at = GREATEST({table}.last_inbound_at, EXCLUDED.last_inbound_at)
            """,  # noqa: S608 - placeholders only  # nosec B608 # own table names, values are parameters
            params,
        )


def _last_campaign_message(contact: Contact | None) -> tuple[int | None, int | None]:
    """The reply answers the last campaign message sent to this contact: (its id, its
    campaign's id), or (None, None).

    Found through the contact's thread index: messages carry no index on the phone, and the
    lookup by phone read the workspace's messages one by one (48-78 ms per reply at 30,000
    messages, growing with the workspace). Campaign messages always go to a contact; one
    whose contact was deleted since answers to nobody."""
    if contact is None:
        return None, None
    answered = (
        Message.objects.filter(contact_id=contact.pk, campaign__isnull=False)
        .order_by("-id")
        .values_list("id", "campaign_id")
        .first()
    )
    return answered if answered else (None, None)


def _inbound_store(
    *,
    sender: Sender,
    event: InboundMessageEvent,
    reply: _Reply,
    contact: Contact | None,
    campaign_id: int | None,
    received_at: datetime,
) -> InboundMessage | None:
    """Store the reply once per provider id; None when a duplicate webhook already did."""
    inbound, created = InboundMessage.objects.get_or_create(
        sender=sender,
        provider_message_id=event.provider_message_id,
        defaults={
            "workspace_id": sender.workspace_id,
            "contact": contact,
            "campaign_id": campaign_id,
            "phone": reply.phone,
            "kind": str(event.kind),
            "text": reply.text,
            "payload": reply.button[:255],
            "is_opt_out": reply.opt_out,
            "is_opt_in": reply.opt_in,
            "received_at": received_at,
        },
    )
    return inbound if created else None


def _answered_mark(*, message_id: int, opt_out: bool, received_at: datetime) -> None:
    """The statistics count the first reply (and an opt-out) on the message's days."""
    Message.objects.filter(pk=message_id, replied_at__isnull=True).update(replied_at=received_at)
    if opt_out:
        Message.objects.filter(pk=message_id, opted_out_at__isnull=True).update(
            opted_out_at=received_at
        )


def _contact_from_stop(*, sender: Sender, phone: str, event: InboundMessageEvent) -> Contact:
    """The contact a STOP from an unknown number becomes (opted out by the caller): made by
    the message itself ("inbound"), with no consent, named as their WhatsApp profile says."""
    first, _space, last = " ".join((event.contact_name or "").split()).partition(" ")
    contact, _created = Contact.objects.get_or_create(
        workspace_id=sender.workspace_id,
        phone=phone,
        defaults={
            "created_via": CreatedVia.INBOUND,
            "first_name": name_clean(first)[:100],
            "last_name": name_clean(last)[:100],
        },
    )
    return contact


def _contact_opt_out(*, sender: Sender, contact: Contact, reply: _Reply) -> None:
    """A STOP-like reply opts the contact out of every campaign of the workspace, at once."""
    source = OptOutSource.BUTTON if keywords.is_opt_out(reply.button) else OptOutSource.KEYWORD
    Contact.objects.filter(pk=contact.pk, opted_out_at__isnull=True).update(
        opted_out_at=timezone.now(),
        opt_out_source=source,
        opt_out_reason=(reply.text or reply.button)[:255],
        updated_at=timezone.now(),
    )
    events_publish(
        workspace_id=sender.workspace_id,
        events=[
            contact_opted_out_event(
                contact_id=contact.public_id,
                phone=reply.phone,
                source=source,
                reason=(reply.text or reply.button)[:255],
            )
        ],
    )


def _contact_opt_in(*, contact: Contact) -> None:
    """A START reply from an opted-out contact is fresh consent."""
    Contact.objects.filter(pk=contact.pk).update(
        opted_out_at=None,
        opt_out_source="",
        opt_out_reason="",
        consent_source="reply START",
        consent_at=timezone.now(),
        updated_at=timezone.now(),
    )


def _inbound_event_publish(
    *,
    sender: Sender,
    event: InboundMessageEvent,
    reply: _Reply,
    contact: Contact | None,
    campaign_id: int | None,
    received_at: datetime,
) -> None:
    """The `message.inbound` event (the integrator's webhook)."""
    events_publish(
        workspace_id=sender.workspace_id,
        events=[
            message_inbound_event(
                number_id=sender.public_id,
                phone=reply.phone,
                kind=str(event.kind),
                text=reply.text,
                payload=reply.button[:255],
                provider_message_id=event.provider_message_id,
                contact_id=contact.public_id if contact else None,
                campaign_id=Campaign.objects.filter(pk=campaign_id)
                .values_list("public_id", flat=True)
                .first()
                if campaign_id
                else None,
                is_opt_out=reply.opt_out,
                received_at=received_at,
            )
        ],
    )


def apply_events(*, sender: Sender, events: Sequence[Any], refresh: bool = True) -> set[int]:
    """Apply a webhook's statuses and replies; returns the campaigns they touched. With
    `refresh=False` the caller refreshes their counters itself (after its own transaction:
    counters are recomputed from the statistics, and the tick refreshes running campaigns)."""
    touched = apply_events_of_senders(groups=[(sender, events)])
    if refresh:
        campaigns_refresh_touched(touched)
    return touched


def apply_events_of_senders(*, groups: Sequence[tuple[Sender, Sequence[Any]]]) -> set[int]:
    """Many webhooks' events at once (a drain's batch): all statuses together (one UPDATE per
    workspace), then each number's replies. The caller refreshes the campaigns returned."""
    statuses: dict[int, list[StatusEvent]] = {}
    for sender, events in groups:
        statuses.setdefault(sender.workspace_id, []).extend(
            e for e in events if isinstance(e, StatusEvent)
        )
    with transaction.atomic():
        touched = apply_status_batches(batches=statuses)
        for sender, events in sorted(groups, key=lambda group: group[0].pk):
            inbound = [e for e in events if isinstance(e, InboundMessageEvent)]
            if inbound:
                touched |= apply_inbound(sender=sender, events=inbound)
    return touched


def campaigns_refresh_touched(campaign_ids: set[int]) -> None:
    """Refresh the counters of the campaigns a webhook touched (at most once a second each)."""
    with transaction.atomic():
        reactions.campaigns_refresh(campaign_ids=campaign_ids, force=False)
