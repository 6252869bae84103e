"""Send windows: the hours and weekdays a campaign may reach a recipient, in the recipient's
time zone (else the workspace's). Applied in SQL, where `next_attempt_at` is computed: at
fan-out (a message is queued for the next opening) and at claim (a message whose window closed
while it waited goes back to the queue until the next opening). The limiter only paces numbers.

A window is stored on the campaign as {"start": 9, "end": 20, "days": [0, 1, 2, 3, 4]}: hours
[start, end) local time, days Monday=0 ... Sunday=6 (all days when empty)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

# The next opening of a message's campaign window from now, as a SQL expression over the
# aliases m (message), c (campaign), ct (contact) and w (workspace); NULL without a window.
# Read by the due walks (messaging.engine.due): the claim and /healthz's oldest-due check.
WINDOW_OPENS_SQL = """CASE WHEN c.send_window ? 'start' THEN isend_window_next(
    clock_timestamp(), ct.time_zone, w.time_zone,
    (c.send_window->>'start')::int, (c.send_window->>'end')::int,
    ARRAY(SELECT jsonb_array_elements_text(c.send_window->'days')::int)) END"""

# The next moment at or after `t` inside the window, in time zone `tz`. A day list that allows
# nothing never blocks a message forever: it returns `t`.
FUNCTION_SQL = """
CREATE OR REPLACE FUNCTION isend_window_next(
    t timestamptz, tz text, fallback_tz text, start_hour int, end_hour int, days int[]
) RETURNS timestamptz LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
    local_now timestamp;
    day_start timestamp;
    opening timestamp;
    candidate timestamptz;
    earlier timestamptz;
    k int;
BEGIN
    IF start_hour IS NULL OR end_hour IS NULL THEN
        RETURN t;
    END IF;
    -- The recipient's zone when Postgres knows it, else the workspace's.
    IF tz IS NULL OR tz = '' THEN
        tz := fallback_tz;
    END IF;
    BEGIN
        local_now := t AT TIME ZONE tz;
    EXCEPTION WHEN invalid_parameter_value THEN
        tz := fallback_tz;
        local_now := t AT TIME ZONE tz;
    END;
    day_start := date_trunc('day', local_now);
    FOR k IN 0..7 LOOP
        IF days IS NULL OR cardinality(days) = 0
           OR (extract(isodow FROM day_start + make_interval(days => k))::int - 1) = ANY(days) THEN
            opening := day_start + make_interval(days => k, hours => start_hour);
            IF k = 0 AND local_now >= opening
               AND local_now < day_start + make_interval(hours => end_hour) THEN
                RETURN t;
            END IF;
            -- The opening as an instant. A wall time that happens twice (clocks going back)
            -- is taken at its first occurrence (Postgres would take the second); one that
            -- does not happen (clocks going forward) becomes the first moment after the gap,
            -- and counts only if that moment is still inside the day's window.
            candidate := opening AT TIME ZONE tz;
            earlier := ((opening - interval '1 hour') AT TIME ZONE tz) + interval '1 hour';
            IF earlier < candidate AND (earlier AT TIME ZONE tz) = opening THEN
                candidate := earlier;
            END IF;
            IF candidate >= t AND (candidate AT TIME ZONE tz)
                    < day_start + make_interval(days => k, hours => end_hour) THEN
                RETURN candidate;
            END IF;
        END IF;
    END LOOP;
    RETURN t;
END $$;
"""
DROP_FUNCTION_SQL = (
    "DROP FUNCTION IF EXISTS isend_window_next(timestamptz, text, text, int, int, int[]);"
)


def window_clean(value: Any) -> dict[str, Any]:
    """A valid window dict, or {} for none; a ValidationError names what is wrong."""
    if not value:
        return {}
    if not isinstance(value, dict):
        raise ValidationError({"send_window": _("Give start and end hours and the days.")})
    try:
        start, end = int(value["start"]), int(value["end"])
        days = sorted({int(d) for d in value.get("days") or []})
    except (KeyError, TypeError, ValueError) as exc:
        raise ValidationError({"send_window": _("Hours and days must be whole numbers.")}) from exc
    if not (0 <= start < end <= 24):
        raise ValidationError(
            {"send_window": _("The window must start before it ends, between 0 and 24 hours.")}
        )
    if any(d < 0 or d > 6 for d in days):
        raise ValidationError({"send_window": _("Days go from 0 (Monday) to 6 (Sunday).")})
    return {"start": start, "end": end, "days": days}


def window_share(window: dict[str, Any]) -> float:
    """The share of a week the window is open (for the pre-flight's estimate)."""
    if not window:
        return 1.0
    days = len(window.get("days") or range(7))
    hours: int = window["end"] - window["start"]
    return hours / 24 * days / 7


def window_sql_args(window: dict[str, Any]) -> list[Any]:
    """The start, end and days parameters of `isend_window_next` (NULLs: no window)."""
    if not window:
        return [None, None, None]
    return [window["start"], window["end"], list(window.get("days") or [])]
