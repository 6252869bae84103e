"""API lists page with cursors over a unique order: walking `next` then `previous` gives back
exactly the pages seen, even when many rows share a creation time (an import, a bulk upsert):
with the creation time first in the order, the `previous` page came back with rows missing."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from messaging.contacts.models import Contact

pytestmark = pytest.mark.django_db


def test_next_then_previous_returns_the_same_page(api_client_with_scopes, workspace) -> None:
    now = timezone.now()
    Contact.objects.bulk_create(
        Contact(workspace=workspace, phone=f"+99450{1_000_000 + i:07d}", created_at=now)
        for i in range(20)
    )
    client = api_client_with_scopes("contacts:read")

    first = client.get(reverse("api:contact-list"), {"page_size": 7}).json()
    second = client.get(first["next"]).json()
    third = client.get(second["next"]).json()
    back = client.get(second["previous"]).json()

    def phones(page: dict) -> list[str]:
        return [row["phone"] for row in page["results"]]

    assert phones(back) == phones(first)
    seen = phones(first) + phones(second) + phones(third)
    assert len(seen) == len(set(seen)) == 20
    assert third["next"] is None


@pytest.mark.parametrize(
    "cursor",
    [
        "%%%%",  # not base64: DRF's lenient decoding made it an empty cursor, page 1
        "!!",
        "cD1hYmM=",  # "p=abc": a position that is not an id
        "cD0tMQ==",  # "p=-1"
        "bz1hYmM=",  # "o=abc"
        "ü",
    ],
)
def test_a_cursor_we_did_not_make_is_refused(api_client_with_scopes, workspace, cursor) -> None:
    Contact.objects.create(workspace=workspace, phone="+994501234567")
    client = api_client_with_scopes("contacts:read")

    answer = client.get(reverse("api:contact-list"), {"cursor": cursor})

    assert answer.status_code == 404
    assert "cursor" in answer.json()["detail"].lower()
