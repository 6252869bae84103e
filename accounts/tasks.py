"""Thin tasks: take plain data, call one service."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from celery import shared_task
from django.core.cache import cache
from django.utils import timezone

from accounts.emails import email_render_and_send
from accounts.models import ApiRequestLog, Invitation

BEAT_HEARTBEAT_KEY = "beat:last_tick"


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def email_send_task(
    *, to: list[str], template: str, context: dict[str, Any], language: str | None = None
) -> None:
    email_render_and_send(to=to, template=template, context=context, language=language)


@shared_task
def beat_heartbeat_task() -> None:
    cache.set(BEAT_HEARTBEAT_KEY, timezone.now().timestamp(), timeout=None)


@shared_task
def invitations_purge_expired_task() -> int:

    cutoff = timezone.now() - timedelta(days=30)
    deleted, _ = Invitation.objects.filter(expires_at__lt=cutoff, accepted_at__isnull=True).delete()
    return deleted


@shared_task
def api_request_logs_purge_task() -> int:
    from django.conf import settings

    cutoff = timezone.now() - timedelta(days=settings.API_LOG_RETENTION_DAYS)
    deleted, _ = ApiRequestLog.objects.filter(created_at__lt=cutoff).delete()
    return deleted
