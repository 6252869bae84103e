"""Journey: the team inbox. A customer answers a message on their phone (the sandbox page's
"reply as this customer" box); the agent, with the conversation open, sees the reply appear
without reloading, answers it, and the customer's side (the sandbox page) shows the answer."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from messaging.campaigns.messages import message_send
from messaging.campaigns.models import Message
from messaging.contacts.models import Contact
from tests.reliability.conftest import wait_for

from .conftest import JOURNEY
from .test_campaign import _workspace_with_number

pytestmark = JOURNEY


def test_customer_reply_answered_from_the_inbox(journey, worker, journey_sandbox) -> None:
    owner, workspace, sender = _workspace_with_number(journey_sandbox, 1)
    contact = Contact.objects.get(workspace=workspace)
    # Precondition: the shop wrote to the customer earlier (the conversation exists).
    message_send(
        workspace=workspace, to=contact.phone, text="Your bouquet is ready.", sender=sender
    )
    wait_for(
        lambda: Message.objects.filter(
            workspace=workspace, status__in=["accepted", "sent", "delivered", "read"]
        ).exists(),
        timeout=30,
        what="the first message sent",
    )

    # The agent opens the inbox and the conversation.
    page = journey.new_page()
    journey.sign_in(page, owner.email)
    page.get_by_test_id("nav-inbox").click()
    page.get_by_test_id("conversation-row").filter(has_text=contact.first_name).click()
    thread = page.get_by_test_id("thread")
    expect(thread).to_contain_text("Your bouquet is ready.")
    journey.shot(page, "conversation open")

    # The customer answers on their phone.
    phone = journey.new_page("customer")
    phone.goto(f"{journey_sandbox.base_url}/_sandbox/")
    row = phone.get_by_role("row").filter(has_text=sender.phone_number_id).first
    row.get_by_label("customer").fill(contact.phone.lstrip("+"))
    row.get_by_label("message").fill("Can you deliver it at 6pm?")
    row.get_by_role("button", name="Reply as this customer").click()
    phone.wait_for_load_state()
    journey.shot(phone, "customer replies")

    # It appears in the open conversation without a reload (the live endpoint).
    expect(
        page.get_by_test_id("thread-in").filter(has_text="Can you deliver it at 6pm?")
    ).to_be_visible(timeout=20_000)
    journey.shot(page, "reply appeared")

    # The agent answers.
    page.get_by_test_id("reply-text").fill("Yes, 6pm works. See you!")
    page.get_by_test_id("reply-send").click()
    expect(page.get_by_role("alert").filter(has_text=re.compile("Reply queued"))).to_be_visible()
    expect(page.get_by_test_id("thread-out").filter(has_text="Yes, 6pm works.")).to_be_visible()
    journey.shot(page, "answered")

    # The customer's phone shows the answer (a person reloads the sandbox page).
    answer = phone.get_by_role("row").filter(has_text=re.compile(r"Yes, 6pm works\. See you!"))
    for _ in range(40):
        if answer.count():
            break
        phone.wait_for_timeout(500)
        phone.reload()
    expect(answer.first).to_be_visible()
    expect(answer.first).to_contain_text(contact.phone.lstrip("+"))
    journey.shot(phone, "customer sees the answer")

    # The agent takes the conversation: the menu offers the members who see this number.
    menu = page.get_by_test_id("assignee")
    expect(menu.locator("option", has_text=owner.email)).to_have_count(1)
    menu.select_option(label=owner.email)
    page.get_by_role("button", name="Assign").click()
    expect(page.get_by_role("alert").filter(has_text=f"Assigned to {owner.email}.")).to_be_visible()
    expect(page.get_by_test_id("assignee")).to_have_value(str(owner.pk))
    journey.shot(page, "assigned")
