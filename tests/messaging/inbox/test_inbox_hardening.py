"""The team inbox under hostile input and restricted members (an independent probe of the
new surfaces): over-long canned replies are refused with the field's message and store
nothing; a member restricted to some numbers sees no reply of the other numbers anywhere
(inbox, replies page, dashboard home, messages log); an upload is stored under the type its
bytes have, never the name's; nobody is assigned a conversation they may not see."""

from __future__ import annotations

import html
import json
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from accounts.permissions import Role
from billing import services as billing
from core.crypto import encrypt_json
from messaging.campaigns.models import InboundMessage, Message
from messaging.inbox import services as inbox_services
from messaging.inbox.models import CannedReply, Conversation
from messaging.numbers.models import Sender

pytestmark = pytest.mark.django_db

PNG_HEADER = b"\x89PNG\r\n\x1a\n" + b"\x00" * 8


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


def _conversation_with_traffic(workspace, sender: Sender, phone: str, marker: str) -> None:
    """A conversation of `sender` holding a reply, an agent's answer and a label, each
    carrying `marker`."""
    Conversation.objects.create(
        workspace=workspace,
        sender=sender,
        phone=phone,
        last_preview=f"{marker} reply",
        unread_count=1,
        labels=[f"{marker}-label"],
    )
    InboundMessage.objects.create(
        workspace=workspace,
        sender=sender,
        phone=phone,
        provider_message_id=f"wamid.{marker}",
        kind="text",
        text=f"{marker} reply",
    )
    Message.objects.create(workspace=workspace, sender=sender, phone=phone, body=f"{marker} answer")


def test_a_member_restricted_to_one_number_sees_no_reply_of_the_others_anywhere(
    workspace, owner, make_member
) -> None:
    # given: two numbers with a conversation each; the member sees only the first number's
    shown = _number(workspace, "+994550000001", "71001")
    hidden = _number(workspace, "+994550000002", "71002")
    _conversation_with_traffic(workspace, shown, "+994501000001", "Shownzeta")
    _conversation_with_traffic(workspace, hidden, "+994501000002", "Hiddenzeta")
    member = make_member(workspace, Role.MEMBER)
    inbox_services.membership_inbox_numbers_set(
        workspace=workspace, membership=member, sender_ids=[shown.pk], actor=owner
    )
    pages = {
        "inbox": reverse("messaging_inbox:list", args=[workspace.slug]),
        "replies": reverse("messaging_campaigns:inbox", args=[workspace.slug]),
        "home": reverse("messaging_analytics:home", args=[workspace.slug]),
        "messages log": reverse("messaging_campaigns:messages", args=[workspace.slug]),
    }

    # when: the member and the owner open every page that shows replies or answers
    seen_by_member = {name: _client(member.user).get(url) for name, url in pages.items()}
    seen_by_owner = {name: _client(owner).get(url) for name, url in pages.items()}

    # then: the member reads the first number's lines only; the owner reads both
    assert {name: r.status_code for name, r in seen_by_member.items()} == dict.fromkeys(pages, 200)
    bodies = {name: r.content.decode() for name, r in seen_by_member.items()}
    assert [name for name, body in bodies.items() if "Shownzeta" not in body] == []
    leaks = [name for name, body in bodies.items() if "Hiddenzeta" in body]
    assert leaks == [], "pages showing a number hidden from the member"
    # the inbox's number filter does not offer the hidden number (the numbers page, for
    # sending, still lists it)
    assert "+994550000002" not in bodies["inbox"]
    for name, response in seen_by_owner.items():
        body = response.content.decode()
        assert "Shownzeta" in body, name
        assert "Hiddenzeta" in body, name


def test_an_upload_named_html_is_stored_and_linked_as_the_image_its_bytes_are(
    workspace, owner, credits, settings, tmp_path
) -> None:
    # given: a conversation on a sandbox number; an agent's file is a PNG by its bytes, with
    # markup after the header and an .html name (the public /media/ link would serve it as a
    # page of our origin)
    settings.MEDIA_ROOT = str(tmp_path)
    number = _number(workspace, "+994550000001", "71001")
    conversation = Conversation.objects.create(
        workspace=workspace, sender=number, phone="+994501000001"
    )
    upload = SimpleUploadedFile(
        "../invoice.html", PNG_HEADER + b"<script>alert(document.cookie)</script>", "text/html"
    )

    # when: the agent replies with it
    answer = _client(owner).post(
        reverse("messaging_inbox:reply", args=[workspace.slug, conversation.public_id]),
        {"text": "Your invoice", "media": upload},
    )

    # then: it goes out as an image whose link and stored file end in .png, nothing in .html
    assert answer.status_code == 302
    message = Message.objects.get(workspace=workspace, sender=number)
    link = json.dumps(message.content)
    assert re.search(r"/media/inbox-media/[0-9a-f-]{36}/invoice\.png", link), link
    assert ".html" not in link
    stored = [p.name for p in (tmp_path / "inbox-media").rglob("*") if p.is_file()]
    assert stored == ["invoice.png"]


def test_nobody_is_assigned_a_conversation_of_a_number_hidden_from_them(
    workspace, owner, make_member, api_client_with_scopes
) -> None:
    # given: a conversation on the second number; an agent restricted to the first
    first = _number(workspace, "+994550000001", "71001")
    second = _number(workspace, "+994550000002", "71002")
    conversation = Conversation.objects.create(
        workspace=workspace, sender=second, phone="+994501000002"
    )
    agent = make_member(workspace, Role.MEMBER)
    inbox_services.membership_inbox_numbers_set(
        workspace=workspace, membership=agent, sender_ids=[first.pk], actor=owner
    )

    # when: the owner assigns it to the agent on the page, and an integration over the API
    page = _client(owner).post(
        reverse("messaging_inbox:assign", args=[workspace.slug, conversation.public_id]),
        {"assignee": str(agent.user.pk)},
        follow=True,
    )
    api = api_client_with_scopes("inbox:write").post(
        f"/api/v1/conversations/{conversation.public_id}/assign/",
        {"assignee": agent.user.email},
        format="json",
    )

    # then: both are refused with the reason, and the conversation stays unassigned
    reason = f"{agent.user.email} does not see this number's conversations"
    assert reason in html.unescape(page.content.decode())
    assert api.status_code == 400
    assert reason in api.json()["assignee"][0]
    conversation.refresh_from_db()
    assert conversation.assignee_id is None


@pytest.mark.parametrize("path", ["reply", "messages"])
def test_an_over_long_idempotency_key_is_a_400_and_sends_nothing(
    workspace, credits, api_client_with_scopes, path
) -> None:
    # given: a conversation on a sandbox number (no 24-hour window), credits, a key
    number = _number(workspace, "+994550000001", "71001")
    conversation = Conversation.objects.create(
        workspace=workspace, sender=number, phone="+994501000001"
    )
    client = api_client_with_scopes("inbox:write", "campaigns:write")
    url, body = {
        "reply": (f"/api/v1/conversations/{conversation.public_id}/reply/", {"text": "Salam"}),
        "messages": ("/api/v1/messages/", {"to": "+994501000001", "text": "Salam"}),
    }[path]
    balance = billing.credits_balance(workspace=workspace)

    # when: an integration sends with a 129-character Idempotency-Key, one holding a NUL
    # character, then a 128-character one
    refused = client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="k" * 129)
    nul = client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="k\x00k")
    after_refusal = (
        Message.objects.filter(workspace=workspace).count(),
        billing.credits_balance(workspace=workspace),
    )
    accepted = client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="k" * 128)

    # then: the long key is a 400 naming the limit, the NUL one a 400 too, with nothing
    # queued or reserved; the longest allowed key sends
    assert refused.status_code == 400
    assert refused.json() == {"idempotency_key": ["An Idempotency-Key has at most 128 characters."]}
    assert nul.status_code == 400
    assert nul.json() == {"idempotency_key": ["Null characters are not allowed."]}
    assert after_refusal == (0, balance)
    assert accepted.status_code == 201
    assert Message.objects.get(workspace=workspace).idempotency_key == "k" * 128


def test_the_assign_menu_offers_only_members_who_see_the_number(
    workspace, owner, make_member
) -> None:
    # given: a conversation on the second number; one agent restricted to the first, one to
    # the second, a viewer
    first = _number(workspace, "+994550000001", "71001")
    second = _number(workspace, "+994550000002", "71002")
    conversation = Conversation.objects.create(
        workspace=workspace, sender=second, phone="+994501000002"
    )
    elsewhere, here = make_member(workspace, Role.MEMBER), make_member(workspace, Role.MEMBER)
    viewer = make_member(workspace, Role.VIEWER)
    for agent, number in ((elsewhere, first), (here, second)):
        inbox_services.membership_inbox_numbers_set(
            workspace=workspace, membership=agent, sender_ids=[number.pk], actor=owner
        )

    # when: the owner opens the conversation
    page = _client(owner).get(
        reverse("messaging_inbox:conversation", args=[workspace.slug, conversation.public_id])
    )

    # then: the menu names the owner and the agent who sees the number, not the others
    menu = page.content.decode().split('name="assignee"', 1)[1].split("</select>", 1)[0]
    offered = re.findall(r'<option value="(\d+)"', menu)
    assert str(here.user.pk) in offered
    assert str(owner.pk) in offered
    assert str(elsewhere.user.pk) not in offered
    assert str(viewer.user.pk) not in offered
