"""An invited person without an account, in a fresh Chromium: the e-mailed link, Sign up, the
form (only what it shows), the verification link, Accept; they are in the inviting workspace
with the invited role, and have no workspace of their own."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from accounts import services
from accounts.models import Membership, User, Workspace
from accounts.permissions import Role
from tests.factories import MembershipFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

INVITEE = "rashad@bakuflowers.az"


def _path(message, pattern: str) -> str:
    url = re.search(rf"https?://\S+{pattern}\S*", message.body).group(0)
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def test_invitee_signs_up_from_the_link_and_lands_in_the_team(page, live_server) -> None:
    base = live_server.url
    owner = MembershipFactory(workspace__name="Baku Flowers", role=Role.OWNER)
    workspace = owner.workspace
    services.invitation_create(
        workspace=workspace, actor_membership=owner, email=INVITEE, role=Role.ADMIN
    )
    [invitation_mail] = [m for m in mail.outbox if m.to == [INVITEE]]

    # the e-mailed link, then "Sign up"
    page.goto(base + _path(invitation_mail, "/invitations/"))
    assert page.get_by_role("heading", level=1).inner_text() == "Join Baku Flowers"
    page.get_by_role("main").get_by_role("link", name="Sign up").click()
    page.wait_for_url(re.compile(r"/accounts/signup/\?next="))

    # the form: the invited address already there, no company, the phone optional
    assert page.get_by_text("You are joining Baku Flowers as Admin.").is_visible()
    assert page.locator("#id_email").input_value() == INVITEE
    assert page.locator("#id_email").get_attribute("readonly") is not None
    assert page.locator("#id_company_name").count() == 0
    assert page.locator("#id_phone").get_attribute("required") is None
    page.fill("#id_first_name", "Rashad")
    page.fill("#id_last_name", "Mammadov")
    page.fill("#id_password1", "roses-are-red-2026")
    page.fill("#id_password2", "roses-are-red-2026")
    page.check("#id_is_adult")
    page.check("#id_accept_terms")
    page.click("form button[type=submit]")
    page.wait_for_url(re.compile(r"/accounts/confirm-email/$"))
    assert not Membership.objects.filter(user__email=INVITEE).exists()

    # the verification link: back at the invitation, accept it
    confirm = [m for m in mail.outbox if m.to == [INVITEE]][-1]
    page.goto(base + _path(confirm, "/accounts/confirm-email/"))
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_url(re.compile(r"/invitations/"))
    page.get_by_role("button", name="Accept invitation").click()
    page.wait_for_url(re.compile(rf"/w/{workspace.slug}/$"))
    assert page.locator("h1").first.inner_text() == "Baku Flowers"

    user = User.objects.get(email=INVITEE)
    [membership] = Membership.objects.filter(user=user)
    assert (membership.workspace, membership.role) == (workspace, Role.ADMIN)
    assert list(Workspace.objects.all()) == [workspace]
    assert user.company_name == ""
