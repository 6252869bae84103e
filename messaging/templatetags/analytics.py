"""Small helpers for the analytics tables: read a figure by name, format a rate."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.filter
def figure(row: dict[str, Any], key: str) -> Any:
    return row.get(key, "")


@register.filter
def rate(value: float | None) -> str:
    """A percentage with one decimal in the reader's language ("66.7%", "66,7%")."""
    from django.utils.formats import number_format

    return "—" if value is None else f"{number_format(round(value, 1), 1)}%"


@register.filter
def duration(seconds: int | float | None) -> str:
    """“2 d 3 h”, “1 h 5 min”, “40 s”: an estimate reads better rounded."""
    from django.utils.translation import gettext as _

    total = int(seconds or 0)
    days, rest = divmod(total, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        return _("%(d)d d %(h)d h") % {"d": days, "h": hours}
    if hours:
        return _("%(h)d h %(m)d min") % {"h": hours, "m": minutes}
    if minutes:
        return _("%(m)d min") % {"m": minutes + (1 if secs >= 30 else 0)}
    if secs < 1:
        return _("under a second")
    return _("%(s)d s") % {"s": secs}


@register.filter
def failure_reason(message: Any) -> str:
    """Why a message failed, in words with what to do (messaging.failures)."""
    from messaging.failures import message_failure_reason

    return message_failure_reason(message)
