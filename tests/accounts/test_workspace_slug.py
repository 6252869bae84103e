"""Workspace addresses: Azerbaijani names transliterate, the owner can change the slug, and
old links keep working for members (a redirect) while staying a 404 for everyone else."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from accounts import services
from accounts.models import AuditEvent, Membership, User, Workspace, WorkspaceSlugRedirect
from accounts.permissions import Role

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Çiçək", "cicek"),
        ("Şirinova Ağa", "sirinova-aga"),
        ("Gülər Öztürk MMC", "guler-ozturk-mmc"),
        ("İlqar Əliyev", "ilqar-eliyev"),
        ("Qızıl Üzük", "qizil-uzuk"),
        ("Ширинова", "shirinova"),
    ],
)
def test_slugs_transliterate_azerbaijani_letters(name: str, slug: str) -> None:
    assert services.workspace_slug_from_name(name) == slug


def test_a_new_workspace_gets_the_transliterated_slug_and_a_suffix_when_taken(
    make_member: Callable[..., Membership],
) -> None:
    owner = make_member(Workspace.objects.create(name="x", slug="xyz")).user

    first = services.workspace_create(name="Çiçək", owner=owner)
    second = services.workspace_create(name="Çiçək", owner=owner)

    assert first.slug == "cicek"
    assert second.slug.startswith("cicek-")
    assert second.slug != "cicek"


def test_a_former_address_is_not_given_to_a_new_workspace(
    owner: User, workspace: Workspace
) -> None:
    services.workspace_change_slug(workspace=workspace, actor=owner, slug="new-address")
    old = WorkspaceSlugRedirect.objects.get(workspace=workspace).slug

    other = services.workspace_create(name=old, owner=owner)

    assert other.slug != old


def test_the_owner_changes_the_slug_in_settings_and_old_links_redirect(
    member_client: Client, workspace: Workspace
) -> None:
    old = workspace.slug
    response = member_client.post(
        f"/w/{old}/settings/",
        {
            "name": workspace.name,
            "slug": "cicek-market",
            "time_zone": "Asia/Baku",
            "default_country": "AZ",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "/w/cicek-market/settings/"
    workspace.refresh_from_db()
    assert workspace.slug == "cicek-market"
    assert AuditEvent.objects.filter(action="workspace.slug_changed").count() == 1

    # A bookmark of any page, query string kept, lands on the same page at the new address.
    moved = member_client.get(f"/w/{old}/contacts/?search=ali")
    assert moved.status_code == 302
    assert moved["Location"] == "/w/cicek-market/contacts/?search=ali"
    assert member_client.get(moved["Location"]).status_code == 200
    # A form posted to the old address is not replayed somewhere else.
    assert member_client.post(f"/w/{old}/settings/", {}).status_code == 404


def test_old_links_are_a_404_for_non_members(
    owner: User,
    workspace: Workspace,
    other_workspace: Workspace,
    make_member: Callable[..., Membership],
) -> None:
    old = workspace.slug
    services.workspace_change_slug(workspace=workspace, actor=owner, slug="renamed")
    stranger = make_member(other_workspace, Role.OWNER).user
    client = Client()
    client.force_login(stranger)

    assert client.get(f"/w/{old}/contacts/").status_code == 404
    assert client.get("/w/renamed/contacts/").status_code == 404


@pytest.mark.parametrize(
    ("slug", "message"),
    [
        ("ab", "Use 3 to 60"),
        ("Çiçək", "Use 3 to 60"),
        ("has space", "Use 3 to 60"),
        ("double--hyphen", "Use 3 to 60"),
        ("-edge", "Use 3 to 60"),
        ("x" * 61, "at most 60 characters"),
    ],
)
def test_a_bad_slug_is_a_field_error_and_changes_nothing(
    member_client: Client, workspace: Workspace, slug: str, message: str
) -> None:
    old = workspace.slug
    response = member_client.post(
        f"/w/{old}/settings/",
        {"name": "Renamed", "slug": slug, "time_zone": "Asia/Baku", "default_country": "AZ"},
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    workspace.refresh_from_db()
    assert (workspace.slug, workspace.name) == (old, "Alpha Traders")
    assert not WorkspaceSlugRedirect.objects.exists()


def test_a_slug_in_use_or_formerly_used_by_another_workspace_is_refused(
    owner: User,
    workspace: Workspace,
    other_workspace: Workspace,
    make_member: Callable[..., Membership],
) -> None:
    other_owner = make_member(other_workspace, Role.OWNER).user
    other_old = other_workspace.slug
    services.workspace_change_slug(workspace=other_workspace, actor=other_owner, slug="beta-new")

    for taken in ("beta-new", other_old):
        with pytest.raises(ValidationError) as exc:
            services.workspace_change_slug(workspace=workspace, actor=owner, slug=taken)
        assert exc.value.message_dict["slug"] == ["This address is taken. Choose another one."]


def test_moving_back_to_a_former_slug_takes_it_back(owner: User, workspace: Workspace) -> None:
    old = workspace.slug
    services.workspace_change_slug(workspace=workspace, actor=owner, slug="interim")
    services.workspace_change_slug(workspace=workspace, actor=owner, slug=old)

    workspace.refresh_from_db()
    assert workspace.slug == old
    assert list(WorkspaceSlugRedirect.objects.values_list("slug", flat=True)) == ["interim"]


def test_a_new_workspace_is_in_baku_time(owner: User) -> None:
    assert services.workspace_create(name="Bakı Çay Evi", owner=owner).time_zone == "Asia/Baku"
