"""Dashboard pages: contacts, lists, segments, the import wizard and templates."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from accounts.models import Membership, Workspace
from accounts.permissions import Role
from messaging.contacts.models import Contact
from messaging.content.models import MessageTemplate
from messaging.imports.models import ContactImport

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media_root(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")


def test_contacts_page_searches_filters_and_paginates(
    workspace: Workspace, member_client: Client, make_contact: Callable[..., Contact]
) -> None:
    make_contact(workspace, "+994501111111", first_name="Leyla", tags=["vip"])
    make_contact(workspace, "+994502222222", first_name="Orxan")
    base = f"/w/{workspace.slug}/contacts/"
    assert member_client.get(base).content.count(b'data-testid="contact-row"') == 2
    page = member_client.get(base, {"search": "leyla"})
    assert page.content.count(b'data-testid="contact-row"') == 1
    assert b"Leyla" in page.content
    assert member_client.get(base, {"tags_any": "vip"}).content.count(b"contact-row") == 1
    assert member_client.get(base, {"opt_out": "opted_out"}).content.count(b"contact-row") == 0


def test_bulk_actions_from_the_list(
    workspace: Workspace, member_client: Client, make_contact: Callable[..., Contact]
) -> None:
    a = make_contact(workspace, "+994501111111")
    b = make_contact(workspace, "+994502222222")
    base = f"/w/{workspace.slug}/contacts/"
    member_client.post(base, {"action": "tag", "tag": "spring", "contact": [str(a.public_id)]})
    a.refresh_from_db()
    assert a.tags == ["spring"]
    member_client.post(base, {"action": "opt_out", "select_all": "on"})
    assert Contact.objects.for_workspace(workspace).filter(opted_out_at__isnull=True).count() == 0
    member_client.post(base, {"action": "delete", "contact": [str(b.public_id)]})
    assert not Contact.objects.filter(pk=b.pk).exists()


def test_a_viewer_cannot_write(
    workspace: Workspace,
    make_member: Callable[..., Membership],
    make_contact: Callable[..., Contact],
) -> None:
    contact = make_contact(workspace)
    client = Client()
    client.force_login(make_member(workspace, Role.VIEWER).user)
    assert client.get(f"/w/{workspace.slug}/contacts/{contact.public_id}/").status_code == 200
    response = client.post(
        f"/w/{workspace.slug}/contacts/", {"action": "delete", "select_all": "on"}
    )
    assert response.status_code == 403
    assert Contact.objects.filter(pk=contact.pk).exists()


def test_contact_create_and_detail_with_honest_message_history(
    workspace: Workspace, member_client: Client
) -> None:
    response = member_client.post(
        f"/w/{workspace.slug}/contacts/new/",
        {"phone": "050 123 45 67", "first_name": "Aysel", "attributes": "city = Baku"},
    )
    contact = Contact.objects.for_workspace(workspace).get()
    assert response.status_code == 302
    assert contact.attributes == {"city": "Baku"}
    page = member_client.get(f"/w/{workspace.slug}/contacts/{contact.public_id}/")
    assert b"No messages yet" in page.content
    bad = member_client.post(f"/w/{workspace.slug}/contacts/new/", {"phone": "12"})
    assert bad.status_code == 200
    assert b"too short" in bad.content


def test_export_streams_the_filtered_contacts(
    workspace: Workspace, member_client: Client, make_contact: Callable[..., Contact]
) -> None:
    make_contact(workspace, "+994501111111", first_name="=cmd()", tags=["vip"])
    make_contact(workspace, "+994502222222", first_name="Other")
    response = member_client.get(f"/w/{workspace.slug}/contacts/export.csv", {"tags_any": "vip"})
    body = b"".join(response.streaming_content).decode("utf-8-sig").splitlines()
    assert body[0].startswith("phone,first_name,last_name")
    assert len(body) == 2
    assert body[1].startswith("+994501111111,'=cmd()")


def test_import_wizard_upload_map_progress_report(
    workspace: Workspace,
    member_client: Client,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    base = f"/w/{workspace.slug}/contacts/imports/"
    upload = SimpleUploadedFile("people.csv", b"Phone;Name\n050 111 11 11;Aysel\nbad;X\n")
    response = member_client.post(base, {"file": upload})
    contact_import = ContactImport.objects.for_workspace(workspace).get()
    assert response.status_code == 302
    mapping_page = member_client.get(response["Location"])
    assert b'data-testid="mapping"' in mapping_page.content
    options = {"col_0": "phone", "col_1": "first_name", "has_header": "on",
               "default_country": "AZ", "on_existing": "update", "tags": ""}  # fmt: skip
    refused = member_client.post(response["Location"], options)  # no consent confirmation
    assert refused.status_code == 200
    assert b"agreed to receive messages" in refused.content
    with django_capture_on_commit_callbacks(execute=True):
        member_client.post(response["Location"], {**options, "consent_confirmed": "on"})
    contact_import.refresh_from_db()
    assert contact_import.status == ContactImport.Status.COMPLETED
    progress = member_client.get(f"{base}{contact_import.public_id}/progress/")
    assert b'data-status="completed"' in progress.content
    assert b"rejected.csv" in progress.content
    assert Contact.objects.for_workspace(workspace).get().first_name == "Aysel"


def test_upload_of_a_non_table_shows_the_reason(
    workspace: Workspace, member_client: Client
) -> None:
    upload = SimpleUploadedFile("photo.csv", b"\x89PNG\r\n\x1a\n" + b"\x00" * 50)
    response = member_client.post(f"/w/{workspace.slug}/contacts/imports/", {"file": upload})
    assert response.status_code == 200
    assert b"not a spreadsheet" in response.content


def test_lists_and_segments_pages(
    workspace: Workspace, member_client: Client, make_contact: Callable[..., Contact]
) -> None:
    make_contact(workspace, tags=["vip"])
    response = member_client.post(f"/w/{workspace.slug}/contacts/lists/", {"name": "Customers"})
    assert response.status_code == 302
    response = member_client.post(
        f"/w/{workspace.slug}/contacts/segments/", {"name": "VIPs", "tags_any": "vip"}
    )
    assert response.status_code == 302
    detail = member_client.get(response["Location"])
    assert b'data-testid="audience"' in detail.content
    preview = member_client.get(
        f"/w/{workspace.slug}/contacts/segments/preview/", {"tags_any": "vip"}
    )
    assert b"reachable" in preview.content
    assert b">1<" in preview.content


def test_template_pages_and_live_preview(
    workspace: Workspace, member_client: Client, make_contact: Callable[..., Contact]
) -> None:
    contact = make_contact(workspace, first_name="Nərmin")
    response = member_client.post(
        f"/w/{workspace.slug}/templates/new/",
        {"name": "Hello", "variant_texts": "Salam {{first_name}}\n---\nHi {{first_name}}",
         "media_type": "", "wa_status": "not_submitted"},
    )  # fmt: skip
    assert response.status_code == 302
    template = MessageTemplate.objects.for_workspace(workspace).get()
    assert template.variants == ["Salam {{first_name}}", "Hi {{first_name}}"]
    preview = member_client.post(
        f"/w/{workspace.slug}/templates/preview/",
        {"variant_texts": "Hey {{first_name}}", "preview_contact": str(contact.public_id)},
    )
    assert "Hey Nərmin" in preview.content.decode()
    unknown = member_client.post(
        f"/w/{workspace.slug}/templates/preview/", {"variant_texts": "Hey {{shoe}}"}
    )
    assert b"shoe" in unknown.content
    assert member_client.get(f"/w/{workspace.slug}/templates/").status_code == 200


def test_an_azerbaijani_city_column_becomes_the_city_variable_and_the_page_says_so(
    workspace: Workspace,
    member_client: Client,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    """ "Şəhər" became `{{seher}}`, and nothing on the page said so: a template's
    `{{city|Bakı}}` then sent "Bakı" to people in Gəncə and Şəki."""
    base = f"/w/{workspace.slug}/contacts/imports/"
    upload = SimpleUploadedFile("people.csv", "Telefon,Şəhər\n050 111 11 11,Gəncə\n".encode())
    response = member_client.post(base, {"file": upload})
    page = member_client.get(response["Location"]).content.decode()
    assert "In templates: {{city}}" in page

    options = {"col_0": "phone", "col_1": "attribute", "has_header": "on",
               "default_country": "AZ", "on_existing": "update", "tags": "",
               "consent_confirmed": "on"}  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        member_client.post(response["Location"], options)

    assert Contact.objects.for_workspace(workspace).get().attributes == {"city": "Gəncə"}


def test_a_workspace_that_already_has_the_transliterated_variable_keeps_it(
    workspace: Workspace,
    member_client: Client,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    from messaging.contacts import services as contacts_services

    contacts_services.contact_create(
        workspace=workspace, data={"phone": "+994502222222", "attributes": {"seher": "Şəki"}}
    )
    base = f"/w/{workspace.slug}/contacts/imports/"
    upload = SimpleUploadedFile("people.csv", "Telefon,Şəhər\n050 111 11 11,Gəncə\n".encode())
    response = member_client.post(base, {"file": upload})
    assert "In templates: {{seher}}" in member_client.get(response["Location"]).content.decode()
    options = {"col_0": "phone", "col_1": "attribute", "has_header": "on",
               "default_country": "AZ", "on_existing": "update", "tags": "",
               "consent_confirmed": "on"}  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        member_client.post(response["Location"], options)

    imported = Contact.objects.for_workspace(workspace).get(phone="+994501111111")
    assert imported.attributes == {"seher": "Gəncə"}
