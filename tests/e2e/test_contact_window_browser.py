"""In Chromium: a member who answers on one number only (Inbox access) opens a contact. The
"24-hour window" box and the "Reply from" list name that number alone, and a reply typed and
sent from the page is queued on it."""

from __future__ import annotations

import re

import pytest
from django.test import override_settings
from playwright.sync_api import expect

from accounts.permissions import Role
from billing import services as billing
from messaging.campaigns.models import Message
from messaging.contacts.models import Contact
from messaging.inbox import services as inbox_services
from messaging.numbers import services as senders
from tests.factories import PASSWORD, MembershipFactory
from tests.messaging.conftest import (  # noqa: F401  (fixtures)
    SandboxClient,
    sandbox,
    sandbox_gateway,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_a_member_sees_and_replies_from_the_numbers_they_answer_on(
    page,
    live_server,
    sandbox: SandboxClient,  # noqa: F811
) -> None:
    # given: a workspace with two numbers; a member answers on the first only
    owner = MembershipFactory().user
    workspace = owner.memberships.get().workspace
    with override_settings(SANDBOX_GATEWAY_URL=sandbox.base_url):
        shown = senders.sender_connect_sandbox(workspace=workspace, actor=owner)
        hidden = senders.sender_connect_sandbox(workspace=workspace, actor=owner)
    member = MembershipFactory(workspace=workspace, role=Role.MEMBER)
    inbox_services.membership_inbox_numbers_set(
        workspace=workspace, membership=member, sender_ids=[shown.pk], actor=owner
    )
    billing.credits_adjust(workspace=workspace, amount=5, reason="test credits", actor=owner)
    contact = Contact.objects.create(workspace=workspace, phone="+994501112233", first_name="Aysel")
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)

    # when: the member signs in and opens the contact
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_login", member.user.email)
    page.fill("#id_password", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(re.compile(r"/w/[\w-]+/$"))
    page.goto(f"{live_server.url}/w/{workspace.slug}/contacts/{contact.public_id}/")

    # then: one window row and one number to reply from, the one they answer on
    expect(page.get_by_test_id("customer-window")).to_have_count(1)
    options = page.locator("#reply-number option")
    expect(options).to_have_count(1)
    expect(options).to_have_attribute("value", str(shown.public_id))
    assert str(hidden.public_id) not in page.content()

    # and the reply they send goes out from that number
    page.fill("#reply-text", "Your order is ready")
    page.get_by_role("button", name="Send reply").click()
    expect(page.get_by_role("alert").filter(has_text="Reply queued")).to_be_visible()
    assert list(Message.objects.values_list("sender_id", "body")) == [
        (shown.pk, "Your order is ready")
    ]
    assert problems == []
