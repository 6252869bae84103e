"""Issue #17 F6: an API key does not outlive its creator's membership. Removing a member (or
lowering their role below what may manage keys) revokes the keys they created, tells the
workspace's owners, and the key list says who created each key."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from accounts import services
from accounts.models import ApiKey, Membership, Notification, User, Workspace
from accounts.permissions import Role

pytestmark = pytest.mark.django_db


def _client(secret: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def _admin_with_key(workspace: Workspace, make_member) -> tuple[Membership, ApiKey, str]:
    admin = make_member(workspace, Role.ADMIN, first_name="Kamran", last_name="Quliyev")
    key, secret = services.api_key_create(
        workspace=workspace, actor=admin.user, name="CRM sync", scopes=["workspace:read"]
    )
    assert _client(secret).get(reverse("api:workspace")).status_code == 200
    return admin, key, secret


def test_removed_admins_key_stops_answering_and_owner_is_told(
    workspace: Workspace, owner: User, member_client: Client, make_member
) -> None:
    admin, key, secret = _admin_with_key(workspace, make_member)
    # The key list names its creator.
    page = member_client.get(reverse("accounts:developers", args=[workspace.slug]))
    assert admin.user.email in page.content.decode()

    member_client.post(reverse("accounts:team_remove", args=[workspace.slug, admin.pk]))

    assert not Membership.objects.filter(pk=admin.pk).exists()
    assert _client(secret).get(reverse("api:workspace")).status_code in (401, 403)
    key.refresh_from_db()
    assert key.revoked_at is not None
    notice = Notification.objects.get(workspace=workspace, kind="api_key.revoked_creator_left")
    assert "CRM sync" in notice.text
    assert admin.user.email in notice.text
    page = member_client.get(reverse("accounts:developers", args=[workspace.slug]))
    assert admin.user.email in page.content.decode()


def test_role_lowered_below_key_managers_revokes_their_keys(
    workspace: Workspace, owner: User, member_client: Client, make_member
) -> None:
    admin, key, secret = _admin_with_key(workspace, make_member)
    owners_key, owners_secret = services.api_key_create(
        workspace=workspace, actor=owner, name="owner's", scopes=["workspace:read"]
    )

    member_client.post(
        reverse("accounts:team_change_role", args=[workspace.slug, admin.pk]),
        {"role": Role.MEMBER},
    )

    admin.refresh_from_db()
    assert admin.role == Role.MEMBER
    assert _client(secret).get(reverse("api:workspace")).status_code in (401, 403)
    assert Notification.objects.filter(
        workspace=workspace, kind="api_key.revoked_creator_left"
    ).exists()
    # Only that member's keys went.
    assert _client(owners_secret).get(reverse("api:workspace")).status_code == 200


def test_role_change_that_keeps_key_rights_keeps_the_keys(
    workspace: Workspace, owner: User, member_client: Client, make_member
) -> None:
    admin, _key, secret = _admin_with_key(workspace, make_member)

    member_client.post(
        reverse("accounts:team_change_role", args=[workspace.slug, admin.pk]),
        {"role": Role.OWNER},
    )

    assert _client(secret).get(reverse("api:workspace")).status_code == 200
