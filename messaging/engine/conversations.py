"""Keeping the team inbox's conversations in step with the messages, in bulk.

Every write of a message keeps the conversation of its (number, phone) in the same
transaction, one statement per batch, never one per message: an inbound reply or a single
send upserts it (`conversations_touch`); a campaign's fan-out moves the conversations that
exist forward inside its own insert statement (`fanout_cte`). The list's fields only move
forward: a late or replayed write never sets the last message back, and a reply adds to the
unread count and reopens a closed conversation.

`conversations_touch` upserts in (sender, phone) order, so two batches that touch the same
conversations lock them in the same order. The fan-out's update locks in its join's order: a
deadlock with another fan-out over the same recipients at the same moment is possible (Postgres
aborts one; its chunk rolls back whole, cursor included, and the task runs it again)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from django.db import connection

from messaging.inbox.models import Conversation

TABLE = Conversation._meta.db_table
PREVIEW_CHARS = 160

COLUMNS = """(public_id, workspace_id, sender_id, phone, contact_id, status, labels,
    last_message_at, last_kind, last_preview, last_inbound_at, unread_count, created_at,
    updated_at, profile_name)"""

# What a conflicting (existing) conversation becomes; every expression reads the old row (c).
ON_CONFLICT = """ON CONFLICT (sender_id, phone) DO UPDATE SET
    contact_id = COALESCE(EXCLUDED.contact_id, c.contact_id),
    profile_name = COALESCE(NULLIF(EXCLUDED.profile_name, ''), c.profile_name),
    last_kind = CASE WHEN EXCLUDED.last_message_at >= c.last_message_at
                     THEN EXCLUDED.last_kind ELSE c.last_kind END,
    last_preview = CASE WHEN EXCLUDED.last_message_at >= c.last_message_at
                        THEN EXCLUDED.last_preview ELSE c.last_preview END,
    last_message_at = GREATEST(c.last_message_at, EXCLUDED.last_message_at),
    last_inbound_at = GREATEST(c.last_inbound_at, EXCLUDED.last_inbound_at),
    unread_count = c.unread_count + EXCLUDED.unread_count,
    status = CASE WHEN EXCLUDED.unread_count > 0 AND c.status = 'closed'
                  THEN 'open' ELSE c.status END,
    updated_at = now()"""


@dataclass(frozen=True, slots=True)
class Touch:
    """One message written between a number and a phone."""

    workspace_id: int
    sender_id: int
    phone: str
    contact_id: int | None
    at: datetime
    kind: str  # Conversation.LastKind
    preview: str
    # The WhatsApp profile name an inbound message carried ("": none, keep the one known).
    profile_name: str = ""


def preview_of(text: str) -> str:
    """The list's one-line preview of a text."""
    flat = " ".join(text.split())
    return flat if len(flat) <= PREVIEW_CHARS else flat[: PREVIEW_CHARS - 1] + "…"


def conversations_touch(touches: Sequence[Touch]) -> None:
    """Upsert the conversations of these messages (one statement; call it inside the
    transaction that writes them). Several touches of one conversation fold into one row:
    the latest is the preview, inbound ones add up as unread."""
    if not touches:
        return
    folded: dict[tuple[int, str], tuple[Touch, int, datetime | None]] = {}
    for touch in touches:
        key = (touch.sender_id, touch.phone)
        inbound = touch.kind == Conversation.LastKind.INBOUND
        seen = folded.get(key)
        if seen is None:
            folded[key] = (touch, int(inbound), touch.at if inbound else None)
            continue
        latest, unread, inbound_at = seen
        if inbound:
            unread += 1
            inbound_at = max(inbound_at, touch.at) if inbound_at else touch.at
        newest = touch if touch.at >= latest.at else latest
        if not newest.profile_name and (touch.profile_name or latest.profile_name):
            newest = replace(newest, profile_name=touch.profile_name or latest.profile_name)
        folded[key] = (newest, unread, inbound_at)
    rows = [folded[key] for key in sorted(folded)]
    values = ", ".join(
        [
            "(gen_random_uuid(), %s, %s, %s, %s, 'open', '{}'::varchar[], %s::timestamptz, %s,"
            " %s, %s::timestamptz, %s, now(), now(), %s)"
        ]
        * len(rows)
    )
    params: list[Any] = []
    for touch, unread, inbound_at in rows:
        params += [
            touch.workspace_id,
            touch.sender_id,
            touch.phone,
            touch.contact_id,
            touch.at,
            touch.kind,
            preview_of(touch.preview),
            inbound_at,
            unread,
            touch.profile_name[:120],
        ]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {TABLE} AS c {COLUMNS} VALUES {values} {ON_CONFLICT}",  # noqa: S608 - placeholders only  # nosec B608 # own table names, values are parameters
            params,
        )


def fanout_cte(*, inserted: str) -> str:
    """A data-modifying CTE for the fan-out's statement: the campaign's messages become the
    last line of the conversations that already exist with their recipients (the CTE named
    `inserted` must return workspace_id, sender_id, phone, contact_id and created_at). Takes
    one parameter: the preview (the campaign's name).

    It creates no conversation: a broadcast to 100,000 people is not 100,000 conversations
    for the team to work; a recipient's conversation starts when they answer (or someone
    writes to them alone), and its thread then shows the campaign's messages too. Measured
    (bench/fanout.py, 100,000 recipients): upserting every recipient's conversation made the
    fan-out about 8 times slower; this update costs one index probe per recipient."""
    return f"""touched AS (
        UPDATE {TABLE} AS c SET
            last_kind = '{Conversation.LastKind.CAMPAIGN}',
            last_preview = %s,
            last_message_at = i.created_at,
            contact_id = COALESCE(c.contact_id, i.contact_id),
            updated_at = now()
        FROM {inserted} i
        WHERE c.sender_id = i.sender_id AND c.phone = i.phone
          AND c.last_message_at <= i.created_at
        RETURNING 1
    )"""  # noqa: S608 - own table names, the value is a parameter  # nosec B608
