"""The per-day statistics table (`MessageStat`): one row per workspace, number, campaign and day,
kept up to date by Postgres itself in the same statement that changes messages.

Why a statement-level trigger: every path that writes messages (fan-out's INSERT ... SELECT,
the dispatcher's bulk outcome UPDATE, status ingestion, cancel, failover) is a bulk statement.
A trigger with transition tables turns each statement's old and new rows into one grouped
upsert of deltas, so no path can forget to count and no page ever counts message rows.

The figures are a pure function of a message row (`_EVENTS` below): each message contributes
+1 to some counters on the day (in the workspace's time zone) each event happened. An update
adds the new row's contributions and subtracts the old row's, so the table always equals the
recount over messages, which `message_stats_rebuild` recomputes with the very same SQL."""

# ruff: noqa: S608 - every name interpolated into SQL here is a constant of this module;
# values always travel as query parameters.
from __future__ import annotations

from dataclasses import dataclass

from django.db import connection, transaction

STAT_TABLE = "messaging_messagestat"
MESSAGE_TABLE = "messaging_message"

COUNTERS = (
    "created",  # queued for sending (every message written)
    "pending",  # still queued, sending or unconfirmed
    "accepted",  # the gateway took it (the user's "sent"; credits consumed)
    "sent",  # the gateway reported it sent
    "delivered",
    "read",
    "replied",
    "opted_out",
    "failed_recipient",  # invalid number, recipient blocked marketing
    "failed_content",  # the request or template was rejected
    "failed_temporary",  # retries exhausted
    "failed_sender",  # the number was banned, restricted or logged out
    "failed_other",
    "skipped",  # opted out or suppressed before sending
    "cancelled",  # cancelled or expired
    "credits_used",  # accepted and not failed afterwards
)
FAILED_COUNTERS = (
    "failed_recipient",
    "failed_content",
    "failed_temporary",
    "failed_sender",
    "failed_other",
)

_OPEN = "r.status IN ('queued', 'sending', 'ambiguous')"
_FAILED = "r.status = 'failed'"
_KIND_RECIPIENT = "r.error_kind = 'recipient_permanent'"
_KIND_CONTENT = "r.error_kind = 'fix_request'"
_KIND_TEMPORARY = "r.error_kind IN ('retry_later', 'rate_limited', 'recipient_wait', 'ambiguous')"
_KIND_SENDER = "r.error_kind IN ('sender_blocked', 'credentials_invalid')"

# (the moment of the event, {counter: 0/1 expression}); NULL moment = no event.
_EVENTS: tuple[tuple[str, dict[str, str]], ...] = (
    ("r.created_at", {"created": "1", "pending": _OPEN, "skipped": "r.status = 'skipped'"}),
    (
        "r.accepted_at",
        {
            "accepted": "1",
            "sent": "r.status IN ('sent', 'delivered', 'read')",
            "credits_used": "r.status <> 'failed'",
        },
    ),
    ("COALESCE(r.delivered_at, r.read_at)", {"delivered": "1"}),
    ("r.read_at", {"read": "1"}),
    ("r.replied_at", {"replied": "1"}),
    (
        "COALESCE(r.opted_out_at, CASE WHEN r.status = 'failed' AND r.error_code = 131050"
        " THEN r.status_changed_at END)",
        {"opted_out": "1"},
    ),
    (
        "CASE WHEN r.status IN ('failed', 'cancelled', 'expired') THEN r.status_changed_at END",
        {
            "failed_recipient": f"{_FAILED} AND {_KIND_RECIPIENT}",
            "failed_content": f"{_FAILED} AND {_KIND_CONTENT}",
            "failed_temporary": f"{_FAILED} AND {_KIND_TEMPORARY}",
            "failed_sender": f"{_FAILED} AND {_KIND_SENDER}",
            "failed_other": f"{_FAILED} AND NOT ({_KIND_RECIPIENT} OR {_KIND_CONTENT}"
            f" OR {_KIND_TEMPORARY} OR {_KIND_SENDER})",
            "cancelled": "r.status IN ('cancelled', 'expired')",
        },
    ),
)


# The message columns the figures read: the trigger's sources carry only these (a transition
# table's rows are whole messages, bodies included).
ROW_COLUMNS = (
    "workspace_id",
    "sender_id",
    "campaign_id",
    "status",
    "error_kind",
    "error_code",
    "created_at",
    "accepted_at",
    "delivered_at",
    "read_at",
    "replied_at",
    "opted_out_at",
    "status_changed_at",
)


def _row_columns(alias: str) -> str:
    return ", ".join(f"{alias}.{column}" for column in ROW_COLUMNS)


def _counter_cells(events: tuple[tuple[str, dict[str, str]], ...]) -> str:
    """Each counter's contribution of one (row, event) pair: `e.k` is the event's index."""
    cells = []
    for counter in COUNTERS:
        cell = "0"
        for index, (_, flags) in enumerate(events):
            expression = flags.get(counter)
            if expression == "1":
                cell = f"CASE WHEN e.k = {index} THEN r.s ELSE 0 END"
            elif expression is not None:
                cell = f"CASE WHEN e.k = {index} AND ({expression}) THEN r.s ELSE 0 END"
            else:
                continue
            break
        cells.append(f"{cell} AS {counter}")
    return ", ".join(cells)


def grouped_sql(source: str, events: tuple[tuple[str, dict[str, str]], ...] = _EVENTS) -> str:
    """The grouped contributions of `source` (rows of the messages table plus a sign `s`).

    Each row is first expanded into the events that happened to it (a moment that is not
    NULL), and only those rows compute their counters: a message usually has two or three of
    the seven events, and computing all seven rows' counters made the trigger cost as much as
    the status update it follows."""
    moments = ", ".join(f"({index}, {moment})" for index, (moment, _) in enumerate(events))
    sums = ", ".join(f"sum(c.{name})::int AS {name}" for name in COUNTERS)
    nonzero = " OR ".join(f"sum(c.{name}) <> 0" for name in COUNTERS)
    return f"""
    SELECT r.workspace_id, r.sender_id, r.campaign_id, c.day, {sums}
    FROM ({source}) r
    JOIN accounts_workspace w ON w.id = r.workspace_id
    CROSS JOIN LATERAL (VALUES {moments}) AS e(k, moment)
    CROSS JOIN LATERAL (
        SELECT (e.moment AT TIME ZONE w.time_zone)::date AS day, {_counter_cells(events)}
    ) AS c
    WHERE e.moment IS NOT NULL
    GROUP BY r.workspace_id, r.sender_id, r.campaign_id, c.day
    HAVING {nonzero}
    ORDER BY r.workspace_id, r.sender_id, r.campaign_id, c.day
    """  # nosec B608 # own table names, values are parameters


def _upsert_sql(grouped: str) -> str:
    columns = ", ".join(COUNTERS)
    add = ", ".join(f"{name} = {STAT_TABLE}.{name} + EXCLUDED.{name}" for name in COUNTERS)
    return f"""
    INSERT INTO {STAT_TABLE} (workspace_id, sender_id, campaign_id, day, {columns})
    {grouped}
    ON CONFLICT (workspace_id, sender_id, campaign_id, day) DO UPDATE SET {add}
    """  # nosec B608 # own table names, values are parameters


def _merged_sql(*parts: str) -> str:
    """Several grouped parts summed per key (one upsert may touch a row only once)."""
    key = "workspace_id, sender_id, campaign_id, day"
    sums = ", ".join(f"sum({name})::int AS {name}" for name in COUNTERS)
    nonzero = " OR ".join(f"sum({name}) <> 0" for name in COUNTERS)
    union = "\n    UNION ALL\n".join(f"({part})" for part in parts)
    return f"""
    SELECT {key}, {sums} FROM ({union}) parts
    GROUP BY {key} HAVING {nonzero} ORDER BY {key}
    """  # nosec B608 # own table names, values are parameters


# Inserted rows: nearly always fresh `queued` messages (fan-out, single sends), which count
# once on their creation day. Only rows that already carry later events (rare) go through
# the general per-event expansion: fan-out of 100,000 rows stays one cheap grouping.
_LATER_EVENTS = (
    "n.accepted_at IS NOT NULL OR n.delivered_at IS NOT NULL OR n.read_at IS NOT NULL"
    " OR n.replied_at IS NOT NULL OR n.opted_out_at IS NOT NULL"
    " OR n.status IN ('failed', 'cancelled', 'expired')"
)
# Updated rows: only those whose counted columns changed. A claim (queued -> sending), a
# returned lease or an unclaim changes nothing counted, and is skipped.
_OPEN_CLASS = (
    "CASE WHEN {t}.status IN ('queued', 'sending', 'ambiguous') THEN '' ELSE {t}.status END"
)
_COUNTED_CHANGE = " OR ".join(
    [
        f"o.{column} IS DISTINCT FROM n.{column}"
        # status and status_changed_at count only as the two conditions below say
        for column in ROW_COLUMNS
        if column not in ("status", "status_changed_at")
    ]
    + [
        f"({_OPEN_CLASS.format(t='o')}) IS DISTINCT FROM ({_OPEN_CLASS.format(t='n')})",
        "(n.status IN ('failed', 'cancelled', 'expired')"
        " AND o.status_changed_at IS DISTINCT FROM n.status_changed_at)",
    ]
)


def trigger_sql() -> str:
    """The trigger functions and triggers (run by a migration; idempotent).

    JIT is off inside them: the planner knows nothing of a transition table's size, estimates
    hundreds of thousands of rows, and JIT-compiled every statement's grouping, which cost
    3.4 s of compilation for a 10,000-status update that runs in well under a second."""
    inserted = _upsert_sql(
        _merged_sql(
            grouped_sql(
                f"SELECT 1 AS s, {_row_columns('n')} FROM new_rows n",  # nosec B608
                events=_EVENTS[:1],
            ),
            grouped_sql(
                f"SELECT 1 AS s, {_row_columns('n')} FROM new_rows n WHERE {_LATER_EVENTS}",  # nosec B608
                events=_EVENTS[1:],
            ),
        )
    )
    pairs = f"FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE {_COUNTED_CHANGE}"
    updated = _upsert_sql(
        grouped_sql(
            f"SELECT 1 AS s, {_row_columns('n')} {pairs}"
            f" UNION ALL SELECT -1 AS s, {_row_columns('o')} {pairs}"
        )
    )
    return f"""
    CREATE OR REPLACE FUNCTION messaging_message_stats_inserted() RETURNS trigger
    LANGUAGE plpgsql SET jit = off AS $$
    BEGIN
        {inserted};
        RETURN NULL;
    END $$;

    CREATE OR REPLACE FUNCTION messaging_message_stats_updated() RETURNS trigger
    LANGUAGE plpgsql SET jit = off AS $$
    BEGIN
        {updated};
        RETURN NULL;
    END $$;

    DROP TRIGGER IF EXISTS message_stats_inserted ON {MESSAGE_TABLE};
    CREATE TRIGGER message_stats_inserted AFTER INSERT ON {MESSAGE_TABLE}
        REFERENCING NEW TABLE AS new_rows
        FOR EACH STATEMENT EXECUTE FUNCTION messaging_message_stats_inserted();

    DROP TRIGGER IF EXISTS message_stats_updated ON {MESSAGE_TABLE};
    CREATE TRIGGER message_stats_updated AFTER UPDATE ON {MESSAGE_TABLE}
        REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
        FOR EACH STATEMENT EXECUTE FUNCTION messaging_message_stats_updated();
    """


DROP_TRIGGER_SQL = f"""
    DROP TRIGGER IF EXISTS message_stats_inserted ON {MESSAGE_TABLE};
    DROP TRIGGER IF EXISTS message_stats_updated ON {MESSAGE_TABLE};
    DROP FUNCTION IF EXISTS messaging_message_stats_inserted();
    DROP FUNCTION IF EXISTS messaging_message_stats_updated();
"""


@dataclass
class RebuildResult:
    workspaces: int
    rows_before: int
    rows_after: int
    differences: int


def _recount_source(workspace_id: int | None) -> tuple[str, list[int]]:
    where, params = ("WHERE m.workspace_id = %s", [workspace_id]) if workspace_id else ("", [])
    return f"SELECT 1 AS s, m.* FROM {MESSAGE_TABLE} m {where}", params  # nosec B608 # own table names, values are parameters


def message_stats_rebuild(
    *, workspace_id: int | None = None, dry_run: bool = False
) -> RebuildResult:
    """Recount the table from the messages. Days before a workspace's oldest remaining message
    are kept (their messages were purged by retention; the figures are all that is left).
    `dry_run` only counts the rows that would change."""
    source, params = _recount_source(workspace_id)
    scope = "WHERE s.workspace_id = %s" if workspace_id else ""
    scope_params = [workspace_id] if workspace_id else []
    key = "workspace_id, sender_id, campaign_id, day"
    columns = ", ".join(COUNTERS)
    with transaction.atomic(), connection.cursor() as cursor:
        # Writers (the triggers) wait while the recount runs, so it sees a still picture.
        cursor.execute(f"LOCK TABLE {STAT_TABLE} IN SHARE ROW EXCLUSIVE MODE")
        # (inside an outer transaction ON COMMIT DROP has not dropped an earlier run's tables)
        cursor.execute("DROP TABLE IF EXISTS pg_temp.stat_recount, pg_temp.stat_floor")
        cursor.execute(
            f"CREATE TEMP TABLE stat_recount ON COMMIT DROP AS {grouped_sql(source)}", params
        )
        cursor.execute(
            f"""
            CREATE TEMP TABLE stat_floor ON COMMIT DROP AS
            SELECT m.workspace_id, min((m.created_at AT TIME ZONE w.time_zone)::date) AS day
            FROM {MESSAGE_TABLE} m JOIN accounts_workspace w ON w.id = m.workspace_id
            {"WHERE m.workspace_id = %s" if workspace_id else ""}
            GROUP BY m.workspace_id
            """,  # nosec B608 # own table names, values are parameters
            params,
        )
        cursor.execute(f"SELECT count(*) FROM {STAT_TABLE} s {scope}", scope_params)  # nosec B608 # own table names, values are parameters
        rows_before = cursor.fetchone()[0]
        # Rows in scope that differ from the recount (either side missing or unequal).
        cursor.execute(
            f"""
            SELECT count(*) FROM (
                SELECT {key}, {columns} FROM {STAT_TABLE} s
                WHERE EXISTS (SELECT 1 FROM stat_floor f
                              WHERE f.workspace_id = s.workspace_id AND s.day >= f.day)
                EXCEPT SELECT {key}, {columns} FROM stat_recount
            ) stale
            """  # nosec B608 # own table names, values are parameters
        )
        stale = cursor.fetchone()[0]
        cursor.execute(
            f"""
            SELECT count(*) FROM (
                SELECT {key}, {columns} FROM stat_recount
                EXCEPT SELECT {key}, {columns} FROM {STAT_TABLE}
            ) missing
            """  # nosec B608 # own table names, values are parameters
        )
        missing = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM stat_floor")
        workspaces = cursor.fetchone()[0]
        if dry_run or not (stale or missing):
            return RebuildResult(workspaces, rows_before, rows_before, stale + missing)
        cursor.execute(
            f"""
            DELETE FROM {STAT_TABLE} s USING stat_floor f
            WHERE f.workspace_id = s.workspace_id AND s.day >= f.day
            """  # nosec B608 # own table names, values are parameters
        )
        cursor.execute(
            f"INSERT INTO {STAT_TABLE} ({key}, {columns}) SELECT {key}, {columns} FROM stat_recount"  # nosec B608 # own table names, values are parameters
        )
        cursor.execute(f"SELECT count(*) FROM {STAT_TABLE} s {scope}", scope_params)  # nosec B608 # own table names, values are parameters
        rows_after = cursor.fetchone()[0]
    return RebuildResult(workspaces, rows_before, rows_after, stale + missing)
