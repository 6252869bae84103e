"""Writes that would succeed while keeping nothing of what was sent are 400s naming the field:
an unknown field in a bulk upsert's item or envelope, a read-only field set on creation, a
country that does not exist, an import mapping of the wrong shape (it was a 500)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from messaging.contacts.models import Contact

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"contacts": [{"phone": "+994505559999", "evil": 1}]}, {"contacts": {"0": ["evil"]}}),
        ({"contacts": [{"phone": "+994505559998"}], "list": "x"}, {"list": None}),
    ],
)
def test_a_bulk_upsert_naming_an_unknown_field_is_refused_whole(
    api_client_with_scopes, workspace, body, error
) -> None:
    client = api_client_with_scopes("contacts:write")

    answer = client.post(reverse("api:contact-bulk"), body, format="json")

    assert answer.status_code == 400
    payload = answer.json()
    for key, inner in error.items():
        assert key in payload
        if inner:
            for index, fields in inner.items():
                assert set(payload[key][index]) == set(fields)
    assert not Contact.objects.filter(workspace=workspace).exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("opted_out_at", "2020-01-01T00:00:00Z"),
        ("consent_at", "yesterday"),
        ("whatsapp_status", "valid"),
    ],
)
def test_creating_a_contact_with_a_read_only_field_is_refused(
    api_client_with_scopes, workspace, field, value
) -> None:
    client = api_client_with_scopes("contacts:write")

    answer = client.post(
        reverse("api:contact-list"), {"phone": "+994505551025", field: value}, format="json"
    )

    assert answer.status_code == 400
    assert "Read-only" in answer.json()[field][0]
    assert not Contact.objects.filter(workspace=workspace).exists()


def test_a_read_only_field_sent_back_in_an_update_as_it_was_read_is_ignored(
    api_client_with_scopes, workspace
) -> None:
    client = api_client_with_scopes("contacts:read", "contacts:write")
    created = client.post(
        reverse("api:contact-list"), {"phone": "+994505551026"}, format="json"
    ).json()
    created["first_name"] = "Aysel"

    answer = client.put(reverse("api:contact-detail", args=[created["id"]]), created, format="json")

    assert answer.status_code == 200
    assert answer.json()["first_name"] == "Aysel"


def test_a_country_that_does_not_exist_is_refused(api_client_with_scopes, workspace) -> None:
    client = api_client_with_scopes("contacts:write")

    answer = client.post(
        reverse("api:contact-list"), {"phone": "+994505551150", "country": "ZZ"}, format="json"
    )

    assert answer.status_code == 400
    assert "“ZZ” is none" in answer.json()["country"][0]


@pytest.mark.parametrize(
    ("fields", "key"),
    [
        ({"mapping": "[1, 2]"}, "mapping"),
        ({"mapping": '{"phone": "phone"}'}, "mapping"),
        ({"mapping": '{"phone": 0, "attributes": [1]}'}, "mapping"),
        ({"default_country": "ZZ"}, "default_country"),
    ],
)
def test_an_import_of_the_wrong_shape_is_a_400_naming_it(
    api_client_with_scopes, workspace, fields, key
) -> None:
    client = api_client_with_scopes("contacts:write")
    upload = SimpleUploadedFile("c.csv", b"phone\n+994505551107\n", content_type="text/csv")

    answer = client.post(
        reverse("api:contact-import-list"),
        {"file": upload, "consent_confirmed": "true", **fields},
        format="multipart",
    )

    assert answer.status_code == 400, answer.content
    assert key in answer.json()


def test_characters_that_disguise_a_name_are_removed(api_client_with_scopes, workspace) -> None:
    """A right-to-left override showed "\u202egnp.exe" as "exe.png" in the team's lists."""
    from messaging.content.models import MessageTemplate

    template = MessageTemplate.objects.create(workspace=workspace, name="Promo", variants=["Hi"])
    client = api_client_with_scopes("contacts:write", "campaigns:write")

    contact = client.post(
        reverse("api:contact-list"),
        {"phone": "+994505551027", "first_name": "\u202eevil\u202c 😀 \u200bمرحبا"},
        format="json",
    )
    hidden_only = client.post(
        reverse("api:campaign-list"),
        {"name": "\u202e\u200b", "template": str(template.public_id), "senders": []},
        format="json",
    )

    assert contact.status_code == 201
    assert contact.json()["first_name"] == "evil 😀 مرحبا"
    assert hidden_only.status_code == 400
    assert "name" in hidden_only.json()
