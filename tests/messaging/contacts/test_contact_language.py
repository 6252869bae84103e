"""A contact's language picks the WhatsApp template translation they get, so the contact form
and the API take only a language code (normalised to the templates' spelling) and refuse
anything else with the reason, writing nothing."""

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
