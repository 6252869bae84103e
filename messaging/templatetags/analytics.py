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
    return "—" if value is None else f"{value:.1f}%"
