"""The campaigns list as each role sees it."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from accounts.permissions import Role

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
