"""Billing's periodic work. Thin: call the service."""

from __future__ import annotations

from celery import shared_task

from billing import services


@shared_task  # type: ignore[untyped-decorator]  # celery ships no type hints (no py.typed, no stubs)
def credits_expire_due_task() -> int:
    """Write off the unreserved part of expired lots (every few minutes, from beat)."""
    return services.credits_expire_due()
