"""The API's documented errors (issue 17 item 2): what the fuzzer found, pinned by name."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from .isolation import API_OBJECTS, Tenant, make_tenant

pytestmark = pytest.mark.django_db


@pytest.fixture
def tenant() -> Tenant:
    return make_tenant("Delta Books", "delta-books")


@pytest.fixture
def api(tenant: Tenant) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tenant.api_secret}")
    return client


@pytest.fixture
def schema(api: APIClient) -> dict:
    return api.get("/api/v1/schema/", {"format": "json"}).json()


def test_every_operation_documents_the_errors_every_endpoint_can_give(schema) -> None:
    undocumented = [
        f"{method.upper()} {path} {code}"
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
        for code in ("400", "401", "403", "404", "429")
        if code not in operation["responses"]
    ]
    assert undocumented == []
    deletes = schema["paths"]["/api/v1/templates/{public_id}/"]["delete"]["responses"]
    assert "409" in deletes


def test_credit_refusals_are_documented(schema) -> None:
    paths = schema["paths"]
    assert "402" in paths["/api/v1/campaigns/{public_id}/launch/"]["post"]["responses"]
    assert "402" in paths["/api/v1/campaigns/{public_id}/resume/"]["post"]["responses"]
    assert "402" in paths["/api/v1/messages/"]["post"]["responses"]


@pytest.mark.parametrize("page_size", ["", "0", "-1", "501", "ten", "null"])
def test_a_wrong_page_size_is_a_400_naming_it(api, page_size) -> None:
    answer = api.get("/api/v1/contacts/", {"page_size": page_size})

    assert answer.status_code == 400
    assert "page_size" in answer.json()


def test_a_right_page_size_pages(tenant, api) -> None:
    API_OBJECTS["contact"](tenant)

    answer = api.get("/api/v1/contacts/", {"page_size": "1"})

    assert answer.status_code == 200
    assert len(answer.json()["results"]) == 1


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/api/v1/billing/ledger/", {"kind": "nonsense"}, "kind"),
        ("/api/v1/contacts/", {"opt_out": "maybe"}, "opt_out"),
        ("/api/v1/webhooks/deliveries/", {"endpoint": "notauuid"}, "endpoint"),
        ("/api/v1/webhooks/deliveries/", {"status": "nonsense"}, "status"),
        ("/api/v1/messages/", {"status": "nonsense"}, "status"),
    ],
)
def test_a_filter_outside_its_values_is_a_400_naming_it(api, path, params, field) -> None:
    answer = api.get(path, params)

    assert answer.status_code == 400
    assert field in answer.json()


def test_an_opted_in_contact_answers_a_documented_blank_opt_out_source(tenant, api, schema):
    contact_id = API_OBJECTS["contact"](tenant)

    body = api.get(f"/api/v1/contacts/{contact_id}/").json()

    assert body["opt_out_source"] == ""
    documented = schema["components"]["schemas"]["Contact"]["properties"]["opt_out_source"]
    assert "oneOf" in documented or "" in documented.get("enum", [])


def test_a_new_list_answers_its_size(api) -> None:
    answer = api.post("/api/v1/lists/", {"name": "Fresh"}, format="json")

    assert answer.status_code == 201
    assert answer.json()["size"] == 0


def test_the_bulk_limits_are_not_paginated(api) -> None:
    answer = api.get("/api/v1/contacts/bulk/")

    assert answer.status_code == 200
    assert answer.json() == {"max_items": 1000}


def test_adding_no_contacts_to_a_list_changes_nothing(tenant, api) -> None:
    list_id = API_OBJECTS["contact-list"](tenant)

    answer = api.post(f"/api/v1/lists/{list_id}/contacts/", {"contacts": []}, format="json")

    assert answer.status_code == 200
    assert answer.json() == {"changed": 0}


def test_a_malformed_number_in_the_templates_filter_is_not_a_500(api) -> None:
    assert api.get("/api/v1/whatsapp-templates/", {"number": "notauuid"}).status_code == 404
