"""Failed sign-ins slow down the (account, IP) pair that failed (issue 17, F8).

A lock per account let anyone lock an owner out by typing five wrong passwords; a lock per IP
locked a whole office behind one address. Here each pair has its own count: the first
``LOGIN_SLOWDOWN_FREE_ATTEMPTS`` failures cost nothing, then each failure makes that pair wait
``LOGIN_SLOWDOWN_BASE_SECONDS * 2**k`` seconds (at most ``LOGIN_SLOWDOWN_MAX_SECONDS``) before
its next try; the form says "try again in N seconds". No CAPTCHA. The owner from another address
is never slowed by an attacker's failures, and a success clears the pair.

The state is in the cache (Redis): losing it only forgets slow-downs, never a sign-in. Keys hold
a hash of the e-mail, not the address itself."""

from __future__ import annotations

import hashlib
import math
import time
from typing import Any

from django.conf import settings
from django.core.cache import cache

_PREFIX = "login-slowdown"


def _now() -> float:
    return time.time()


def free_attempts() -> int:
    return int(settings.LOGIN_SLOWDOWN_FREE_ATTEMPTS)


def _key(email: str, ip: str | None) -> str:
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
    return f"{_PREFIX}:{digest}:{ip or '-'}"


def _delay_after(failures: int) -> int:
    over = failures - free_attempts()
    if over <= 0:
        return 0
    base = float(settings.LOGIN_SLOWDOWN_BASE_SECONDS)
    return int(min(base * 2 ** (over - 1), float(settings.LOGIN_SLOWDOWN_MAX_SECONDS)))


def wait_seconds(*, email: str, ip: str | None) -> int:
    """Seconds this pair must still wait before its next try (0: it may try now)."""
    state: dict[str, Any] | None = cache.get(_key(email, ip))
    if not state:
        return 0
    return max(0, math.ceil(float(state.get("until", 0)) - _now()))


def failure_record(*, email: str, ip: str | None) -> int:
    """Count a failed sign-in of this pair; returns the wait it now has."""
    key = _key(email, ip)
    state: dict[str, Any] = cache.get(key) or {"failures": 0, "until": 0.0}
    state["failures"] = int(state["failures"]) + 1
    delay = _delay_after(state["failures"])
    state["until"] = _now() + delay
    # Forgotten a day after the last failure (or after the longest wait, if longer).
    cache.set(key, state, timeout=max(86400, delay * 2))
    return delay


def success_record(*, email: str, ip: str | None) -> None:
    cache.delete(_key(email, ip))
