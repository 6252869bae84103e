"""The shell around the pages: allauth's pages in the app's card and words, the workspace's
shell kept outside /w/, the builder's defaults, the import report's next step, the favicon."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from accounts.models import User, Workspace
from messaging.contacts import services as contacts
from messaging.imports import services as imports
from messaging.numbers.models import Sender

pytestmark = pytest.mark.django_db


def _number(workspace: Workspace, phone: str) -> Sender:
    return Sender.objects.create(
        workspace=workspace, provider="sandbox", phone_number=phone, status="active"
    )


@pytest.mark.parametrize(
    ("path", "heading", "button"),
    [
        ("/accounts/login/", "Sign in", "Sign in"),
        ("/accounts/signup/", "Sign up", "Sign up"),
        ("/accounts/password/reset/", "Reset your password", "Reset my password"),
    ],
)
def test_allauth_pages_are_cards_in_the_app_s_words(path: str, heading: str, button: str) -> None:
    page = Client().get(path).content.decode()
    card = page[page.index('class="col-sm-10 col-md-8 col-lg-5 auth-card"') :]
    assert re.search(rf"<h1[^>]*>\s*{heading}\s*</h1>", card)
    assert 'class="form-control' in card
    assert "<p>\n    <label" not in card  # not allauth's as_p
    assert not re.search(r"Sign In|Sign Up|Remember Me", page)
    assert button.lower() in card.lower()


def test_a_wrong_password_is_an_alert_in_the_card(owner: User) -> None:
    page = (
        Client()
        .post("/accounts/login/", {"login": owner.email, "password": "not-it"})
        .content.decode()
    )
    assert 'class="alert alert-danger"' in page
    assert "not correct" in page


def test_pages_outside_the_workspace_keep_its_shell(
    member_client: Client, workspace: Workspace
) -> None:
    member_client.get(f"/w/{workspace.slug}/")  # the workspace the user was in
    for path in ("/account/privacy/", "/account/profile/"):
        page = member_client.get(path).content.decode()
        assert 'data-testid="sidebar"' in page, path
        assert f'href="/w/{workspace.slug}/contacts/"' in page, path


def test_the_shell_never_shows_a_workspace_the_user_left(
    member_client: Client, workspace: Workspace, owner: User
) -> None:
    member_client.get(f"/w/{workspace.slug}/")
    owner.memberships.all().delete()
    page = member_client.get("/account/privacy/").content.decode()
    assert 'data-testid="sidebar"' not in page
    assert workspace.slug not in page


def test_the_builder_ticks_the_only_number(member_client: Client, workspace: Workspace) -> None:
    only = _number(workspace, "+994550000001")
    page = member_client.get(f"/w/{workspace.slug}/campaigns/new/").content.decode()
    assert re.search(rf'<input[^>]*value="{only.pk}"[^>]*checked', page)

    _number(workspace, "+994550000002")
    page = member_client.get(f"/w/{workspace.slug}/campaigns/new/").content.decode()
    assert not re.search(r'name="senders"[^>]*checked', page)


def test_the_builder_takes_the_list_from_the_link(
    member_client: Client, workspace: Workspace, other_workspace: Workspace
) -> None:
    mine = contacts.contact_list_create(workspace=workspace, name="Spring buyers")
    theirs = contacts.contact_list_create(workspace=other_workspace, name="Not yours")
    url = f"/w/{workspace.slug}/campaigns/new/"

    page = member_client.get(url, {"list": str(mine.public_id)}).content.decode()
    assert re.search(rf'<option value="{mine.pk}" selected>Spring buyers', page)
    for foreign in (str(theirs.public_id), "not-a-uuid"):
        page = member_client.get(url, {"list": foreign}).content.decode()
        assert " selected>Spring buyers" not in page
        assert "Not yours" not in page


def test_the_import_report_links_to_the_next_step(
    member_client: Client,
    workspace: Workspace,
    owner: User,
    settings: Any,
    tmp_path: Path,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.MEDIA_ROOT = str(tmp_path)
    contact_list = contacts.contact_list_create(workspace=workspace, name="Fair visitors")
    upload = imports.contact_import_create(
        workspace=workspace,
        uploaded=SimpleUploadedFile("fair.csv", b"phone;first_name\n0501234567;Aysel\n"),
    )
    with django_capture_on_commit_callbacks(execute=True):
        imports.contact_import_configure(
            workspace=workspace,
            contact_import=upload,
            actor=owner,
            options=imports.ImportOptions(
                mapping=upload.mapping, consent_confirmed=True, contact_list=contact_list
            ),
        )

    page = member_client.get(
        f"/w/{workspace.slug}/contacts/imports/{upload.public_id}/"
    ).content.decode()
    link = re.search(r'<a[^>]*data-testid="import-next-campaign"[^>]*>([^<]*)</a>', page)
    assert link
    assert f"/w/{workspace.slug}/campaigns/new/?list={contact_list.public_id}" in link.group(0)
    assert link.group(1) == "Create a campaign for the list “Fair visitors”"


def test_the_favicon_is_served_and_linked() -> None:
    page = Client().get("/accounts/login/").content.decode()
    assert re.search(r'<link rel="icon" href="/static/favicon\.svg"', page)
    assert (Path(__file__).resolve().parent.parent / "static" / "favicon.svg").exists()
