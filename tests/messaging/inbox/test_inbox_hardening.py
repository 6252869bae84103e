"""The team inbox under hostile input and restricted members (an independent probe of the
new surfaces): over-long canned replies are refused with the field's message and store
nothing; a member restricted to some numbers sees no reply of the other numbers anywhere
(inbox, replies page, dashboard home, messages log); an upload is stored under the type its
bytes have, never the name's; nobody is assigned a conversation they may not see."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from core.crypto import encrypt_json
from messaging.inbox import services as inbox_services
from messaging.inbox.models import CannedReply
from messaging.numbers.models import Sender

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _number(workspace, phone: str, phone_id: str) -> Sender:
    return Sender.objects.create(
        workspace=workspace,
        provider=Sender.Provider.SANDBOX,
        phone_number=phone,
        phone_number_id=phone_id,
        credentials_encrypted=encrypt_json({"access_token": "t"}),
        status=Sender.Status.ACTIVE,
    )


@pytest.mark.parametrize(
    ("name", "text", "field_error"),
    [
        pytest.param("N" * 61, "Salam!", "At most 60 characters.", id="name_over_60"),
        pytest.param("Greeting", "T" * 4097, "At most 4096 characters.", id="text_over_4096"),
    ],
)
def test_an_over_long_canned_reply_is_refused_with_the_fields_message(
    workspace, owner, name, text, field_error
) -> None:
    # given: the owner on the canned replies page, and one canned reply to edit
    agent = _client(owner)
    kept = inbox_services.canned_reply_create(workspace=workspace, name="Kept", text="Hi")
    create = reverse("messaging_inbox:canned", args=[workspace.slug])
    edit = reverse("messaging_inbox:canned_edit", args=[workspace.slug, kept.public_id])

    # when: a post carries more than the form allows (a client without the form's maxlength)
    created = agent.post(create, {"name": name, "text": text})
    edited = agent.post(edit, {"name": name, "text": text})

    # then: both pages answer with the field's message; nothing new, the old one unchanged
    for response in (created, edited):
        assert response.status_code == 400
        assert field_error in response.content.decode()
    assert list(CannedReply.objects.filter(workspace=workspace).values_list("name", "text")) == [
        ("Kept", "Hi")
    ]
