"""Thin tasks: call one service."""

from __future__ import annotations

from celery import shared_task

from support import services


@shared_task
def tickets_purge_expired_task() -> int:
    return services.tickets_purge_expired()
