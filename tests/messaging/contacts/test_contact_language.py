"""A contact's language picks the WhatsApp template translation they get, so the contact form
and the API take only a language code (normalised to the templates' spelling) and refuse
anything else with the reason, writing nothing. A segment's text attribute matches whatever
its case."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from messaging.contacts import services
from messaging.contacts.models import Contact

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("typed", "stored"), [("az", "az"), ("RU", "ru"), ("en-us", "en_US"), ("pt_BR", "pt_BR")]
)
def test_a_language_code_is_kept_in_the_templates_spelling(workspace, typed, stored) -> None:
    contact = services.contact_create(
        workspace=workspace, actor=None, data={"phone": "+994501112233", "language": typed}
    )

    assert contact.language == stored


@pytest.mark.parametrize("typed", ["xx-zz-not-a-lang", "Russian", "a"])
def test_anything_else_is_refused_and_nothing_is_written(workspace, typed) -> None:
    with pytest.raises(ValidationError) as refused:
        services.contact_create(
            workspace=workspace, actor=None, data={"phone": "+994501112233", "language": typed}
        )

    assert refused.value.message_dict["language"] == [
        "Use a language code such as az, ru or en_US."
    ]
    assert not Contact.objects.exists()


def test_a_segment_s_attribute_matches_whatever_its_case(workspace) -> None:
    """A segment on city “bakı” finds the contact whose city is “Bakı”, not one in Gəncə."""
    from messaging.contacts.selectors import contact_filter_q

    baku = services.contact_create(
        workspace=workspace, data={"phone": "+994501112233", "attributes": {"city": "Bakı"}}
    )
    services.contact_create(
        workspace=workspace, data={"phone": "+994501112244", "attributes": {"city": "Gəncə"}}
    )

    def found(city: str) -> list[int]:
        q = contact_filter_q({"attributes": {"city": city}})
        return list(Contact.objects.for_workspace(workspace).filter(q).values_list("id", flat=True))

    assert found("bakı") == [baku.pk]
    assert found("Bakı") == [baku.pk]
    assert found("Sumqayıt") == []
    # in capitals, Azerbaijani's dotless ı is an I: "BAKI" is how a person types "Bakı"
    assert found("BAKI") == [baku.pk]
    assert found("baki") == [baku.pk]
    assert found("GƏNCƏ") != []


def test_the_dotted_capital_i_matches_its_small_letter(workspace) -> None:
    from messaging.contacts.selectors import contact_filter_q

    contact = services.contact_create(
        workspace=workspace, data={"phone": "+994501112233", "attributes": {"city": "İsmayıllı"}}
    )

    for typed in ("İSMAYILLI", "ismayıllı", "Ismayilli"):
        q = contact_filter_q({"attributes": {"city": typed}})
        assert list(Contact.objects.filter(q).values_list("id", flat=True)) == [contact.pk], typed
