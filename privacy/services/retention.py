"""Retention jobs (privacy policy section 7): sign-in events and audit details after 12
months, message texts sent and received after the workspace's period (180 days unless the
owner chose another, `MESSAGE_TEXT_RETENTION_DAYS`). Each deletes exactly what is due and
nothing younger.
(Expired export archives: `export.exports_purge_expired`.)"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from accounts.models import AuditEvent, LoginEvent
from privacy import registry

LOGIN_EVENT_RETENTION = timedelta(days=365)
AUDIT_EVENT_RETENTION = timedelta(days=365)


def login_events_purge(*, now: datetime | None = None) -> int:
    cutoff = (now or timezone.now()) - LOGIN_EVENT_RETENTION
    return LoginEvent.objects.filter(created_at__lt=cutoff).delete()[0]


def audit_events_purge(*, now: datetime | None = None) -> int:
    cutoff = (now or timezone.now()) - AUDIT_EVENT_RETENTION
    return AuditEvent.objects.filter(created_at__lt=cutoff).delete()[0]


def message_bodies_purge(*, now: datetime | None = None, batch: int = 5000) -> int:
    """Remove the texts of messages sent and received after each workspace's retention
    period; the delivery record stays. Done by the app that keeps messages, through its
    privacy door, in batches."""
    now = now or timezone.now()
    return sum(door.purge_message_bodies(now=now, batch=batch) for door in registry.doors())
