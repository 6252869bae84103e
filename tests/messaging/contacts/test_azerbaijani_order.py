"""Names are sorted the Azerbaijani way (Ç after C, Ə after E, ı before i, Ş after S), not
with every marked letter after "Z", and a search folds the dotted and dotless i as an
Azerbaijani writer uses them ("İsmayıl", "ISMAYIL" and "ismayıl" are one name)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from accounts.models import Workspace
from messaging.contacts import selectors, services
from messaging.contacts.models import Contact

pytestmark = pytest.mark.django_db

ALPHABETICAL = [
    "Cəfər",
    "Çinar",
    "Elvin",
    "Əli",
    "Işıq",
    "İlkin",
    "Səbail",
    "Şəki",
    "Zəngilan",
]


def test_lists_are_sorted_in_azerbaijani_alphabetical_order(
    workspace: Workspace, member_client: Client
) -> None:
    # given lists created in an order that is neither
    for name in sorted(ALPHABETICAL, reverse=True):
        services.contact_list_create(workspace=workspace, name=name)

    # when they are read, and when a person opens the lists page
    names = [c.name for c in selectors.contact_lists_of_workspace(workspace=workspace)]
    page = member_client.get(f"/w/{workspace.slug}/contacts/lists/").content.decode()

    # then both follow the Azerbaijani alphabet
    assert names == ALPHABETICAL
    positions = [page.index(name) for name in ALPHABETICAL]
    assert positions == sorted(positions)


@pytest.mark.parametrize("term", ["İsmayıl", "ismayıl", "ISMAYIL", "Ismayil", "İSMAYIL"])
def test_a_search_folds_the_dotted_and_dotless_i(
    workspace: Workspace, make_contact: Callable[..., Contact], term: str
) -> None:
    make_contact(workspace, "+994501112233", first_name="İsmayıl", last_name="Quliyev")
    make_contact(workspace, "+994501112244", first_name="Aysel", last_name="Quliyeva")

    found = [
        c.first_name
        for c in selectors.contacts_matching(workspace=workspace, filters={"search": term})
    ]

    assert found == ["İsmayıl"]
