"""The health-check registry `/healthz` runs (isend/health.py): each part registers a check
(a callable returning {"ok": bool, ...}) from its AppConfig.ready(), e.g. the engine's age of
the oldest due message, so the view knows no app."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Check = Callable[[], dict[str, Any]]
CHECKS: dict[str, Check] = {}


def register_check(name: str, check: Check) -> None:
    CHECKS[name] = check
