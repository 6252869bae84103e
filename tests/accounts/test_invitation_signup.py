"""Signing up from an invitation: the invited address is filled in, no company is asked and
no workspace of one's own is made; after verifying the address the person accepts and is in
the inviting workspace with the invited role, and nowhere else."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts import services
from accounts.models import Invitation, Membership, User, Workspace
from accounts.permissions import Role

pytestmark = pytest.mark.django_db

INVITEE = "rashad@bakuflowers.az"
TEAMMATE = {
    "first_name": "Rashad",
    "last_name": "Mammadov",
    "email": INVITEE,
    "password1": "roses-are-red-2026",
    "password2": "roses-are-red-2026",
    "is_adult": "on",
    "accept_terms": "on",
}


def _path(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


@pytest.fixture
def invitation_path(workspace, make_member, django_capture_on_commit_callbacks) -> str:
    """The owner invites INVITEE as an Admin; the path of the e-mailed link."""
    owner = make_member(workspace, Role.OWNER)
    with django_capture_on_commit_callbacks(execute=True):
        services.invitation_create(
            workspace=workspace, actor_membership=owner, email=INVITEE, role=Role.ADMIN
        )
    [message] = mail.outbox
    mail.outbox.clear()
    return _path(re.search(r"https?://\S+/invitations/\S+/", message.body).group(0))


def _signup_link(client: Client, invitation_path: str) -> str:
    page = client.get(invitation_path).content.decode()
    href = re.search(r'href="([^"]*/accounts/signup/\?next=[^"]*)"', page).group(1)
    return unescape(href)


def test_signup_from_invitation_joins_the_team_and_makes_no_workspace(
    workspace, invitation_path
) -> None:
    client = Client()
    signup_url = _signup_link(client, invitation_path)

    # the sign-up page: the invited address, no company, the phone optional
    page = client.get(signup_url).content.decode()
    email_input = re.search(r'<input[^>]*name="email"[^>]*>', page).group(0)
    assert f'value="{INVITEE}"' in email_input
    assert "readonly" in email_input
    assert 'name="company_name"' not in page
    assert "You are joining Alpha Traders as Admin." in page

    # only what is shown is filled in (no company, no phone)
    response = client.post(signup_url, {**TEAMMATE, "next": invitation_path})
    assert response.status_code == 302
    assert response.url == reverse("account_email_verification_sent")
    user = User.objects.get(email=INVITEE)
    assert (user.company_name, user.phone) == ("", "")
    assert not Membership.objects.filter(user=user).exists()
    assert Workspace.objects.count() == 1
    assert not client.session.get("_auth_user_id")  # the address is verified first

    # verify: back to the invitation, accept, in the team with the invited role
    [confirmation] = mail.outbox
    assert confirmation.body.startswith("Hello from iSend!")  # the product, not the host
    link = _path(re.search(r"https?://\S+/accounts/confirm-email/\S+/", confirmation.body).group(0))
    response = client.post(link)
    assert response.status_code == 302
    assert response.url == invitation_path
    assert "Accept invitation" in client.get(invitation_path).content.decode()
    response = client.post(invitation_path)
    assert response.url == reverse("messaging_analytics:home", args=[workspace.slug])

    [membership] = Membership.objects.filter(user=user)
    assert (membership.workspace, membership.role) == (workspace, Role.ADMIN)
    assert Workspace.objects.count() == 1
    home = client.get(reverse("home"), follow=True)
    assert home.redirect_chain[-1][0] == reverse("messaging_analytics:home", args=[workspace.slug])


def test_signup_from_invitation_keeps_to_the_invited_address(invitation_path) -> None:
    client = Client()
    signup_url = _signup_link(client, invitation_path)

    response = client.post(
        signup_url, {**TEAMMATE, "email": "someone.else@example.com", "next": invitation_path}
    )

    assert response.status_code == 200
    assert f"This invitation is for {INVITEE}: sign up with that address." in (
        response.content.decode()
    )
    assert not User.objects.filter(email__in=[INVITEE, "someone.else@example.com"]).exists()
    assert len(mail.outbox) == 0


def test_signup_from_invitation_checks_a_phone_that_is_given(invitation_path) -> None:
    client = Client()
    signup_url = _signup_link(client, invitation_path)

    response = client.post(signup_url, {**TEAMMATE, "phone": "12", "next": invitation_path})
    assert response.status_code == 200
    assert "is too short to be a phone number" in response.content.decode()

    response = client.post(
        signup_url, {**TEAMMATE, "phone": "050 222 33 44", "next": invitation_path}
    )
    assert response.status_code == 302
    assert User.objects.get(email=INVITEE).phone == "+994502223344"


def test_signup_after_the_invitation_was_revoked_is_an_ordinary_signup(
    workspace, invitation_path
) -> None:
    client = Client()
    signup_url = _signup_link(client, invitation_path)
    Invitation.objects.update(revoked_at=workspace.created_at)

    page = client.get(signup_url).content.decode()
    assert 'name="company_name"' in page
    assert "You are joining" not in page

    response = client.post(signup_url, {**TEAMMATE, "next": invitation_path})
    assert response.status_code == 200  # the company (and the phone) are asked again
    response = client.post(
        signup_url,
        {
            **TEAMMATE,
            "company_name": "Rashad Roses",
            "phone": "050 222 33 44",
            "next": invitation_path,
        },
    )
    assert response.status_code == 302
    membership = Membership.objects.get(user__email=INVITEE)
    assert (membership.workspace.name, membership.role) == ("Rashad Roses", Role.OWNER)


def test_complete_signup_with_an_invitation_for_another_address_makes_a_workspace(
    workspace, make_member
) -> None:
    owner = make_member(workspace, Role.OWNER)
    invitation, _token = services.invitation_create(
        workspace=workspace, actor_membership=owner, email=INVITEE, role=Role.MEMBER
    )
    stranger = User.objects.create_user(email="stranger@example.com", password="x" * 20)

    made = services.user_complete_signup(
        user=stranger,
        first_name="S",
        last_name="T",
        company_name="Stranger Things",
        phone="",
        ip=None,
        invitation=invitation,
    )

    assert made is not None
    assert made.name == "Stranger Things"
    assert Membership.objects.get(user=stranger).role == Role.OWNER


def test_an_invitee_without_a_workspace_is_told_where_the_invitation_is(
    invitation_path, workspace
) -> None:
    """Confirmed in another browser, the invitee lands on "New workspace" without the link
    (only its hash is kept): the page names the inviting workspace and the address it went to."""
    from tests.factories import UserFactory

    invitee = UserFactory(email=INVITEE)
    client = Client()
    client.force_login(invitee)

    page = client.get(reverse("home"), follow=True).content.decode()

    assert 'data-testid="pending-invitation"' in page
    assert workspace.name in unescape(page)
    assert INVITEE in page


def test_every_sign_up_and_sign_in_link_on_the_invitation_page_keeps_it(invitation_path) -> None:
    """The header's buttons too, not only the page's: whichever the invitee clicks, the
    sign-up knows the invitation."""
    page = Client().get(invitation_path).content.decode()

    links = re.findall(r'href="([^"]*/accounts/(?:signup|login)/[^"]*)"', page)
    assert len(links) >= 3  # the header's two and the page's
    assert all(f"next={invitation_path}" in unescape(link) for link in links), links
