"""The team inbox: replies land in a conversation; two members handle it (assign, note,
reply) and the other sees it through the live endpoint; outside the 24-hour window a reply is
refused and a WhatsApp template offered and sent; a media reply reaches the gateway; viewers
read only; the list's fields are kept by the message writes in one statement per batch."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent
from accounts.permissions import Role
from integrations import services as integration_services
from integrations.models import WebhookDelivery
from messaging.campaigns.models import Message
from messaging.contacts import services as contact_services
from messaging.content.models import WhatsAppTemplate
from messaging.engine.conversations import Touch, conversations_touch
from messaging.inbox.models import CannedReply, Conversation

from ..numbers.test_customer_window import CUSTOMER, PHONE_ID, _drain, _inbound, _logged

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _url(name: str, workspace, conversation=None, **query) -> str:
    args = [workspace.slug] + ([conversation.public_id] if conversation is not None else [])
    url = reverse(f"messaging_inbox:{name}", args=args)
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def _poll_query(html: str) -> str:
    """The live endpoint's URL as the page's poller holds it."""
    match = re.search(r'id="thread-poller" hx-get="([^"]+)"', html)
    assert match, "the conversation page has no poller"
    return match.group(1).replace("&amp;", "&")


def test_two_members_handle_one_conversation_and_the_other_sees_it_live(
    workspace, owner, make_member, cloud_number, graph, credits, django_capture_on_commit_callbacks
) -> None:
    # given: the customer writes; two members open the conversation
    contact_services.contact_create(
        workspace=workspace, data={"phone": CUSTOMER, "first_name": "Aysel"}
    )
    with django_capture_on_commit_callbacks(execute=True):
        _inbound(cloud_number, text="Salam, qiyməti nədir?")
    conversation = Conversation.objects.get(workspace=workspace)
    assert (conversation.unread_count, conversation.last_preview) == (1, "Salam, qiyməti nədir?")
    other = make_member(workspace, Role.MEMBER).user
    agent, colleague = _client(owner), _client(other)
    listing = agent.get(_url("list", workspace))
    assert "Salam, qiyməti nədir?" in listing.content.decode()
    assert agent.get(_url("unread", workspace)).content.decode().count('data-unread="1"') == 1
    watching = colleague.get(_url("conversation", workspace, conversation))
    poll = _poll_query(watching.content.decode())

    # when: the agent takes it, leaves a note and answers
    agent.post(_url("assign", workspace, conversation), {"assignee": "me"})
    agent.post(_url("note", workspace, conversation), {"note": "VIP, offer 10% off"})
    with django_capture_on_commit_callbacks(execute=True):
        answer = agent.post(_url("reply", workspace, conversation), {"text": "Salam! 25 AZN."})
    assert answer.status_code == 302

    # then: the colleague's live endpoint brings the note and the reply, nothing else
    live = colleague.get(poll).content.decode()
    assert "VIP, offer 10% off" in live
    assert "Salam! 25 AZN." in live
    assert "Salam, qiyməti nədir?" not in live  # already on the page
    conversation.refresh_from_db()
    assert conversation.assignee == owner
    assert (conversation.last_kind, conversation.last_preview) == ("out", "Salam! 25 AZN.")
    assert conversation.unread_count == 0
    mine = agent.get(_url("list", workspace, view="mine")).content.decode()
    assert mine.count('data-testid="conversation-row"') == 1
    theirs = colleague.get(_url("list", workspace, view="mine")).content.decode()
    assert theirs.count('data-testid="conversation-row"') == 0
    actions = set(AuditEvent.objects.filter(workspace=workspace).values_list("action", flat=True))
    assert {"conversation.assign", "conversation.note"} <= actions
    # the note never went to the gateway; the reply did
    _drain(cloud_number)
    texts = [e.get("text", {}).get("body") for e in _logged(graph)]
    assert "Salam! 25 AZN." in texts
    assert "VIP, offer 10% off" not in texts


def test_a_reply_outside_the_window_is_refused_and_a_template_is_offered_and_sent(
    workspace, owner, cloud_number, graph, credits, django_capture_on_commit_callbacks
) -> None:
    # given: a contact who never wrote to the Cloud API number, and an approved template
    contact = contact_services.contact_create(
        workspace=workspace, data={"phone": CUSTOMER, "first_name": "Aysel"}
    )
    conversations_touch(
        [
            Touch(
                workspace_id=workspace.pk,
                sender_id=cloud_number.pk,
                phone=CUSTOMER,
                contact_id=contact.pk,
                at=timezone.now() - timedelta(days=3),
                kind="campaign",
                preview="Spring sale",
            )
        ]
    )
    conversation = Conversation.objects.get(workspace=workspace)
    graph.add_template(PHONE_ID, name="follow_up", body="Hello {{1}}!", examples=["A"])
    template = WhatsAppTemplate.objects.create(
        workspace=workspace,
        waba_id=cloud_number.waba_id,
        meta_id="9001",
        name="follow_up",
        language="en",
        status=WhatsAppTemplate.Status.APPROVED,
        components=[{"type": "BODY", "text": "Hello {{1}}!", "example": {"body_text": [["A"]]}}],
    )
    agent = _client(owner)

    # when: the agent tries a free-form reply
    refused = agent.post(_url("reply", workspace, conversation), {"text": "Are you there?"})

    # then: refused with the reason, nothing queued, and the template picker is offered
    page = refused.content.decode()
    assert refused.status_code == 400
    assert "24-hour customer-service window" in page
    assert 'data-testid="template-select"' in page
    assert "follow_up (en)" in page
    assert not Message.objects.filter(workspace=workspace).exists()

    # when: the agent picks the template: its variable is filled from the contact
    picked = agent.get(_url("conversation", workspace, conversation, template=template.public_id))
    assert 'name="var:body.1" value="Aysel"' in picked.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        sent = agent.post(
            _url("template", workspace, conversation),
            {"template": str(template.public_id), "var:body.1": "Aysel xanım"},
        )
    assert sent.status_code == 302
    _drain(cloud_number)

    # then: the gateway got the template with the parameter, and the thread shows it
    logged = [e for e in _logged(graph) if e["type"] == "template"]
    assert len(logged) == 1
    assert logged[0]["template"]["name"] == "follow_up"
    assert logged[0]["template"]["components"][0]["parameters"][0]["text"] == "Aysel xanım"
    message = Message.objects.get(workspace=workspace)
    assert message.status != "failed"
    assert message.body == "Hello Aysel xanım!"


def test_a_media_reply_reaches_the_sandbox(
    workspace, owner, cloud_number, graph, credits, django_capture_on_commit_callbacks, settings
) -> None:
    # given: the customer wrote (the window is open)
    with django_capture_on_commit_callbacks(execute=True):
        _inbound(cloud_number, text="Send me the menu")
    conversation = Conversation.objects.get(workspace=workspace)
    agent = _client(owner)

    # when: the agent uploads an image with a caption
    with django_capture_on_commit_callbacks(execute=True):
        answer = agent.post(
            _url("reply", workspace, conversation),
            {"text": "Today's menu", "media": SimpleUploadedFile("menu.png", PNG, "image/png")},
        )
    assert answer.status_code == 302
    _drain(cloud_number)

    # then: the sandbox received an image message by link, with the caption
    images = [e for e in _logged(graph) if e["type"] == "image"]
    assert len(images) == 1
    assert images[0]["image"]["caption"] == "Today's menu"
    assert images[0]["image"]["link"].startswith(settings.SITE_URL + "/media/inbox-media/")
    assert images[0]["image"]["link"].endswith("/menu.png")


def test_a_file_that_is_not_an_image_or_pdf_is_refused_and_nothing_is_sent(
    workspace, owner, cloud_number, graph, credits, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        _inbound(cloud_number, text="hi")
    conversation = Conversation.objects.get(workspace=workspace)
    answer = _client(owner).post(
        _url("reply", workspace, conversation),
        {"text": "x", "media": SimpleUploadedFile("menu.png", b"MZ\x90\x00evil", "image/png")},
    )
    assert answer.status_code == 400
    assert "JPEG or PNG image or a PDF" in answer.content.decode()
    assert not Message.objects.filter(workspace=workspace).exists()


def test_viewers_read_but_cannot_answer(
    workspace, make_member, cloud_number, credits, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        _inbound(cloud_number, text="hello")
    conversation = Conversation.objects.get(workspace=workspace)
    viewer = _client(make_member(workspace, Role.VIEWER).user)
    page = viewer.get(_url("conversation", workspace, conversation))
    assert page.status_code == 200
    assert "hello" in page.content.decode()
    assert 'data-testid="reply-form"' not in page.content.decode()
    assert viewer.post(_url("reply", workspace, conversation), {"text": "no"}).status_code == 403
    assert (
        viewer.post(_url("status", workspace, conversation), {"status": "closed"}).status_code
        == 403
    )
    assert not Message.objects.filter(workspace=workspace).exists()
    conversation.refresh_from_db()
    assert conversation.status == "open"


def test_touches_fold_into_one_statement_and_a_reply_reopens_a_closed_conversation(
    workspace, cloud_number, django_assert_num_queries
) -> None:
    now = timezone.now()
    touches = [
        Touch(workspace.pk, cloud_number.pk, f"+99450000{i:04d}", None, now, "campaign", "Sale")
        for i in range(300)
    ] + [
        Touch(
            workspace.pk,
            cloud_number.pk,
            "+994500000001",
            None,
            now + timedelta(seconds=1),
            "in",
            "Yes",
        ),
        Touch(
            workspace.pk,
            cloud_number.pk,
            "+994500000001",
            None,
            now + timedelta(seconds=2),
            "in",
            "Price?",
        ),
    ]
    with django_assert_num_queries(1):
        conversations_touch(touches)
    assert Conversation.objects.filter(workspace=workspace).count() == 300
    one = Conversation.objects.get(phone="+994500000001")
    assert (one.unread_count, one.last_preview, one.last_kind) == (2, "Price?", "in")
    Conversation.objects.filter(pk=one.pk).update(status="closed")
    # a late, older write does not move the preview back; a new reply reopens
    conversations_touch([Touch(workspace.pk, cloud_number.pk, one.phone, None, now, "out", "old")])
    conversations_touch(
        [
            Touch(
                workspace.pk,
                cloud_number.pk,
                one.phone,
                None,
                now + timedelta(seconds=5),
                "in",
                "Hi",
            )
        ]
    )
    one.refresh_from_db()
    assert (one.status, one.unread_count, one.last_preview) == ("open", 3, "Hi")


def test_canned_replies_fill_variables_from_the_contact(
    workspace, owner, cloud_number, credits, django_capture_on_commit_callbacks
) -> None:
    contact_services.contact_create(
        workspace=workspace, data={"phone": CUSTOMER, "first_name": "Aysel"}
    )
    with django_capture_on_commit_callbacks(execute=True):
        _inbound(cloud_number, text="hi")
    conversation = Conversation.objects.get(workspace=workspace)
    agent = _client(owner)
    created = agent.post(
        _url("canned", workspace), {"name": "Greeting", "text": "Salam {{first_name|dost}}!"}
    )
    assert created.status_code == 302
    canned = CannedReply.objects.get(workspace=workspace)
    filled = agent.get(_url("canned_text", workspace, conversation, canned=canned.public_id))
    assert "Salam Aysel!" in filled.content.decode()
    assert AuditEvent.objects.filter(workspace=workspace, action="canned_reply.create").exists()


def test_api_lists_reads_assigns_and_closes_with_webhook_events(
    workspace,
    owner,
    make_member,
    cloud_number,
    credits,
    api_client_with_scopes,
    django_capture_on_commit_callbacks,
) -> None:
    integration_services.webhook_endpoint_create(
        workspace=workspace,
        url="https://hooks.example.com/in",
        event_types=["conversation.assigned", "conversation.closed"],
    )
    with django_capture_on_commit_callbacks(execute=True):
        _inbound(cloud_number, text="Need help")
    conversation = Conversation.objects.get(workspace=workspace)
    client = api_client_with_scopes("inbox:write")
    listed = client.get("/api/v1/conversations/")
    assert listed.status_code == 200
    assert [c["id"] for c in listed.json()["results"]] == [str(conversation.public_id)]
    base = f"/api/v1/conversations/{conversation.public_id}"
    thread = client.get(f"{base}/messages/").json()
    assert [(i["kind"], i["text"]) for i in thread["items"]] == [("in", "Need help")]
    bad_before = client.get(f"{base}/messages/", {"before": "xyz"})
    assert bad_before.status_code == 400
    assert list(bad_before.json()) == ["before"]  # keyed by the parameter, as other errors

    assigned = client.post(f"{base}/assign/", {"assignee": owner.email}, format="json")
    assert assigned.status_code == 200
    assert assigned.json()["assignee"] == owner.email
    viewer = make_member(workspace, Role.VIEWER).user
    refused = client.post(f"{base}/assign/", {"assignee": viewer.email}, format="json")
    assert refused.status_code == 400
    with django_capture_on_commit_callbacks(execute=True):
        replied = client.post(f"{base}/reply/", {"text": "On it"}, format="json")
    assert replied.status_code == 201
    closed = client.post(f"{base}/close/")
    assert closed.json()["status"] == "closed"
    assert sorted(
        WebhookDelivery.objects.for_workspace(workspace).values_list("event_type", flat=True)
    ) == ["conversation.assigned", "conversation.closed"]
    # read-only keys read but do not write
    reader = api_client_with_scopes("inbox:read")
    assert reader.get(f"{base}/").status_code == 200
    assert reader.post(f"{base}/close/").status_code == 403


def test_erasing_a_recipient_erases_their_conversations_and_notes(
    workspace, owner, cloud_number, credits, django_capture_on_commit_callbacks
) -> None:
    from messaging.privacy import erase_recipient
    from tests.privacy.conftest import find_everywhere

    # given: the customer wrote, an agent noted something about them and answered
    with django_capture_on_commit_callbacks(execute=True):
        _inbound(cloud_number, text="My address is Nizami 5")
    conversation = Conversation.objects.get(workspace=workspace)
    agent = _client(owner)
    agent.post(_url("note", workspace, conversation), {"note": "Lives at Nizami 5"})
    with django_capture_on_commit_callbacks(execute=True):
        agent.post(_url("reply", workspace, conversation), {"text": "Noted, Nizami 5"})

    # when: the number is erased
    erase_recipient(workspace=workspace, phone_e164=CUSTOMER, reason="request", actor=owner)

    # then: no conversation, no note, and the number is nowhere
    assert not Conversation.objects.filter(workspace=workspace).exists()
    mine = ("messaging_conversation", "messaging_conversationnote")
    assert [hit for hit in find_everywhere(CUSTOMER[1:]) if hit[0] in mine] == []
    assert [hit for hit in find_everywhere("Nizami 5") if hit[0] in mine] == []
    # the inbox's audit rows never named the number
    assert not AuditEvent.objects.filter(
        action__startswith="conversation.", target_repr__contains=CUSTOMER[1:]
    ).exists()


def test_a_member_restricted_to_one_number_sees_only_its_conversations(
    workspace, owner, make_member, other_workspace
) -> None:
    from messaging.numbers.models import Sender

    def number(ws, pid: str) -> Sender:
        return Sender.objects.create(
            workspace=ws,
            provider=Sender.Provider.SANDBOX,
            phone_number=f"+99455{pid}",
            phone_number_id=pid,
            status=Sender.Status.ACTIVE,
        )

    # given: two numbers, a reply on each, and a member the owner limits to the first
    shop, support = number(workspace, "0000101"), number(workspace, "0000102")
    foreign = number(other_workspace, "0000103")
    now = timezone.now()
    conversations_touch(
        [
            Touch(workspace.pk, shop.pk, "+994501000001", None, now, "in", "Shop question"),
            Touch(workspace.pk, support.pk, "+994501000002", None, now, "in", "Support question"),
        ]
    )
    hidden = Conversation.objects.get(sender=support)
    membership = make_member(workspace, Role.MEMBER)
    admin = _client(owner)
    refused = admin.post(_url("access", workspace), {f"numbers-{membership.pk}": [str(foreign.pk)]})
    assert refused.status_code == 302
    membership.refresh_from_db()
    assert membership.inbox_sender_ids == []  # another workspace's number: nothing saved
    admin.post(_url("access", workspace), {f"numbers-{membership.pk}": [str(shop.pk)]})
    membership.refresh_from_db()
    assert membership.inbox_sender_ids == [shop.pk]

    # when: the member looks at the inbox
    agent = _client(membership.user)
    listing = agent.get(_url("list", workspace)).content.decode()

    # then: only the shop's conversation, its unread only, and the other is a 404
    assert "Shop question" in listing
    assert "Support question" not in listing
    assert 'data-unread="1"' in agent.get(_url("unread", workspace)).content.decode()
    assert agent.get(_url("conversation", workspace, hidden)).status_code == 404
    assert agent.get(_url("since", workspace, hidden)).status_code == 404
    assert agent.post(_url("reply", workspace, hidden), {"text": "x"}).status_code == 404
    # the owner still sees both; members cannot open the access page
    assert "Support question" in admin.get(_url("list", workspace)).content.decode()
    assert agent.get(_url("access", workspace)).status_code == 403


def test_a_conversation_with_someone_who_is_no_contact_lists_its_replies_on_an_index(
    workspace, owner, cloud_number, graph, credits, django_capture_on_commit_callbacks
) -> None:
    """Someone who is not a contact writes in and is answered: the thread shows the answer,
    read through the index of messages without a contact (it scanned the message table)."""
    from django.db import connection

    from messaging.inbox import selectors

    with django_capture_on_commit_callbacks(execute=True):
        _inbound(cloud_number, text="Salam, siz kimsiniz?")
    conversation = Conversation.objects.get(workspace=workspace)
    assert conversation.contact_id is None
    agent = _client(owner)
    with django_capture_on_commit_callbacks(execute=True):
        agent.post(_url("reply", workspace, conversation), {"text": "Salam! Gül mağazası."})

    page = agent.get(_url("conversation", workspace, conversation)).content.decode()

    assert "Salam, siz kimsiniz?" in page
    assert "Salam! Gül mağazası." in page
    # The workspace's other messages (its campaigns, its other conversations), newer: the
    # thread must not be found by walking them.
    Message.objects.bulk_create(
        Message(
            workspace=workspace,
            sender=cloud_number,
            phone=f"+99455{i:07d}",
            body="Campaign",
            status=Message.Status.DELIVERED,
        )
        for i in range(3_000)
    )
    thread = selectors._messages(conversation).order_by("-id")[:50]
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Message._meta.db_table}")
        plan = thread.explain()
    assert "message_contactless_thread" in plan


def test_a_stranger_who_writes_is_shown_by_their_whatsapp_name_and_can_be_added(
    workspace, owner, cloud_number, django_capture_on_commit_callbacks
) -> None:
    """Meta's inbound webhook carries the writer's profile name; the inbox showed only a
    phone, and saving them as a contact meant typing both again."""
    with django_capture_on_commit_callbacks(execute=True):
        _inbound(cloud_number, text="Salam, kataloq var?")  # profile name "Aysel", no contact
    conversation = Conversation.objects.get(workspace=workspace)
    assert (conversation.contact_id, conversation.profile_name) == (None, "Aysel")
    agent = _client(owner)

    listing = agent.get(_url("list", workspace)).content.decode()
    assert 'data-testid="profile-name"' in listing
    assert "~Aysel" in listing
    page = agent.get(_url("conversation", workspace, conversation)).content.decode()
    assert "~Aysel" in page
    link = re.search(r'data-testid="add-contact" href="([^"]+)"', page).group(1)
    form = agent.get(link.replace("&amp;", "&")).content.decode()
    assert f'value="{CUSTOMER}"' in form
    assert 'value="Aysel"' in form

    # saved as a contact, later messages find them; a message without a name keeps it
    contact_services.contact_create(
        workspace=workspace, data={"phone": CUSTOMER, "first_name": "Aysel", "last_name": "Q"}
    )
    conversations_touch(
        [
            Touch(
                workspace_id=workspace.pk,
                sender_id=cloud_number.pk,
                phone=CUSTOMER,
                contact_id=None,
                at=timezone.now(),
                kind="in",
                preview="again",
            )
        ]
    )
    conversation.refresh_from_db()
    assert conversation.profile_name == "Aysel"


@pytest.mark.parametrize(("language", "keyword"), [("ru", "СТАРТ"), ("en", "START")])
def test_a_contact_who_opted_out_is_offered_no_reply_box_but_the_reason(
    workspace,
    owner,
    cloud_number,
    credits,
    django_capture_on_commit_callbacks,
    language,
    keyword,
) -> None:
    # given: a contact wrote (the 24-hour window is open), then opted out with STOP
    contact_services.contact_create(
        workspace=workspace, data={"phone": CUSTOMER, "first_name": "Aysel", "language": language}
    )
    with django_capture_on_commit_callbacks(execute=True):
        _inbound(cloud_number, text="Salam")
        _inbound(cloud_number, text="STOP")
    conversation = Conversation.objects.get(workspace=workspace)
    assert conversation.contact.opted_out_at is not None

    # when: a member opens the conversation
    page = _client(owner).get(_url("conversation", workspace, conversation))

    # then: no box that would only be refused; the reason and the way back instead
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="reply-form"' not in html
    assert 'data-testid="template-form"' not in html
    assert 'data-testid="reply-send"' not in html
    assert "free-form" not in html
    notice = re.search(r'data-testid="opted-out-notice">(.*?)</div>', html, re.S)
    assert notice, "the page does not say the contact opted out"
    assert "nothing can be sent to them" in notice.group(1)
    assert keyword in notice.group(1)
    assert "consent" in notice.group(1)


def test_a_subscribed_contact_still_gets_the_reply_box(
    workspace, owner, cloud_number, credits, django_capture_on_commit_callbacks
) -> None:
    contact_services.contact_create(
        workspace=workspace, data={"phone": CUSTOMER, "first_name": "Aysel"}
    )
    with django_capture_on_commit_callbacks(execute=True):
        _inbound(cloud_number, text="Salam")

    html = _client(owner).get(_url("conversation", workspace, Conversation.objects.get())).content
    assert b'data-testid="reply-form"' in html
    assert b'data-testid="opted-out-notice"' not in html


def test_a_stop_from_a_stranger_is_kept_and_adding_them_later_does_not_subscribe_them(
    workspace, owner, member_client, cloud_number, django_capture_on_commit_callbacks
) -> None:
    """A STOP from a number that was not a contact was stored as a reply only: adding the
    number by hand made a subscribed contact, and the next campaign reached them."""
    from messaging.contacts.audience import audience_clean, audience_recipients
    from messaging.contacts.models import Contact, CreatedVia

    with django_capture_on_commit_callbacks(execute=True):
        _inbound(cloud_number, text="STOP")  # WhatsApp profile name "Aysel"

    contact = Contact.objects.get(workspace=workspace, phone=CUSTOMER)
    assert contact.opted_out_at is not None
    assert (contact.created_via, contact.first_name, contact.consent_source) == (
        CreatedVia.INBOUND,
        "Aysel",
        "",
    )
    # adding them by hand finds them, opted out; an audience of everyone leaves them out
    added = member_client.post(
        reverse("messaging:contact_create", args=[workspace.slug]), {"phone": CUSTOMER}
    )
    assert "already exists" in added.content.decode()
    everyone = audience_recipients(
        workspace=workspace, audience=audience_clean(workspace=workspace, data={})
    )
    assert contact.pk not in set(everyone.values_list("pk", flat=True))
