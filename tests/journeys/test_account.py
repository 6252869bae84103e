"""Journeys of people and their accounts: a teammate is invited and joins; a user downloads
their data and deletes their account in the privacy centre."""

from __future__ import annotations

import re
import zipfile

from django.core import mail
from playwright.sync_api import expect

from accounts import services as account_services
from accounts.models import Membership, User
from privacy.services import consent_record_signup
from tests.factories import PASSWORD, MembershipFactory, UserFactory

from .conftest import JOURNEY, words

pytestmark = JOURNEY


def _link(message, path: str) -> str:
    return re.search(rf"https?://\S+{path}\S*", message.body).group(0)


def test_team_invite_and_accept(journey) -> None:
    owner = MembershipFactory(workspace__name="Baku Flowers").user
    workspace = owner.memberships.get().workspace
    page = journey.new_page("owner")
    journey.sign_in(page, owner.email)
    page.get_by_role("link", name=words("Team")).first.click()
    journey.shot(page, "team")
    page.get_by_label(words("E-mail")).fill("rashad@bakuflowers.az")
    page.get_by_label(words("Role")).select_option(label="Member")
    page.get_by_role("button", name=words("Send invitation")).click()
    expect(
        page.get_by_text("Invitation sent to rashad@bakuflowers.az", exact=False)
    ).to_be_visible()
    expect(page.get_by_role("listitem").filter(has_text="rashad@bakuflowers.az")).to_be_visible()
    journey.shot(page, "invitation sent")

    # The teammate has no account yet: the e-mailed link, "Sign up", verify, join.
    [invitation_mail] = [m for m in mail.outbox if m.to == ["rashad@bakuflowers.az"]]
    link = _link(invitation_mail, "/invitations/")
    assert link.startswith(journey.base), link
    mate = journey.new_page("teammate")
    mate.goto(link)
    expect(mate.get_by_role("heading", level=1)).to_have_text("Join Baku Flowers")
    journey.shot(mate, "invitation")
    mate.get_by_role("main").get_by_role("link", name=words("Sign up")).click()
    mate.get_by_label(words("First name")).fill("Rashad")
    mate.get_by_label(words("Last name")).fill("Mammadov")
    # A teammate names no company (they get no workspace of their own) and need not give a
    # phone; the address is the invited one, already filled in.
    expect(mate.get_by_label(words("Company"))).to_have_count(0)
    mate.get_by_label(words("Phone")).fill("+994 50 222 33 44")
    expect(mate.get_by_label(re.compile(r"^\s*e-?mail", re.I))).to_have_value(
        "rashad@bakuflowers.az"
    )
    mate.get_by_label(words("Password")).fill("roses-are-red-2026")
    mate.get_by_label(re.compile(r"^\s*(password \(again\)|confirm password|repeat)", re.I)).fill(
        "roses-are-red-2026"
    )
    mate.get_by_label(words("I am 18 years of age or older")).check()
    mate.get_by_label(re.compile(r"^\s*I accept the Terms", re.I)).check()
    journey.shot(mate, "sign up")
    mate.get_by_role("button", name=words("Sign up")).click()
    mate.wait_for_url(re.compile(r"/accounts/confirm-email/|/invitations/"))
    if "/confirm-email/" in mate.url:
        confirm = [m for m in mail.outbox if m.to == ["rashad@bakuflowers.az"]][-1]
        mate.goto(_link(confirm, "/accounts/confirm-email/"))
        mate.get_by_role("button", name=words("Confirm")).click()
        mate.wait_for_load_state()
    if "/invitations/" not in mate.url:
        mate.goto(link)  # "then open the link again", as the invitation page says
    journey.shot(mate, "join")
    mate.get_by_role("button", name=words("Accept invitation")).click()
    mate.wait_for_url(re.compile(rf"/w/{workspace.slug}/$"))
    expect(mate.get_by_role("heading", level=1)).to_have_text("Baku Flowers")
    journey.shot(mate, "joined")

    # exactly one membership: the inviting workspace, with the invited role
    membership = Membership.objects.get(user__email="rashad@bakuflowers.az")
    assert (membership.workspace, membership.role) == (workspace, "member")
    page.reload()
    expect(page.get_by_role("cell", name=re.compile("rashad@bakuflowers.az"))).to_be_visible()
    journey.shot(page, "team with the new member")


def test_privacy_export_and_deletion(journey, tmp_path, settings) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    user = UserFactory(email="nargiz@example.az")
    consent_record_signup(user=user, ip="127.0.0.1")
    account_services.workspace_create(name="Nargiz Sweets", owner=user)
    page = journey.new_page()
    journey.sign_in(page, user.email)
    page.get_by_role("button", name=words("Necessary only")).click()  # the cookie banner
    expect(page.get_by_role("button", name=words("Necessary only"))).to_have_count(0)
    page.get_by_role("link", name=words("Privacy")).first.click()
    page.wait_for_url(re.compile(r"/privacy/$"))
    journey.shot(page, "privacy centre")

    page.get_by_role("button", name=re.compile(r"^\s*Prepare my data", re.I)).click()
    download_link = page.get_by_role("link", name=words("Download"))
    expect(download_link).to_be_visible()
    journey.shot(page, "export ready")
    with page.expect_download() as download_info:
        download_link.click()
    archive = tmp_path / "export.zip"
    download_info.value.save_as(archive)
    names = zipfile.ZipFile(archive).namelist()
    assert "account.json" in names
    assert "nargiz@example.az" in zipfile.ZipFile(archive).read("account.json").decode()

    deletion = page.locator("form").filter(
        has=page.get_by_role("button", name=words("Delete my account"))
    )
    deletion.get_by_label(re.compile("password", re.I)).fill(PASSWORD)
    deletion.get_by_role("checkbox").check()
    journey.shot(page, "delete my account")
    deletion.get_by_role("button", name=words("Delete my account")).click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    journey.shot(page, "account deleted")

    user.refresh_from_db()
    assert not user.is_active
    assert user.deactivated_at is not None
    # Signed out: the centre asks to sign in again, and the password no longer opens it.
    page.goto(f"{journey.base}/account/privacy/")
    page.wait_for_url(re.compile(r"/accounts/login/"))
    assert User.objects.filter(pk=user.pk, is_active=False).exists()
