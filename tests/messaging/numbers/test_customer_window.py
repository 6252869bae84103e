"""WhatsApp's 24-hour customer-service window on Cloud API numbers: free-form messages (the
numbers page's test send, the single-send API, automation replies) are refused before anything
reaches the gateway until the contact writes, allowed after; sandbox numbers have no window;
the contact page shows the window per number; media and interactive messages sent inside the
window reach the gateway in Meta's shapes."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import timedelta

import pytest
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from automation.models import AutomationRule, AutomationRun, MatchKind, RunOutcome
from billing import services as billing
from messaging.campaigns.models import Message
from messaging.contacts.models import Contact
from messaging.content.models import MessageTemplate
from messaging.engine import dispatch
from messaging.numbers import services as number_services
from messaging.numbers.models import CustomerWindow, Sender

from ..conftest import SandboxClient

pytestmark = pytest.mark.django_db

PHONE_ID = "5550777"
TOKEN = "cloud-token"
SECRET = "cloud-app-secret"
CUSTOMER = "+994507654321"


@pytest.fixture
def graph(sandbox: SandboxClient):
    with override_settings(
        SANDBOX_GATEWAY_URL=sandbox.base_url, WHATSAPP_GRAPH_URL=sandbox.base_url
    ):
        yield sandbox


@pytest.fixture
def cloud_number(workspace, owner, graph) -> Sender:
    graph.register(PHONE_ID, access_token=TOKEN, display_phone_number="994501112200")
    sender = number_services.sender_connect_cloud_api(
        workspace=workspace,
        actor=owner,
        phone_number_id=PHONE_ID,
        waba_id="880001",
        access_token=TOKEN,
        app_secret=SECRET,
        label="Meta",
    )
    dispatch.limiter().reset(f"sender:{sender.pk}")
    return sender


@pytest.fixture
def credits(workspace, owner) -> None:
    billing.credits_adjust(workspace=workspace, amount=100, reason="test credits", actor=owner)


def _accepted(graph: SandboxClient) -> int:
    return graph.number_stats(PHONE_ID)["accepted"]


def _inbound(sender: Sender, *, text: str, at: float | None = None, wamid: str = "") -> None:
    """The contact writes to the number: Meta's signed inbound webhook, received and applied."""
    payload = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": sender.waba_id,
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": "994501112200",
                                "phone_number_id": sender.phone_number_id,
                            },
                            "contacts": [{"profile": {"name": "Aysel"}, "wa_id": CUSTOMER[1:]}],
                            "messages": [
                                {
                                    "from": CUSTOMER[1:],
                                    "id": wamid or f"wamid.in-{time.monotonic_ns()}",
                                    "timestamp": str(int(at or time.time())),
                                    "type": "text",
                                    "text": {"body": text},
                                }
                            ],
                        },
                    }
                ],
            }
        ],
    }
    body = json.dumps(payload).encode()
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    response = Client().post(
        reverse("messaging_webhooks:webhook_whatsapp", args=[sender.public_id]),
        body,
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE_256=signature,
    )
    assert response.status_code == 200


def _drain(sender: Sender) -> None:
    deadline = time.monotonic() + 20
    while Message.objects.filter(sender=sender, status__in=["queued", "sending"]).exists():
        assert time.monotonic() < deadline, "the drainer did not finish"
        dispatch.drain(sender_id=sender.pk, slice_seconds=1.0)


def test_test_send_is_refused_until_the_contact_writes_then_allowed(
    member_client, workspace, cloud_number, graph, django_capture_on_commit_callbacks
) -> None:
    url = reverse("messaging_numbers:test", args=[workspace.slug, cloud_number.public_id])

    # when: the owner sends a test message to someone who never wrote to the number
    refused = member_client.post(url, {"to": CUSTOMER, "text": "Salam!"}, follow=True)

    # then: refused with the window named, and nothing reached the gateway
    page = refused.content.decode()
    assert "24-hour customer-service window is closed" in page
    assert "has never written to +994501112200" in page
    assert "approved WhatsApp template" in page
    assert _accepted(graph) == 0

    # when: the contact writes, and the owner tries again
    with django_capture_on_commit_callbacks(execute=True):
        _inbound(cloud_number, text="Hello")
    accepted = member_client.post(url, {"to": CUSTOMER, "text": "Salam!"}, follow=True)

    # then: the message went out
    assert "Test message accepted" in accepted.content.decode()
    assert _accepted(graph) == 1


def test_window_closed_24_hours_after_the_last_inbound_names_when(
    member_client, workspace, cloud_number, graph, django_capture_on_commit_callbacks
) -> None:
    # given: the contact last wrote 25 hours ago (Meta redelivers webhooks for days)
    wrote = timezone.now() - timedelta(hours=25)
    with django_capture_on_commit_callbacks(execute=True):
        _inbound(cloud_number, text="old", at=wrote.timestamp())

    # when
    refused = member_client.post(
        reverse("messaging_numbers:test", args=[workspace.slug, cloud_number.public_id]),
        {"to": CUSTOMER, "text": "Salam!"},
        follow=True,
    )

    # then: the message says when the window closed, in the workspace's time zone (Baku)
    closed = (wrote + timedelta(hours=24)).astimezone(timezone.get_fixed_timezone(240))
    page = refused.content.decode()
    assert f"closed on {closed:%Y-%m-%d %H:%M}" in page
    assert _accepted(graph) == 0


def test_single_send_api_refuses_outside_the_window_and_sends_inside(
    api_client_with_scopes, workspace, cloud_number, graph, credits,
    django_capture_on_commit_callbacks,
) -> None:  # fmt: skip
    client = api_client_with_scopes("campaigns:write")
    body = {"to": CUSTOMER, "text": "Your order is ready", "sender": str(cloud_number.public_id)}

    # when: nobody wrote yet
    refused = client.post("/api/v1/messages/", body, format="json")

    # then: 400 naming the window; nothing queued, no credit reserved, nothing sent
    assert refused.status_code == 400
    assert "24-hour customer-service window" in json.dumps(refused.json())
    assert not Message.objects.exists()
    assert billing.credits_balance(workspace=workspace).reserved == 0
    assert _accepted(graph) == 0

    # when: the contact writes, then the same request
    with django_capture_on_commit_callbacks(execute=True):
        _inbound(cloud_number, text="Where is my order?")
    sent = client.post("/api/v1/messages/", body, format="json")
    _drain(cloud_number)

    # then: queued and accepted by the gateway
    assert sent.status_code == 201
    assert Message.objects.get().status in ("accepted", "sent", "delivered", "read")
    assert _accepted(graph) == 1


def test_automation_reply_to_a_late_webhook_is_refused_and_to_a_fresh_one_sent(
    workspace, cloud_number, graph, credits, django_capture_on_commit_callbacks
) -> None:
    reply = MessageTemplate.objects.create(
        workspace=workspace, name="Hours", variants=["We open at 9."]
    )
    AutomationRule.objects.create(
        workspace=workspace,
        name="Hours",
        match_kind=MatchKind.CONTAINS,
        keywords=["hours"],
        reply_template=reply,
    )

    # when: a message written 30 hours ago arrives now (Meta retried the webhook)
    with django_capture_on_commit_callbacks(execute=True):
        _inbound(cloud_number, text="hours?", at=(timezone.now() - timedelta(hours=30)).timestamp())

    # then: the rule fired but its reply was refused before queueing, and says why
    late = AutomationRun.objects.get()
    assert late.outcome == RunOutcome.REPLY_FAILED
    assert "24-hour customer-service window" in late.detail
    assert not Message.objects.exists()

    # when: the contact writes now
    with django_capture_on_commit_callbacks(execute=True):
        _inbound(cloud_number, text="hours today?")
    _drain(cloud_number)

    # then: the reply went out
    fresh = AutomationRun.objects.order_by("-id").first()
    assert fresh.outcome == RunOutcome.FIRED
    assert Message.objects.get().body == "We open at 9."
    assert _accepted(graph) == 1


def test_sandbox_numbers_have_no_window(
    api_client_with_scopes, workspace, owner, graph, credits
) -> None:
    sandbox_number = number_services.sender_connect_sandbox(workspace=workspace, actor=owner)
    dispatch.limiter().reset(f"sender:{sandbox_number.pk}")

    sent = api_client_with_scopes("campaigns:write").post(
        "/api/v1/messages/",
        {"to": CUSTOMER, "text": "Salam", "sender": str(sandbox_number.public_id)},
        format="json",
    )
    _drain(sandbox_number)

    assert sent.status_code == 201
    assert graph.number_stats(sandbox_number.phone_number_id)["accepted"] == 1


def test_contact_page_shows_the_window_per_number(
    member_client, workspace, owner, cloud_number, graph, django_capture_on_commit_callbacks
) -> None:
    contact = Contact.objects.create(workspace=workspace, phone=CUSTOMER, first_name="Aysel")
    number_services.sender_connect_sandbox(workspace=workspace, actor=owner)
    url = reverse("messaging:contact_detail", args=[workspace.slug, contact.public_id])

    before = member_client.get(url).content.decode()
    assert "has never written to this number" in before
    assert "no window on this kind of number" in before  # the sandbox number

    with django_capture_on_commit_callbacks(execute=True):
        _inbound(cloud_number, text="Hi")
    window = CustomerWindow.objects.get(sender=cloud_number, phone=CUSTOMER)
    until = (window.last_inbound_at + timedelta(hours=24)).astimezone(
        timezone.get_fixed_timezone(240)
    )
    after = member_client.get(url).content.decode()
    assert f"until {until:%Y-%m-%d %H:%M} (Asia/Baku)" in after


def test_a_replayed_old_inbound_never_moves_the_window_back(
    cloud_number, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        _inbound(cloud_number, text="now")
        _inbound(cloud_number, text="old", at=time.time() - 3 * 86_400)
    window = CustomerWindow.objects.get(sender=cloud_number, phone=CUSTOMER)
    assert timezone.now() - window.last_inbound_at < timedelta(minutes=1)


def _logged(graph: SandboxClient) -> list[dict]:
    return graph.call("GET", f"/_sandbox/numbers/{PHONE_ID}/messages").body["data"]


def test_media_and_interactive_messages_inside_the_window_reach_the_gateway_in_metas_shapes(
    api_client_with_scopes, cloud_number, graph, credits, django_capture_on_commit_callbacks
) -> None:
    client = api_client_with_scopes("campaigns:write")
    sender = str(cloud_number.public_id)
    requests = [
        {
            "type": "image",
            "image": {"link": "https://cdn.example.com/menu.jpg", "caption": "Today's menu"},
        },
        {
            "type": "document",
            "document": {"link": "https://cdn.example.com/inv.pdf", "filename": "Invoice.pdf"},
        },
        {
            "type": "buttons",
            "buttons": {
                "body": "Shall we deliver today?",
                "footer": "iSend",
                "buttons": [{"id": "yes", "title": "Yes"}, {"id": "no", "title": "Tomorrow"}],
            },
        },
        {
            "type": "list",
            "list": {
                "body": "Choose a branch",
                "button": "Branches",
                "sections": [
                    {"title": "Baku", "rows": [{"id": "b1", "title": "Nizami st."}]},
                    {
                        "title": "Ganja",
                        "rows": [{"id": "g1", "title": "Centre", "description": "9-18"}],
                    },
                ],
            },
        },
    ]

    # given: outside the window, an image is refused like text
    refused = client.post(
        "/api/v1/messages/", {"to": CUSTOMER, "sender": sender, **requests[0]}, format="json"
    )
    assert refused.status_code == 400
    assert "24-hour customer-service window" in json.dumps(refused.json())

    # when: the contact writes, then each kind is sent
    with django_capture_on_commit_callbacks(execute=True):
        _inbound(cloud_number, text="Menu please")
    for body in requests:
        answer = client.post(
            "/api/v1/messages/", {"to": CUSTOMER, "sender": sender, **body}, format="json"
        )
        assert answer.status_code == 201, answer.content
    _drain(cloud_number)

    # then: the gateway received Meta's documented payloads
    logged = {entry["type"]: entry for entry in _logged(graph)}
    assert logged["image"]["image"] == {
        "link": "https://cdn.example.com/menu.jpg",
        "caption": "Today's menu",
    }
    assert logged["document"]["document"] == {
        "link": "https://cdn.example.com/inv.pdf",
        "filename": "Invoice.pdf",
    }
    interactive = [e["interactive"] for e in _logged(graph) if e["type"] == "interactive"]
    assert interactive == [
        {
            "type": "button",
            "body": {"text": "Shall we deliver today?"},
            "footer": {"text": "iSend"},
            "action": {
                "buttons": [
                    {"type": "reply", "reply": {"id": "yes", "title": "Yes"}},
                    {"type": "reply", "reply": {"id": "no", "title": "Tomorrow"}},
                ]
            },
        },
        {
            "type": "list",
            "body": {"text": "Choose a branch"},
            "action": {
                "button": "Branches",
                "sections": [
                    {"title": "Baku", "rows": [{"id": "b1", "title": "Nizami st."}]},
                    {
                        "title": "Ganja",
                        "rows": [{"id": "g1", "title": "Centre", "description": "9-18"}],
                    },
                ],
            },
        },
    ]
    assert Message.objects.filter(status="failed").count() == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param(
            {
                "type": "buttons",
                "buttons": {
                    "body": "Pick",
                    "buttons": [{"id": str(i), "title": f"B{i}"} for i in range(4)],
                },
            },
            "buttons",
            id="four_buttons_case",
        ),
        pytest.param(
            {
                "type": "buttons",
                "buttons": {"body": "Pick", "buttons": [{"id": "a", "title": "x" * 21}]},
            },
            "buttons",
            id="long_title_case",
        ),
        pytest.param(
            {
                "type": "list",
                "list": {
                    "body": "Pick",
                    "button": "Open",
                    "sections": [
                        {"title": "A", "rows": [{"id": f"a{i}", "title": "r"} for i in range(6)]},
                        {"title": "B", "rows": [{"id": f"b{i}", "title": "r"} for i in range(5)]},
                    ],
                },
            },
            "list",
            id="eleven_rows_case",
        ),
        pytest.param({"type": "image"}, "image", id="missing_image_case"),
        pytest.param(
            {"type": "image", "image": {"link": "not a url"}}, "image", id="bad_link_case"
        ),
    ],
)
def test_invalid_interactive_or_media_is_a_400_with_the_field_and_nothing_queued(
    api_client_with_scopes, cloud_number, credits, body, field
) -> None:
    response = api_client_with_scopes("campaigns:write").post(
        "/api/v1/messages/",
        {"to": CUSTOMER, "sender": str(cloud_number.public_id), **body},
        format="json",
    )
    assert response.status_code == 400
    assert field in response.json()
    assert not Message.objects.exists()


def test_without_a_chosen_number_the_api_picks_one_whose_window_is_open(
    api_client_with_scopes, workspace, owner, cloud_number, graph, credits,
    django_capture_on_commit_callbacks,
) -> None:  # fmt: skip
    # given: a second, faster Cloud API number the contact never wrote to
    graph.register("5550778", access_token=TOKEN, display_phone_number="994501112201")
    faster = number_services.sender_connect_cloud_api(
        workspace=workspace,
        actor=owner,
        phone_number_id="5550778",
        waba_id="880001",
        access_token=TOKEN,
        app_secret=SECRET,
    )
    Sender.objects.filter(pk=faster.pk).update(throughput_per_second=500)
    with django_capture_on_commit_callbacks(execute=True):
        _inbound(cloud_number, text="Hi")

    # when: a message is sent without naming a number
    sent = api_client_with_scopes("campaigns:write").post(
        "/api/v1/messages/", {"to": CUSTOMER, "text": "Hello"}, format="json"
    )

    # then: it goes from the number the contact wrote to
    assert sent.status_code == 201
    assert sent.json()["sender"] == str(cloud_number.public_id)


def test_dashboard_reply_from_the_contact_page_respects_the_window(
    member_client, workspace, cloud_number, graph, credits, django_capture_on_commit_callbacks
) -> None:
    contact = Contact.objects.create(workspace=workspace, phone=CUSTOMER, first_name="Aysel")
    url = reverse("messaging:contact_reply", args=[workspace.slug, contact.public_id])
    form = {"number": str(cloud_number.public_id), "text": "Your order is ready"}

    # when: the owner replies before the contact wrote
    refused = member_client.post(url, form, follow=True).content.decode()

    # then: refused with the window named; nothing queued or sent
    assert "24-hour customer-service window is closed" in refused
    assert not Message.objects.exists()

    # when: the contact writes, and the owner replies again
    with django_capture_on_commit_callbacks(execute=True):
        _inbound(cloud_number, text="Is my order ready?")
    queued = member_client.post(url, form, follow=True).content.decode()
    _drain(cloud_number)

    # then: the reply went out
    assert "Reply queued" in queued
    assert Message.objects.get().body == "Your order is ready"
    assert _accepted(graph) == 1


def test_a_member_who_answers_on_one_number_sees_and_replies_from_that_number_only(
    workspace, owner, make_member, cloud_number, graph, django_capture_on_commit_callbacks
) -> None:
    from accounts.permissions import Role
    from messaging.inbox import services as inbox_services

    # given: the contact wrote to the Cloud API number; a member answers on the sandbox
    # number only (Inbox access)
    contact = Contact.objects.create(workspace=workspace, phone=CUSTOMER, first_name="Aysel")
    shown = number_services.sender_connect_sandbox(workspace=workspace, actor=owner)
    with django_capture_on_commit_callbacks(execute=True):
        _inbound(cloud_number, text="Is my order ready?")
    member = make_member(workspace, Role.MEMBER)
    inbox_services.membership_inbox_numbers_set(
        workspace=workspace, membership=member, sender_ids=[shown.pk], actor=owner
    )
    browser = Client()
    browser.force_login(member.user)

    # when: the member opens the contact
    page = browser.get(
        reverse("messaging:contact_detail", args=[workspace.slug, contact.public_id])
    )

    # then: the window box and the "Reply from" list name the sandbox number only: not when
    # the contact last wrote to the hidden number
    html = page.content.decode()
    assert html.count('data-testid="customer-window"') == 1
    assert str(shown.public_id) in html
    assert str(cloud_number.public_id) not in html
    assert cloud_number.phone_number not in html

    # and a reply posted from the hidden number is refused, nothing queued
    refused = browser.post(
        reverse("messaging:contact_reply", args=[workspace.slug, contact.public_id]),
        {"number": str(cloud_number.public_id), "text": "Ready"},
        follow=True,
    )
    assert "Choose one of the workspace&#x27;s numbers." in refused.content.decode()
    assert not Message.objects.exists()
