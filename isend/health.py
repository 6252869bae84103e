"""`/healthz`: is every part the product depends on answering? 200 or 503, JSON."""

from __future__ import annotations

import time
from typing import Any

import redis
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse

from accounts.tasks import BEAT_HEARTBEAT_KEY
from core.health import CHECKS, register_check


def _check_database() -> dict[str, Any]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"ok": True}


def _ping(url: str) -> dict[str, Any]:
    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    try:
        client.ping()
    finally:
        client.close()
    return {"ok": True}


def _check_beat() -> dict[str, Any]:

    last = cache.get(BEAT_HEARTBEAT_KEY)
    if last is None:
        return {"ok": not settings.HEALTHZ_REQUIRE_BEAT, "last_tick": None}
    age = time.time() - float(last)
    ok = age < settings.BEAT_STALE_AFTER_SECONDS or not settings.HEALTHZ_REQUIRE_BEAT
    return {"ok": ok, "last_tick_age_seconds": round(age, 1)}


register_check("database", _check_database)
register_check("redis", lambda: _ping(settings.REDIS_URL))
register_check("broker", lambda: _ping(settings.CELERY_BROKER_URL))
register_check("beat", _check_beat)


def healthz(request: HttpRequest) -> JsonResponse:
    results: dict[str, Any] = {}
    for name, check in CHECKS.items():
        try:
            results[name] = check()
        except Exception as exc:  # noqa: BLE001 - any failure is "down", reported by type only
            results[name] = {"ok": False, "error": type(exc).__name__}
    healthy = all(result.get("ok") for result in results.values())
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", "checks": results},
        status=200 if healthy else 503,
    )
