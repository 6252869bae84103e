"""The campaigns list as each role sees it."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from accounts.permissions import Role
from messaging.campaigns import services as campaigns
from messaging.campaigns.models import Campaign

pytestmark = pytest.mark.django_db


def _client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("role", [Role.VIEWER, Role.MEMBER])
def test_roles_that_may_not_change_sending_safety_are_not_offered_it(workspace, make_member, role):
    client = _client_for(make_member(workspace, role).user)

    page = client.get(reverse("messaging_campaigns:list", args=[workspace.slug]))

    assert page.status_code == 200
    body = page.content.decode()
    assert 'data-testid="safety-link"' not in body
    assert reverse("messaging_campaigns:safety", args=[workspace.slug]) not in body


def test_an_admin_is_offered_sending_safety(workspace, make_member):
    client = _client_for(make_member(workspace, Role.ADMIN).user)

    body = client.get(reverse("messaging_campaigns:list", args=[workspace.slug])).content.decode()

    assert 'data-testid="safety-link"' in body
    assert reverse("messaging_campaigns:safety", args=[workspace.slug]) in body


def test_a_refused_page_is_a_real_page_with_a_way_back(workspace, make_member):
    client = _client_for(make_member(workspace, Role.VIEWER).user)

    response = client.get(reverse("messaging_campaigns:safety", args=[workspace.slug]))

    assert response.status_code == 403
    body = response.content.decode()
    assert 'data-testid="error-403"' in body
    with translation.override("en"):
        assert translation.gettext("You don't have access to this page") in body
    assert f'href="{reverse("messaging_analytics:home", args=[workspace.slug])}"' in body
    assert 'data-testid="sidebar"' in body  # the workspace's shell, not a bare white page


def test_a_refused_page_speaks_the_users_language(workspace, make_member):
    client = _client_for(make_member(workspace, Role.VIEWER).user)
    client.post(reverse("set_language"), {"language": "ru", "next": "/"})

    response = client.get(reverse("messaging_campaigns:safety", args=[workspace.slug]))

    assert response.status_code == 403
    body = response.content.decode()
    assert '<html lang="ru">' in body
    with translation.override("ru"):
        assert translation.gettext("Back to the dashboard") in body


def test_a_drafts_recipients_are_not_shown_as_zero(
    workspace, owner, member_client, sandbox_number, contacts, template, launch, credits
):
    # given: a draft (not counted yet) and a launched campaign of 3 recipients
    contacts(3)
    credits(3)
    number = sandbox_number()
    launch([number], name="Launched")
    draft = campaigns.campaign_create(
        workspace=workspace,
        actor=owner,
        name="Draft",
        template=template,
        senders=[number],
        audience={},
    )

    # when: the list is opened
    html = member_client.get(reverse("messaging_campaigns:list", args=[workspace.slug]))

    # then: the draft's count is a dash explained as counted at launch; the other's is 3
    rows = {
        name: row
        for row in re.findall(r"<tr>(.*?)</tr>", html.content.decode(), re.S)
        for name in ("Draft", "Launched")
        if f">{name}</a>" in row
    }
    draft_cells = re.findall(r"<td[^>]*>(.*?)</td>", rows["Draft"], re.S)
    launched_cells = re.findall(r"<td[^>]*>(.*?)</td>", rows["Launched"], re.S)
    with translation.override("en"):
        counted_at_launch = translation.gettext("Counted at launch")
    assert f'title="{counted_at_launch}"' in draft_cells[2]
    assert "—" in draft_cells[2]
    assert "0" not in draft_cells[2]
    assert launched_cells[2].strip() == "3"
    assert draft.status == Campaign.Status.DRAFT
