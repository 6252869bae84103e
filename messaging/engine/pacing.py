"""Campaign pacing: how fast one campaign goes out on each of its numbers, on top of the
number's own limits (the Redis limiter keeps those whatever the campaign asks).

A campaign's pace is a schedule, so it lives in Postgres (DESIGN: schedules live in
`next_attempt_at`): when fan-out ends, and again on resume, its queued messages are spaced per
number (`rank / per_second`, plus a pause after every `batch_size` messages, plus random jitter)
and then moved into the send window. Presets cover the usual choices; "fast" leaves pacing to
the number alone."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from messaging.engine import windows

PRESETS: dict[str, dict[str, Any]] = {
    # A person typing: one message every ~5 s, a 10-minute break after every 50.
    "safe": {"per_second": 0.2, "batch_size": 50, "batch_pause_seconds": 600, "jitter_ms": 3000},
    # One a second, a 5-minute break after every 200.
    "normal": {"per_second": 1.0, "batch_size": 200, "batch_pause_seconds": 300, "jitter_ms": 500},
    # As fast as the number's own limits allow.
    "fast": {},
}
PRESET_LABELS = {
    "safe": gettext_lazy("Safe: about one message every 5 s, a 10-minute break after 50"),
    "normal": gettext_lazy("Normal: one a second, a 5-minute break after 200"),
    "fast": gettext_lazy("Fast: as fast as each number's limits allow"),
    "custom": gettext_lazy("Custom"),
}
MAX_PER_SECOND = 1000.0
_WINDOW_KEYS = ("w_start", "w_end", "w_days")


def pacing_clean(value: Any) -> dict[str, Any]:
    """A resolved pace ({} = fast), or a ValidationError naming what is wrong."""
    if not value:
        return {}
    if not isinstance(value, dict):
        raise ValidationError({"pacing": _("Choose a preset or give the custom values.")})
    preset = str(value.get("preset") or "custom")
    if preset in PRESETS:
        return {"preset": preset, **PRESETS[preset]} if PRESETS[preset] else {}
    if preset != "custom":
        raise ValidationError({"pacing": _("Unknown pacing preset “%(p)s”.") % {"p": preset}})
    if value.get("per_second") in (None, ""):
        raise ValidationError({"pacing": _("Give the messages per second for a custom pace.")})
    try:
        per_second = float(value["per_second"])  # present: checked above
        batch_size = int(value.get("batch_size") or 0)
        pause = int(value.get("batch_pause_seconds") or 0)
        jitter = int(value.get("jitter_ms") or 0)
    except (TypeError, ValueError) as exc:
        raise ValidationError({"pacing": _("Pacing values must be numbers.")}) from exc
    if not 0 < per_second <= MAX_PER_SECOND:
        raise ValidationError(
            {"pacing": _("Messages per second must be above 0 and at most 1,000.")}
        )
    if batch_size < 0 or pause < 0 or jitter < 0 or pause > 86_400 or jitter > 600_000:
        raise ValidationError(
            {"pacing": _("Batch size, pause (at most a day) and jitter cannot be negative.")}
        )
    if bool(batch_size) != bool(pause):
        raise ValidationError({"pacing": _("Give both a batch size and a pause, or neither.")})
    return {
        "preset": "custom",
        "per_second": per_second,
        "batch_size": batch_size,
        "batch_pause_seconds": pause,
        "jitter_ms": jitter,
    }


def seconds_for(pace: dict[str, Any], messages: float) -> float:
    """How long `messages` take on one number at this pace (for the pre-flight estimate)."""
    if not pace or messages <= 0:
        return 0.0
    batches = int((messages - 1) // pace["batch_size"]) if pace.get("batch_size") else 0
    per_second: float = pace["per_second"]
    pause: float = pace.get("batch_pause_seconds", 0)
    return messages / per_second + batches * pause


def respace_queued(
    *, campaign_id: int, pace: dict[str, Any], window: dict[str, Any], start: datetime
) -> int:
    """Space the campaign's queued messages per number from `start` (or now, if later) on.
    Returns how many moved.

    A number's schedule goes on where it was: it starts no sooner than its next queued
    message was due (a pause during a break keeps the rest of the break), and its count
    towards the next break includes the messages it already sent (sent 7 of a batch of 10:
    3 more, then the break). A respace that started every number's count at 0 let a user
    skip the break by pausing and resuming."""
    if not pace:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH queued AS (
                SELECT m.id, m.sender_id, ct.time_zone AS zone,
                       row_number() OVER (PARTITION BY m.sender_id ORDER BY m.id) - 1 AS rank,
                       min(m.next_attempt_at) OVER (PARTITION BY m.sender_id) AS first_due
                FROM messaging_message m
                LEFT JOIN messaging_contact ct ON ct.id = m.contact_id
                WHERE m.campaign_id = %(campaign)s AND m.indexed_status = 'queued'
            ), sent AS (
                SELECT s.sender_id,
                       sum(s.created - s.pending - s.skipped - s.cancelled) AS messages
                FROM messaging_messagestat s
                WHERE s.campaign_id = %(campaign)s
                GROUP BY s.sender_id
            ), ranked AS (
                SELECT q.id, q.zone, q.rank,
                       q.rank + COALESCE(sent.messages %% NULLIF(%(batch)s, 0), 0) AS in_cycle,
                       GREATEST(%(start)s::timestamptz, clock_timestamp(), q.first_due) AS origin
                FROM queued q LEFT JOIN sent ON sent.sender_id = q.sender_id
            )
            UPDATE messaging_message m SET next_attempt_at = isend_window_next(
                    ranked.origin
                    + make_interval(secs => ranked.rank / %(rate)s
                        + COALESCE(ranked.in_cycle / NULLIF(%(batch)s, 0), 0) * %(pause)s
                        + random() * %(jitter)s / 1000.0),
                    ranked.zone, w.time_zone, %(w_start)s, %(w_end)s, %(w_days)s::int[])
            FROM ranked, accounts_workspace w
            WHERE m.id = ranked.id AND w.id = m.workspace_id
            """,
            {
                "campaign": campaign_id,
                "rate": float(pace["per_second"]),
                "batch": int(pace.get("batch_size") or 0),
                "pause": int(pace.get("batch_pause_seconds") or 0),
                "jitter": int(pace.get("jitter_ms") or 0),
                "start": start,
                **dict(
                    zip(
                        ("w_start", "w_end", "w_days"), windows.window_sql_args(window), strict=True
                    )
                ),
            },
        )
        moved: int = cursor.rowcount
        return moved
