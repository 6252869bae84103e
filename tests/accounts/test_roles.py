"""Each role gets exactly its permissions, in the dashboard."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.models import ApiKey, Invitation, Membership
from accounts.permissions import ROLE_PERMISSIONS, Perm, Role
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _client_for(membership: Membership) -> Client:
    client = Client()
    client.force_login(membership.user)
    return client


def test_permission_matrix_is_cumulative() -> None:
    assert ROLE_PERMISSIONS[Role.VIEWER] == {Perm.VIEW}
    assert Perm.CAMPAIGNS_RUN in ROLE_PERMISSIONS[Role.MEMBER]
    assert Perm.API_KEYS_MANAGE not in ROLE_PERMISSIONS[Role.MEMBER]
    assert Perm.API_KEYS_MANAGE in ROLE_PERMISSIONS[Role.ADMIN]
    assert Perm.BILLING_MANAGE not in ROLE_PERMISSIONS[Role.ADMIN]
    assert Perm.BILLING_MANAGE in ROLE_PERMISSIONS[Role.OWNER]
    assert ROLE_PERMISSIONS[Role.VIEWER] < ROLE_PERMISSIONS[Role.MEMBER]
    assert ROLE_PERMISSIONS[Role.MEMBER] < ROLE_PERMISSIONS[Role.ADMIN]
    assert ROLE_PERMISSIONS[Role.ADMIN] < ROLE_PERMISSIONS[Role.OWNER]


@pytest.mark.parametrize(
    ("role", "url_name", "expected"),
    [
        pytest.param(Role.VIEWER, "messaging_analytics:home", 200, id="viewer_dashboard_case"),
        pytest.param(Role.VIEWER, "accounts:team", 200, id="viewer_sees_team_case"),
        pytest.param(Role.VIEWER, "accounts:developers", 403, id="viewer_no_keys_case"),
        pytest.param(Role.MEMBER, "accounts:developers", 403, id="member_no_keys_case"),
        pytest.param(Role.MEMBER, "accounts:settings", 403, id="member_no_settings_case"),
        pytest.param(Role.MEMBER, "accounts:activity", 403, id="member_no_activity_case"),
        pytest.param(Role.ADMIN, "accounts:developers", 200, id="admin_keys_case"),
        pytest.param(Role.ADMIN, "accounts:settings", 200, id="admin_settings_case"),
        pytest.param(Role.ADMIN, "accounts:activity", 200, id="admin_activity_case"),
        pytest.param(Role.OWNER, "accounts:developers", 200, id="owner_keys_case"),
    ],
)
def test_pages_by_role(workspace, make_member, role: str, url_name: str, expected: int) -> None:
    client = _client_for(make_member(workspace, role))

    response = client.get(reverse(url_name, kwargs={"workspace_slug": workspace.slug}))

    assert response.status_code == expected


@pytest.mark.parametrize("role", [Role.VIEWER, Role.MEMBER])
def test_viewer_and_member_cannot_write_team_or_keys(workspace, make_member, role: str) -> None:
    client = _client_for(make_member(workspace, role))
    slug = workspace.slug

    invite = client.post(
        reverse("accounts:team_invite", args=[slug]), {"email": "x@example.com", "role": "viewer"}
    )
    key = client.post(
        reverse("accounts:developers", args=[slug]), {"name": "k", "scopes": ["contacts:read"]}
    )

    assert invite.status_code == 403
    assert key.status_code == 403
    assert not Invitation.objects.exists()
    assert not ApiKey.objects.exists()
    assert len(mail.outbox) == 0


def test_admin_invites_and_invitee_joins_with_the_role(
    workspace, make_member, django_capture_on_commit_callbacks
) -> None:
    admin = make_member(workspace, Role.ADMIN)
    client = _client_for(admin)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("accounts:team_invite", args=[workspace.slug]),
            {"email": "new.teammate@example.com", "role": Role.MEMBER},
        )

    assert response.status_code == 302
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["new.teammate@example.com"]
    link = next(w for w in mail.outbox[0].body.split() if "/invitations/" in w)
    path = link.split("testserver", 1)[-1].replace("http://127.0.0.1:8000", "")

    # the invitee has an account with that address and accepts
    user = UserFactory(email="new.teammate@example.com")
    invitee_client = Client()
    invitee_client.force_login(user)
    assert invitee_client.get(path).status_code == 200
    accepted = invitee_client.post(path)

    assert accepted.status_code == 302
    assert Membership.objects.get(workspace=workspace, user=user).role == Role.MEMBER
    # a used link cannot be used again
    assert invitee_client.get(path).status_code == 404


def test_admin_cannot_grant_owner(workspace, make_member) -> None:
    admin = make_member(workspace, Role.ADMIN)
    member = make_member(workspace, Role.MEMBER)

    _client_for(admin).post(
        reverse("accounts:team_change_role", args=[workspace.slug, member.pk]), {"role": "owner"}
    )

    member.refresh_from_db()
    assert member.role == Role.MEMBER


def test_last_owner_cannot_be_demoted_or_removed(workspace, make_member) -> None:
    owner = make_member(workspace, Role.OWNER)
    client = _client_for(owner)

    demote = client.post(
        reverse("accounts:team_change_role", args=[workspace.slug, owner.pk]), {"role": "viewer"}
    )
    remove = client.post(reverse("accounts:team_remove", args=[workspace.slug, owner.pk]))

    owner.refresh_from_db()
    assert owner.role == Role.OWNER
    assert (demote.status_code, remove.status_code) == (302, 302)
    page = client.get(reverse("accounts:team", args=[workspace.slug])).content.decode()
    assert "at least one owner" in page


def test_owner_can_hand_over_and_step_down(workspace, make_member) -> None:
    owner = make_member(workspace, Role.OWNER)
    successor = make_member(workspace, Role.ADMIN)
    client = _client_for(owner)

    client.post(
        reverse("accounts:team_change_role", args=[workspace.slug, successor.pk]), {"role": "owner"}
    )
    client.post(
        reverse("accounts:team_change_role", args=[workspace.slug, owner.pk]), {"role": "admin"}
    )

    owner.refresh_from_db()
    successor.refresh_from_db()
    assert (owner.role, successor.role) == (Role.ADMIN, Role.OWNER)
