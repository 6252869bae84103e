"""Retention jobs delete exactly what is due, and nothing younger."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.apps import apps
from django.conf import settings
from django.utils import timezone

from accounts.models import KnownDevice, LoginEvent, User, UserSession, Workspace
from privacy import services
from privacy.models import PrivacyProfile
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_login_events_older_than_12_months_are_purged(owner: User) -> None:
    now = timezone.now()
    old = LoginEvent.objects.create(user=owner, success=True, created_at=now - timedelta(days=366))
    young = LoginEvent.objects.create(
        user=owner, success=True, created_at=now - timedelta(days=364)
    )

    assert services.login_events_purge() == 1
    assert list(LoginEvent.objects.values_list("pk", flat=True)) == [young.pk]
    assert not LoginEvent.objects.filter(pk=old.pk).exists()


def test_deactivated_accounts_are_purged_after_30_days() -> None:
    due, grace, active = UserFactory(), UserFactory(), UserFactory()
    services.account_deactivate(user=due, actor=due)
    services.account_deactivate(user=grace, actor=grace)
    PrivacyProfile.objects.filter(user=due).update(
        purge_after=timezone.now() - timedelta(minutes=1)
    )

    assert services.accounts_purge_due() == 1
    assert set(User.objects.values_list("pk", flat=True)) == {grace.pk, active.pk}


def test_message_bodies_after_the_period(workspace: Workspace) -> None:
    from tests.privacy.test_erasure_proof import _sender

    message_model = apps.get_model("messaging", "Message")
    sender = _sender(workspace)
    now = timezone.now()
    old = message_model.objects.create(
        workspace=workspace,
        sender=sender,
        phone="+994501",
        body="old",
        created_at=now - timedelta(days=181),
    )
    young = message_model.objects.create(
        workspace=workspace,
        sender=sender,
        phone="+994502",
        body="young",
        created_at=now - timedelta(days=179),
    )

    assert services.message_bodies_purge() == 1
    old.refresh_from_db()
    young.refresh_from_db()
    assert (old.body, young.body) == ("", "young")
    assert old.phone == "+994501"  # the delivery record stays


def _session(user: User, *, last_seen_ago: timedelta, store: str = "alive") -> UserSession:
    """A "Sessions and devices" row whose session is alive in the store, expired in it, or
    gone from it."""
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session

    session = SessionStore()
    session.create()
    key = session.session_key
    if store == "expired":
        Session.objects.filter(session_key=key).update(
            expire_date=timezone.now() - timedelta(minutes=1)
        )
    elif store == "gone":
        Session.objects.filter(session_key=key).delete()
    return UserSession.objects.create(
        user=user, session_key=key, last_seen_at=timezone.now() - last_seen_ago
    )


def test_rows_of_ended_sessions_are_purged_after_a_day(
    owner: User, django_assert_max_num_queries: Any
) -> None:
    # given: sessions alive, expired, gone, gone within the grace day, and unseen for longer
    # than a session lives
    alive = _session(owner, last_seen_ago=timedelta(days=2))
    expired = _session(owner, last_seen_ago=timedelta(days=2), store="expired")
    gone = _session(owner, last_seen_ago=timedelta(days=2), store="gone")
    just_gone = _session(owner, last_seen_ago=timedelta(hours=3), store="gone")
    idle = _session(owner, last_seen_ago=timedelta(seconds=settings.SESSION_COOKIE_AGE + 60))

    # when: one statement, whatever the number of rows
    with django_assert_max_num_queries(1):
        deleted = services.user_sessions_purge()

    # then
    assert deleted == 3
    assert set(UserSession.objects.values_list("pk", flat=True)) == {alive.pk, just_gone.pk}
    assert not UserSession.objects.filter(pk__in=[expired.pk, gone.pk, idle.pk]).exists()


def test_a_signed_in_users_sessions_survive_the_purge_and_ended_ones_go(
    owner: User, workspace: Workspace
) -> None:
    from django.contrib.sessions.models import Session
    from django.test import Client
    from django.urls import reverse

    from tests.factories import PASSWORD

    # given: two browsers signed in through the sign-in page; one of them ended in the store
    browsers = []
    for agent in ("Firefox/128.0", "Chrome/126.0.0.0"):
        client = Client(HTTP_USER_AGENT=f"Mozilla/5.0 (X11; Linux x86_64) {agent}")
        response = client.post(
            reverse("account_login"), {"login": owner.email, "password": PASSWORD}
        )
        assert response.status_code == 302
        browsers.append(client)
    kept_key = browsers[0].session.session_key
    ended_key = browsers[1].session.session_key
    Session.objects.filter(session_key=ended_key).delete()

    # when: the nightly job runs two days later
    deleted = services.sessions_and_devices_purge(now=timezone.now() + timedelta(days=2))

    # then: only the ended session's row is gone; the signed-in browser still works and
    # still lists itself
    assert deleted == 1
    assert list(UserSession.objects.values_list("session_key", flat=True)) == [kept_key]
    page = browsers[0].get(reverse("accounts:sessions"))
    assert page.status_code == 200
    assert page.context["sessions"][0].session_key == kept_key


def test_expired_sessions_leave_the_session_store(owner: User) -> None:
    from django.contrib.sessions.models import Session

    expired = _session(owner, last_seen_ago=timedelta(days=20), store="expired")
    alive = _session(owner, last_seen_ago=timedelta(minutes=5))

    services.sessions_and_devices_purge()

    assert list(Session.objects.values_list("session_key", flat=True)) == [alive.session_key]
    assert not UserSession.objects.filter(pk=expired.pk).exists()


def test_devices_unseen_for_12_months_are_forgotten_unless_a_session_is_open(
    owner: User,
) -> None:
    now = timezone.now()

    def device(name: str, days: int) -> KnownDevice:
        return KnownDevice.objects.create(
            user=owner, device_hash=name, last_seen_at=now - timedelta(days=days)
        )

    old, young, old_in_use = device("old", 366), device("young", 364), device("in-use", 400)
    session = _session(owner, last_seen_ago=timedelta(minutes=5))
    UserSession.objects.filter(pk=session.pk).update(device=old_in_use)

    assert services.known_devices_purge() == 1
    assert set(KnownDevice.objects.values_list("pk", flat=True)) == {young.pk, old_in_use.pk}
    assert not KnownDevice.objects.filter(pk=old.pk).exists()


def test_the_session_purge_runs_nightly(owner: User) -> None:
    from privacy.tasks import sessions_purge_task

    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert sessions_purge_task.name in tasks
    _session(owner, last_seen_ago=timedelta(days=2), store="gone")
    kept = _session(owner, last_seen_ago=timedelta(days=2))

    assert sessions_purge_task.apply().get() == 1
    assert list(UserSession.objects.values_list("pk", flat=True)) == [kept.pk]
