"""Retention jobs (privacy policy section 7): sign-in events and audit details after 12
months, the rows of ended sessions a day after they end, devices unseen for 12 months, message
texts sent and received after the workspace's period (180 days unless the owner chose another,
`MESSAGE_TEXT_RETENTION_DAYS`). Each deletes exactly what is due and nothing younger.
(Expired export archives: `export.exports_purge_expired`.)"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from accounts.models import AuditEvent, KnownDevice, LoginEvent, UserSession
from privacy import registry

LOGIN_EVENT_RETENTION = timedelta(days=365)
AUDIT_EVENT_RETENTION = timedelta(days=365)
# A session's row (IP address, browser, device) outlives its session by at most this long.
# The grace keeps a row whose session is being created or rotated in another transaction
# (sign-in saves the session and writes the row in one request) out of reach of the purge.
ENDED_SESSION_GRACE = timedelta(days=1)
# "Sign-in records (date, IP address, browser, device): 12 months": a known device not seen
# for that long is forgotten (signing in from it again is announced as a new device).
KNOWN_DEVICE_RETENTION = timedelta(days=365)


def login_events_purge(*, now: datetime | None = None) -> int:
    cutoff = (now or timezone.now()) - LOGIN_EVENT_RETENTION
    return LoginEvent.objects.filter(created_at__lt=cutoff).delete()[0]


def audit_events_purge(*, now: datetime | None = None) -> int:
    cutoff = (now or timezone.now()) - AUDIT_EVENT_RETENTION
    return AuditEvent.objects.filter(created_at__lt=cutoff).delete()[0]


def user_sessions_purge(*, now: datetime | None = None) -> int:
    """Delete the "Sessions and devices" rows of sessions that have ended (expired, or gone
    from the session store) and were last seen more than ENDED_SESSION_GRACE ago; sign-out
    deletes its own row, this catches the sessions that simply expired. One statement.

    A session unseen for longer than SESSION_COOKIE_AGE has expired whatever the store (its
    "last seen" write also saves the session and pushes its expiry on). With the database
    store a session that ended earlier (flushed, cycled, cleared by `clearsessions`) is
    found by its missing or expired row; cache stores cannot be asked in bulk, so for them
    the age rule alone applies. Returns how many rows were deleted."""
    now = now or timezone.now()
    seen_before = now - ENDED_SESSION_GRACE
    ended = Q(last_seen_at__lt=now - timedelta(seconds=int(settings.SESSION_COOKIE_AGE)))
    if settings.SESSION_ENGINE == "django.contrib.sessions.backends.db":
        from django.contrib.sessions.models import Session

        alive = Session.objects.filter(session_key=OuterRef("session_key"), expire_date__gt=now)
        ended |= Q(~Exists(alive))
    return UserSession.objects.filter(ended, last_seen_at__lt=seen_before).delete()[0]


def known_devices_purge(*, now: datetime | None = None) -> int:
    """Forget the browsers a user has not signed in from for KNOWN_DEVICE_RETENTION, unless a
    session still open names them (a session can outlive the device's last sign-in)."""
    cutoff = (now or timezone.now()) - KNOWN_DEVICE_RETENTION
    in_use = UserSession.objects.filter(device=OuterRef("pk"))
    return KnownDevice.objects.filter(~Exists(in_use), last_seen_at__lt=cutoff).delete()[0]


def sessions_and_devices_purge(*, now: datetime | None = None) -> int:
    """The nightly job: ended sessions' rows, then expired sessions in the store (Django never
    deletes them by itself; `clearsessions` does it for stores that need it), then devices
    unseen for 12 months (sessions first: a device only an ended session still named can go
    in the same run). Returns how many "Sessions and devices" rows were deleted."""
    from importlib import import_module

    deleted = user_sessions_purge(now=now)
    import_module(settings.SESSION_ENGINE).SessionStore.clear_expired()
    return deleted + known_devices_purge(now=now)


def message_bodies_purge(*, now: datetime | None = None, batch: int = 5000) -> int:
    """Remove the texts of messages sent and received after each workspace's retention
    period; the delivery record stays. Done by the app that keeps messages, through its
    privacy door, in batches."""
    now = now or timezone.now()
    return sum(door.purge_message_bodies(now=now, batch=batch) for door in registry.doors())
