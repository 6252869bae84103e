"""A NUL character in input is a 400, never a 500 (PostgreSQL refuses it in text and jsonb):
every dashboard route, read with NUL in the usual query parameters and posted a form full of
them; the API's JSON bodies, whatever field holds it; and the Idempotency-Key header. Nothing
is written."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from messaging.contacts.models import Contact, Segment

from .isolation import make_tenant
from .test_isolation import _fill, _is_public, _snapshot, all_routes

NUL = "a\x00b"
QUERY = (
    "q", "search", "label", "phone", "number", "campaign", "status", "state", "view", "action",
    "before", "page", "template", "canned", "t",
)  # fmt: skip
FORM = (
    "name", "text", "note", "labels", "body", "subject", "category", "consent_source", "reason",
    "first_name", "last_name", "phone", "tags", "attributes", "label", "url", "email", "role",
    "keywords", "variants", "language", "to", "assignee", "status", "replacement", "form",
    "message_retention_days", "time_zone", "slug", "default_country",
)  # fmt: skip


@pytest.mark.django_db
def test_no_dashboard_route_answers_500_to_a_nul_character() -> None:
    # given: a workspace with one object of every kind the routes name
    tenant = make_tenant("Nul Traders", "nul-traders")
    routes = [r for r in all_routes() if not _is_public(r) and r.namespace != "api"]
    paths = [reverse(route.name, kwargs=_fill(route, tenant)) for route in routes]
    before = _snapshot(tenant.workspace.pk)
    client = Client(raise_request_exception=False)
    client.force_login(tenant.owner)
    query = "&".join(f"{name}=a%00b" for name in QUERY)

    # when: the owner reads every page with NUL in its filters and posts NUL in every field
    errors = []
    for path in paths:
        for method, response in (
            ("GET", client.get(f"{path}?{query}")),
            ("POST", client.post(path, dict.fromkeys(FORM, NUL))),
        ):
            if response.status_code >= 500:
                errors.append(f"{method} {path}: {response.status_code}")

    # then: no server error anywhere, and nothing of the workspace changed
    assert errors == []
    assert _snapshot(tenant.workspace.pk) == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "body"),
    [
        pytest.param(
            "/api/v1/contacts/",
            {"phone": "+994501112233", "attributes": {"city": NUL}},
            id="contact_attribute",
        ),
        pytest.param(
            "/api/v1/segments/", {"name": "Nul", "filters": {"tags_any": [NUL]}}, id="segment"
        ),
    ],
)
def test_a_nul_character_in_an_api_body_is_a_400(path: str, body: dict) -> None:
    tenant = make_tenant("Nul Traders", "nul-traders")
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tenant.api_secret}")

    response = client.post(path, json.dumps(body), content_type="application/json")

    assert response.status_code == 400
    assert "NUL character" in response.json()["detail"]
    assert not Contact.objects.filter(workspace=tenant.workspace).exists()
    assert not Segment.objects.filter(workspace=tenant.workspace).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "body"),
    [
        pytest.param(
            "/api/v1/contacts/",
            '{"phone":"+994501112233","attributes":{"a":' + "[" * 400 + "]" * 400 + "}}",
            id="attributes_400_deep",
        ),
        pytest.param("/api/v1/campaigns/", "[" * 100_000 + "]" * 100_000, id="array_100000_deep"),
        pytest.param(
            "/api/v1/segments/",
            '{"name":"Deep","filters":' + '{"a":' * 2000 + "1" + "}" * 2000 + "}",
            id="filters_2000_deep",
        ),
    ],
)
def test_a_deeply_nested_api_body_is_a_400_not_a_500(path: str, body: str) -> None:
    """A body of less than a kilobyte, nested 400 deep, reached Python's recursion limit."""
    tenant = make_tenant("Deep Traders", "deep-traders")
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tenant.api_secret}")

    response = client.post(path, body, content_type="application/json")

    assert response.status_code == 400
    assert "nested more than 32 levels" in response.json()["detail"]
    assert not Contact.objects.filter(workspace=tenant.workspace).exists()
    assert not Segment.objects.filter(workspace=tenant.workspace).exists()


@pytest.mark.django_db
def test_an_api_body_over_the_limit_is_a_json_413(settings) -> None:
    tenant = make_tenant("Big Traders", "big-traders")
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tenant.api_secret}")
    body = json.dumps({"name": "Big", "audience": {"tags_any": ["x" * 10_000] * 300}})
    assert len(body) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE

    response = client.post("/api/v1/campaigns/", body, content_type="application/json")

    assert response.status_code == 413
    assert "too large" in response.json()["detail"]
