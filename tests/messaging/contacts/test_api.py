"""The contacts, lists, segments, imports and templates API."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from accounts.models import Membership, Workspace
from accounts.permissions import Role
from messaging.contacts.models import Contact
from messaging.content.models import MessageTemplate
from messaging.imports.models import ContactImport

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(api_client_with_scopes: Callable[..., APIClient]) -> APIClient:
    return api_client_with_scopes("contacts:write", "templates:write")


@pytest.fixture(autouse=True)
def _media_root(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")


def test_contact_crud(api: APIClient, workspace: Workspace) -> None:
    created = api.post(
        "/api/v1/contacts/",
        {
            "phone": "050 123 45 67",
            "first_name": "Aysel",
            "tags": ["vip"],
            "attributes": {"city": "Baku"},
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["phone"], body["country"], body["time_zone"]) == (
        "+994501234567",
        "AZ",
        "Asia/Baku",
    )
    url = f"/api/v1/contacts/{body['id']}/"
    assert api.get(url).json()["first_name"] == "Aysel"
    patched = api.patch(url, {"last_name": "Quliyeva"}, format="json")
    assert patched.json()["last_name"] == "Quliyeva"
    listed = api.get("/api/v1/contacts/", {"tag": "vip"}).json()["results"]
    assert [c["id"] for c in listed] == [body["id"]]
    # a search for the number in another shape than it was stored in finds it
    found = api.get("/api/v1/contacts/", {"search": "+994 (50) 123-45-67"}).json()["results"]
    assert [c["id"] for c in found] == [body["id"]]
    assert api.delete(url).status_code == 204
    assert not Contact.objects.for_workspace(workspace).exists()


def test_field_errors_are_400_and_nothing_is_written(api: APIClient, workspace: Workspace) -> None:
    response = api.post(
        "/api/v1/contacts/",
        {"phone": "12", "country": "Azerbaijan", "attributes": {"Bad Key": 1}},
        format="json",
    )
    assert response.status_code == 400
    assert set(response.json()) == {"phone", "country", "attributes"}
    assert not Contact.objects.for_workspace(workspace).exists()


def test_bulk_upsert_reports_per_item(
    api: APIClient, workspace: Workspace, make_contact: Callable[..., Contact]
) -> None:
    make_contact(workspace, "+994502222222", first_name="Old")
    response = api.post(
        "/api/v1/contacts/bulk/",
        {
            "contacts": [
                {"phone": "0501111111", "first_name": "New"},
                {"phone": "+994502222222", "first_name": "Changed"},
                {"phone": "994501111111", "tags": ["x"]},
            ]
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert [(r["index"], r["phone"], r["status"]) for r in response.json()] == [
        (0, "+994501111111", "created"),
        (1, "+994502222222", "updated"),
        (2, "+994501111111", "merged"),
    ]
    again = api.post(
        "/api/v1/contacts/bulk/",
        {"contacts": [{"phone": "+994502222222", "first_name": "Changed"}]},
        format="json",
    )
    assert again.json()[0]["status"] == "unchanged"


def test_bulk_upsert_with_one_bad_item_writes_nothing(api: APIClient, workspace: Workspace) -> None:
    response = api.post(
        "/api/v1/contacts/bulk/",
        {"contacts": [{"phone": "0501111111"}, {"phone": "nope"}, {"phone": "0502222222"}]},
        format="json",
    )
    assert response.status_code == 400
    assert list(response.json()["contacts"]) == ["1"]
    assert "phone" in response.json()["contacts"]["1"]
    assert not Contact.objects.for_workspace(workspace).exists()


def test_bulk_upsert_is_capped_at_1000(api: APIClient, workspace: Workspace) -> None:
    items = [{"phone": f"+99450{1000000 + i:07d}"} for i in range(1001)]
    response = api.post("/api/v1/contacts/bulk/", {"contacts": items}, format="json")
    assert response.status_code == 400
    assert not Contact.objects.for_workspace(workspace).exists()


def test_opt_out_and_opt_in(
    api: APIClient, workspace: Workspace, make_contact: Callable[..., Contact]
) -> None:
    contact = make_contact(workspace)
    url = f"/api/v1/contacts/{contact.public_id}/"
    out = api.post(url + "opt-out/", {"reason": "asked"}, format="json").json()
    assert out["opt_out_source"] == "api"
    assert out["opted_out_at"]
    refused = api.post(url + "opt-in/", {}, format="json")
    assert refused.status_code == 400
    back = api.post(url + "opt-in/", {"consent_source": "Called us"}, format="json").json()
    assert back["opted_out_at"] is None


def test_other_workspace_ids_are_404_and_unchanged(
    api: APIClient,
    workspace: Workspace,
    other_workspace: Workspace,
    make_member: Callable[..., Membership],
    make_contact: Callable[..., Contact],
) -> None:
    make_member(other_workspace, Role.OWNER)
    foreign = make_contact(other_workspace, first_name="Foreign")
    url = f"/api/v1/contacts/{foreign.public_id}/"
    assert api.get(url).status_code == 404
    assert api.patch(url, {"first_name": "Mine"}, format="json").status_code == 404
    assert api.delete(url).status_code == 404
    assert api.post(url + "opt-out/", {}, format="json").status_code == 404
    foreign.refresh_from_db()
    assert (foreign.first_name, foreign.opted_out_at) == ("Foreign", None)
    assert api.get("/api/v1/contacts/").json()["results"] == []
    # a foreign contact id in a membership call is ignored, not added
    own_list = api.post("/api/v1/lists/", {"name": "Mine"}, format="json").json()
    changed = api.post(
        f"/api/v1/lists/{own_list['id']}/contacts/",
        {"contacts": [str(foreign.public_id)]},
        format="json",
    )
    assert changed.json() == {"changed": 0}


def test_lists_and_membership(
    api: APIClient, workspace: Workspace, make_contact: Callable[..., Contact]
) -> None:
    contact = make_contact(workspace)
    created = api.post("/api/v1/lists/", {"name": "VIP"}, format="json")
    assert created.status_code == 201
    list_id = created.json()["id"]
    assert api.post("/api/v1/lists/", {"name": "vip"}, format="json").status_code == 400
    added = api.post(
        f"/api/v1/lists/{list_id}/contacts/", {"contacts": [str(contact.public_id)]}, format="json"
    )
    assert added.json() == {"changed": 1}
    assert api.get(f"/api/v1/lists/{list_id}/").json()["size"] == 1
    assert [c["id"] for c in api.get("/api/v1/contacts/", {"list": list_id}).json()["results"]] == [
        str(contact.public_id)
    ]
    removed = api.delete(
        f"/api/v1/lists/{list_id}/contacts/", {"contacts": [str(contact.public_id)]}, format="json"
    )
    assert removed.json() == {"changed": 1}


def test_segments_and_audience(
    api: APIClient, workspace: Workspace, make_contact: Callable[..., Contact]
) -> None:
    make_contact(workspace, "+994501111111", tags=["vip"])
    make_contact(workspace, "+994502222222")
    created = api.post(
        "/api/v1/segments/", {"name": "VIP", "filters": {"tags_any": ["vip"]}}, format="json"
    )
    assert created.status_code == 201
    audience = api.get(f"/api/v1/segments/{created.json()['id']}/audience/").json()
    assert audience == {"total": 1, "opted_out": 0, "invalid": 0, "reachable": 1}
    bad = api.post(
        "/api/v1/segments/", {"name": "Bad", "filters": {"colour": "red"}}, format="json"
    )
    assert bad.status_code == 400
    assert "filters" in bad.json()


def test_import_upload_and_poll(
    api: APIClient, workspace: Workspace, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    upload = SimpleUploadedFile("people.csv", b"phone,name\n0501111111,Aysel\nbad,X\n")
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            "/api/v1/imports/",
            {"file": upload, "consent_confirmed": "true", "consent_source": "Shop"},
            format="multipart",
        )
    assert response.status_code == 201, response.json()
    polled = api.get(f"/api/v1/imports/{response.json()['id']}/").json()
    assert polled["status"] == "completed"
    assert polled["report"]["created"] == 1
    assert polled["report"]["invalid"] == 1
    rejections = api.get(f"/api/v1/imports/{response.json()['id']}/rejections/").json()["results"]
    assert [(r["line"], r["reason"]) for r in rejections] == [(3, "not_a_number")]


def test_import_without_consent_is_400_and_stores_nothing(
    api: APIClient, workspace: Workspace
) -> None:
    upload = SimpleUploadedFile("people.csv", b"phone\n0501111111\n")
    response = api.post(
        "/api/v1/imports/", {"file": upload, "consent_confirmed": "false"}, format="multipart"
    )
    assert response.status_code == 400
    assert "consent_confirmed" in response.json()
    assert not ContactImport.objects.for_workspace(workspace).exists()


def test_templates_crud_and_render(
    api: APIClient, workspace: Workspace, make_contact: Callable[..., Contact]
) -> None:
    contact = make_contact(workspace, first_name="Leyla", attributes={"city": "Baku"})
    created = api.post(
        "/api/v1/templates/",
        {
            "name": "Hi",
            "variants": ["{Hi|Hello} {{first_name|friend}} from {{city}}"],
            "footer": "iSend",
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    url = f"/api/v1/templates/{created.json()['id']}/"
    rendered = api.post(url + "render/", {"contact": str(contact.public_id)}, format="json").json()
    assert rendered["text"].endswith("Leyla from Baku")
    assert rendered["footer"] == "iSend"
    unknown = api.patch(url, {"variants": ["Hi {{shoe}}"]}, format="json")
    assert unknown.status_code == 400
    assert "shoe" in unknown.json()["variants"][0]
    assert MessageTemplate.objects.get(public_id=created.json()["id"]).variants[0].startswith("{Hi")


def test_scopes_are_enforced(api_client_with_scopes: Callable[..., APIClient]) -> None:
    reader = api_client_with_scopes("contacts:read")
    assert reader.get("/api/v1/contacts/").status_code == 200
    assert (
        reader.post("/api/v1/contacts/", {"phone": "0501234567"}, format="json").status_code == 403
    )
    assert reader.get("/api/v1/templates/").status_code == 403


def test_schema_lists_the_routes(api: APIClient) -> None:
    schema = api.get("/api/v1/schema/", {"format": "json"}).json()
    for path in (
        "/api/v1/contacts/",
        "/api/v1/contacts/bulk/",
        "/api/v1/imports/",
        "/api/v1/templates/{public_id}/render/",
        "/api/v1/segments/{public_id}/audience/",
    ):
        assert path in schema["paths"], path
