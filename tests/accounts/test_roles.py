"""Each role gets exactly its permissions, in the dashboard."""

from __future__ import annotations

import re

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


def _row(page: str, email: str) -> str:
    match = re.search(rf'<tr data-testid="member-{re.escape(email)}">.*?</tr>', page, re.S)
    assert match, email
    return match.group(0)


def test_admin_is_offered_no_owner_role_and_no_controls_on_the_owners_row(
    workspace, make_member
) -> None:
    owner = make_member(workspace, Role.OWNER)
    admin = make_member(workspace, Role.ADMIN)
    member = make_member(workspace, Role.MEMBER)

    page = _client_for(admin).get(reverse("accounts:team", args=[workspace.slug])).content.decode()

    # no "Owner" among the roles the admin may give, in the member's row or in the invite form
    assert 'value="owner"' not in page
    assert re.search(r'<select[^>]*id="id_role"[^>]*>.*?value="admin".*?</select>', page, re.S)
    # the owner's row: the role as text, nothing to change or remove
    owner_row = _row(page, owner.user.email)
    assert "Owner" in owner_row
    assert "<select" not in owner_row
    assert "Remove" not in owner_row
    # a member's row keeps its controls
    member_row = _row(page, member.user.email)
    assert reverse("accounts:team_change_role", args=[workspace.slug, member.pk]) in member_row
    assert reverse("accounts:team_remove", args=[workspace.slug, member.pk]) in member_row


def test_owner_is_offered_the_owner_role_and_controls_on_another_owners_row(
    workspace, make_member
) -> None:
    owner = make_member(workspace, Role.OWNER)
    co_owner = make_member(workspace, Role.OWNER)

    page = _client_for(owner).get(reverse("accounts:team", args=[workspace.slug])).content.decode()

    assert re.search(r'<select[^>]*id="id_role"[^>]*>.*?value="owner".*?</select>', page, re.S)
    co_owner_row = _row(page, co_owner.user.email)
    assert reverse("accounts:team_change_role", args=[workspace.slug, co_owner.pk]) in co_owner_row
    assert reverse("accounts:team_remove", args=[workspace.slug, co_owner.pk]) in co_owner_row
    # one's own row has none (handing over is done from the successor's row)
    assert "<select" not in _row(page, owner.user.email)


def test_admin_cannot_remove_or_demote_the_owner_even_by_posting(workspace, make_member) -> None:
    owner = make_member(workspace, Role.OWNER)
    make_member(workspace, Role.OWNER)  # a second owner: the last-owner rule is not the reason
    client = _client_for(make_member(workspace, Role.ADMIN))

    client.post(
        reverse("accounts:team_change_role", args=[workspace.slug, owner.pk]), {"role": "member"}
    )
    response = client.post(
        reverse("accounts:team_remove", args=[workspace.slug, owner.pk]), follow=True
    )

    owner.refresh_from_db()
    assert owner.role == Role.OWNER
    assert "Only an owner can grant or change the owner role." in response.content.decode()


def test_admin_inviting_an_owner_is_refused_with_the_reason(
    workspace, make_member, django_capture_on_commit_callbacks
) -> None:
    client = _client_for(make_member(workspace, Role.ADMIN))

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("accounts:team_invite", args=[workspace.slug]),
            {"email": "boss@example.com", "role": Role.OWNER},
            follow=True,
        )

    page = response.content.decode()
    assert "Only an owner can grant or change the owner role." in page
    assert "Invitation sent" not in page
    assert not Invitation.objects.exists()  # not downgraded to Member either
    assert len(mail.outbox) == 0


def test_owner_invites_an_owner(workspace, make_member, django_capture_on_commit_callbacks) -> None:
    client = _client_for(make_member(workspace, Role.OWNER))

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("accounts:team_invite", args=[workspace.slug]),
            {"email": "partner@example.com", "role": Role.OWNER},
            follow=True,
        )

    assert "Invitation sent to partner@example.com." in response.content.decode()
    assert Invitation.objects.get().role == Role.OWNER
    assert mail.outbox[0].to == ["partner@example.com"]
