"""F8 (issue 17): the read state of a notification is each user's own. A viewer's "mark all
read" used to mark the workspace's shared notices read for the owner too."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Role
from accounts.selectors import notifications_recent, notifications_unread_count
from accounts.services import notify

pytestmark = pytest.mark.django_db


def test_a_viewers_mark_all_read_leaves_the_owners_notices_unread(
    workspace, owner, make_member
) -> None:
    viewer = make_member(workspace, Role.VIEWER).user
    notify(kind="credits.low", text="Credits are low", workspace=workspace, email=False)
    notify(kind="personal", text="Only for the owner", user=owner, email=False)

    # when: the viewer clicks "Mark all read" on the notifications page
    client = Client()
    client.force_login(viewer)
    response = client.post(reverse("accounts:notifications", args=[workspace.slug]))
    assert response.status_code == 302

    # then: read for the viewer, still unread for the owner
    assert notifications_unread_count(user=viewer, workspace=workspace) == 0
    assert notifications_unread_count(user=owner, workspace=workspace) == 2
    owner_client = Client()
    owner_client.force_login(owner)
    page = owner_client.get(reverse("accounts:notifications", args=[workspace.slug]))
    assert page.content.decode().count("list-group-item-warning") == 2


def test_the_owner_marks_their_own_read_and_later_notices_stay_unread(
    workspace, owner, make_member
) -> None:
    viewer = make_member(workspace, Role.VIEWER).user
    notify(kind="a", text="First", workspace=workspace, email=False)
    owner_client = Client()
    owner_client.force_login(owner)
    owner_client.post(reverse("accounts:notifications", args=[workspace.slug]))
    owner_client.post(reverse("accounts:notifications", args=[workspace.slug]))  # idempotent
    notify(kind="b", text="Second", workspace=workspace, email=False)

    assert notifications_unread_count(user=owner, workspace=workspace) == 1
    assert notifications_unread_count(user=viewer, workspace=workspace) == 2
    recent = notifications_recent(user=owner, workspace=workspace)
    assert [(n.text, n.is_read) for n in recent] == [("Second", False), ("First", True)]


def test_the_migration_keeps_shared_notices_read_for_the_members_who_saw_them_read(
    workspace, owner, make_member
) -> None:
    import importlib

    from django.apps import apps
    from django.utils import timezone

    from accounts.models import Notification

    migration = importlib.import_module("accounts.migrations.0004_notification_read_per_user")
    viewer = make_member(workspace, Role.VIEWER).user
    # given: the old shape, a shared notice read (by someone) and one unread
    read = notify(kind="a", text="Old, read", workspace=workspace, email=False)
    Notification.objects.filter(pk=read.pk).update(read_at=timezone.now())
    notify(kind="b", text="Old, unread", workspace=workspace, email=False)

    migration.shared_read_state_per_member(apps, None)

    for member in (owner, viewer):
        assert notifications_unread_count(user=member, workspace=workspace) == 1
    assert Notification.objects.get(pk=read.pk).read_at is None
