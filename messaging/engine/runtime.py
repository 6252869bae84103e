"""What the engine's modules share at run time: the Redis client (rate limits, drain leases,
counters: state that may be lost) and the credit references the ledger knows messages by."""

from __future__ import annotations

import uuid

import redis
from django.conf import settings

_redis: redis.Redis | None = None


def redis_client() -> redis.Redis:
    global _redis  # noqa: PLW0603 - one connection pool per process
    if _redis is None:
        _redis = redis.Redis.from_url(settings.REDIS_URL)
    return _redis


_broker: redis.Redis | None = None


def broker_client() -> redis.Redis:
    """The Celery broker's Redis (it may be another instance than `REDIS_URL`'s)."""
    global _broker  # noqa: PLW0603 - one connection pool per process
    if _broker is None:
        _broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    return _broker


def message_credit_reference(public_id: uuid.UUID | str) -> str:
    """Credits of a single (API) message are reserved under their own reference."""
    return f"message:{public_id}"


def campaign_credit_reference(public_id: uuid.UUID | str) -> str:
    """Credits of a campaign are reserved under the campaign's reference."""
    return f"campaign:{public_id}"
