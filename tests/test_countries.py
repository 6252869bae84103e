"""Countries are named in the reader's language: the settings' list of 245 calling regions
showed only codes ("AZ (+994)"), and a contact's page showed "AZ"."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from messaging.contacts.models import Contact

pytestmark = pytest.mark.django_db


def _option(page: str, value: str) -> str:
    match = re.search(rf'<option value="{value}"[^>]*>([^<]*)</option>', page)
    assert match, f"no option {value}"
    return match.group(1)


@pytest.mark.parametrize(
    ("language", "azerbaijan", "russia"),
    [
        ("en", "Azerbaijan (+994)", "Russia (+7)"),
        ("az", "Azərbaycan (+994)", "Rusiya (+7)"),
        ("ru", "Азербайджан (+994)", "Россия (+7)"),
    ],
)
def test_the_default_country_is_chosen_by_name_in_the_readers_language(
    member_client, workspace, language, azerbaijan, russia
) -> None:
    member_client.post(reverse("set_language"), {"language": language, "next": "/"})

    page = member_client.get(reverse("accounts:settings", args=[workspace.slug])).content.decode()

    assert _option(page, "AZ") == azerbaijan
    assert _option(page, "RU") == russia
    assert re.search(r'<option value="AZ" selected>', page)
    # sorted by name as the reader reads it, so a person finds their country
    names = re.findall(r'<option value="[A-Z]{2}"[^>]*>([^<]*)</option>', page)
    assert len(names) > 200
    assert names == sorted(names, key=str.casefold)


def test_a_contacts_country_is_shown_by_name(member_client, workspace) -> None:
    contact = Contact.objects.create(workspace=workspace, phone="+905321234567", country="TR")
    url = reverse("messaging:contact_detail", args=[workspace.slug, contact.public_id])

    assert "Türkiye" in member_client.get(url).content.decode()
    member_client.post(reverse("set_language"), {"language": "ru", "next": "/"})
    assert "Турция" in member_client.get(url).content.decode()
