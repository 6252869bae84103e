"""In Chromium, under the real CSP: a customer closes their own support ticket (the question
is asked first, by static/js/confirm.js), and a stranger who wrote is added as a contact from
the inbox with the form filled in from their WhatsApp profile."""

from __future__ import annotations

import re

import pytest

from messaging.contacts.models import Contact
from messaging.inbox.models import Conversation
from messaging.numbers.models import Sender
from support import services as support
from support.models import Ticket
from tests.factories import PASSWORD, MembershipFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def _sign_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_login", email)
    page.fill("#id_password", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(re.compile(r"/w/[\w-]+/$"))


def test_a_customer_closes_their_ticket_after_the_question(page, live_server) -> None:
    owner = MembershipFactory().user
    workspace = owner.memberships.get().workspace
    ticket = support.ticket_open(
        workspace=workspace, user=owner, subject="Invoice", category="billing", body="Where?"
    )
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    asked: list[str] = []
    _sign_in(page, live_server.url, owner.email)
    page.goto(f"{live_server.url}/w/{workspace.slug}/help/{ticket.public_id}/")

    def accept(dialog) -> None:
        asked.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    with page.expect_navigation():
        page.get_by_role("button", name="Close ticket").click()

    assert asked == ["Close this ticket? You can write on it again to reopen it."]
    assert page.get_by_text("Ticket closed. Write on it again to reopen it.").is_visible()
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.CLOSED
    assert errors == []


def test_a_stranger_is_added_as_a_contact_from_the_inbox(page, live_server) -> None:
    owner = MembershipFactory().user
    workspace = owner.memberships.get().workspace
    number = Sender.objects.create(
        workspace=workspace, provider=Sender.Provider.SANDBOX, phone_number="+994501110000"
    )
    conversation = Conversation.objects.create(
        workspace=workspace,
        sender=number,
        phone="+994507654321",
        profile_name="Aysel Quliyeva",
        last_kind="in",
        last_preview="Salam",
        unread_count=1,
    )
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    _sign_in(page, live_server.url, owner.email)

    page.goto(f"{live_server.url}/w/{workspace.slug}/inbox/")
    page.get_by_test_id("conversation-row").filter(has_text="~Aysel Quliyeva").click()
    page.wait_for_url(re.compile(rf"/{conversation.public_id}/"))
    page.get_by_test_id("add-contact").click()
    page.wait_for_url(re.compile(r"/contacts/new/"))
    assert page.locator("[name=phone]").input_value() == "+994507654321"
    assert page.locator("[name=first_name]").input_value() == "Aysel Quliyeva"
    page.locator("main form button[type=submit]").last.click()
    page.wait_for_url(re.compile(r"/contacts/[0-9a-f-]{36}/$"))

    contact = Contact.objects.get(workspace=workspace, phone="+994507654321")
    assert contact.first_name == "Aysel Quliyeva"
    assert errors == []
