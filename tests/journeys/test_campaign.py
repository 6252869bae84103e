"""Journeys with the product's processes running: a real Celery worker (with beat) sends
through the sandbox gateway, whose signed status webhooks reach the live server.

- An owner builds a campaign, launches it (confirming the cost) and watches the live page
  reach "Completed"; the page's counts equal the messages log's.
- A customer replies (the sandbox's control API plays the phone) and then sends STOP: the
  reply shows in Replies, and the contact is opted out."""

from __future__ import annotations

import re
from collections import Counter

from django.test import override_settings
from playwright.sync_api import expect

from billing import services as billing
from messaging.campaigns.models import Campaign, Message
from messaging.contacts.models import Contact
from messaging.content.models import MessageTemplate
from messaging.numbers import services as senders
from messaging.numbers.models import Sender
from tests.factories import MembershipFactory
from tests.reliability.conftest import wait_for

from .conftest import JOURNEY, words

pytestmark = JOURNEY

RECIPIENTS = 12


def _workspace_with_number(sandbox, contacts: int):
    """Preconditions (not the journey): an owner, contacts, a template, credits and a sandbox
    number registered with the sandbox, whose webhooks go to the live server (SITE_URL)."""
    owner = MembershipFactory(workspace__name="Baku Flowers").user
    workspace = owner.memberships.get().workspace
    Contact.objects.bulk_create(
        Contact(workspace=workspace, phone=f"+99450{4_000_101 + i:07d}", first_name=f"Client{i}")
        for i in range(contacts)
    )
    MessageTemplate.objects.create(
        workspace=workspace, name="Spring sale", variants=["Salam {{first_name}}! -20% today."]
    )
    billing.credits_adjust(workspace=workspace, amount=100, reason="journey", actor=owner)
    with override_settings(SANDBOX_GATEWAY_URL=sandbox.base_url):
        sender = senders.sender_connect_sandbox(workspace=workspace, actor=owner)
        Sender.objects.filter(pk=sender.pk).update(throughput_per_second=200, daily_cap=100_000)
        sender.refresh_from_db()
        senders._sandbox_register(sender)
    return owner, workspace, sender


def _kpi(page, label: str) -> int:
    card = page.locator("#campaign-progress .border").filter(has_text=re.compile(rf"^{label}"))
    return int(card.locator(".kpi").inner_text())


def test_launch_campaign_and_watch_it_complete(journey, worker, journey_sandbox) -> None:
    owner, workspace, sender = _workspace_with_number(journey_sandbox, RECIPIENTS)
    page = journey.new_page()
    journey.sign_in(page, owner.email)
    page.get_by_role("link", name=words("Campaigns")).first.click()
    page.get_by_role("link", name=words("New campaign")).click()
    page.get_by_label(words("Name")).fill("Spring sale")
    page.get_by_label(re.compile(r"^\s*Message template", re.I)).select_option(label="Spring sale")
    page.get_by_role("checkbox", name=re.compile(re.escape(sender.phone_number))).check()
    # A sandbox number need not be paced like a phone.
    page.get_by_label(words("Pacing on each number")).select_option(
        label="Fast: as fast as each number's limits allow"
    )
    expect(page.get_by_test_id("audience")).to_contain_text(str(RECIPIENTS))
    journey.shot(page, "builder")
    page.get_by_role("button", name=words("Save and review")).click()
    launch = page.get_by_role("button", name=words(f"Launch now to {RECIPIENTS} recipients"))
    expect(launch).to_be_enabled()
    journey.shot(page, "review")

    asked: list[str] = []

    def accept(dialog) -> None:
        asked.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    launch.click()
    assert asked == [
        f"Launch now to {RECIPIENTS} recipients? This uses up to {RECIPIENTS} credits of your 100."
    ]
    # The live page follows the worker by itself until the campaign completes.
    status = page.get_by_test_id("campaign-status")
    expect(page.get_by_text("Launched: the messages are being queued.")).to_be_visible()
    journey.shot(page, "launched")
    expect(status).to_have_text("Completed", timeout=60_000)
    journey.shot(page, "completed")

    # Let the late statuses (delivered, read) settle, then compare the page with the log.
    campaign = Campaign.objects.get(workspace=workspace)
    wait_for(
        lambda: (
            set(Message.objects.filter(campaign=campaign).values_list("status", flat=True))
            == {"read"}
        ),
        timeout=20,
        what="every message read (the sandbox reads all)",
    )
    campaign_url = page.url
    page.get_by_role("link", name=words("Campaigns")).first.click()
    page.get_by_role("link", name=words("Messages log")).click()
    page.get_by_role("combobox", name=words("Campaign")).select_option(label="Spring sale")
    page.get_by_role("button", name=words("Filter")).click()
    rows = page.get_by_test_id("message-row")
    expect(rows).to_have_count(RECIPIENTS)
    journey.shot(page, "messages log")
    statuses = Counter(rows.locator(".badge").all_inner_texts())
    assert statuses == {"Read": RECIPIENTS}  # every message sent, delivered and read

    # The campaign page counts the same (its counters follow within the engine's tick: a
    # person looking again a moment later sees them agree).
    expected = {"Sent": RECIPIENTS, "Delivered": RECIPIENTS, "Read": RECIPIENTS, "Failed": 0}
    page.goto(campaign_url)
    figures: dict[str, int] = {}
    for _ in range(20):
        figures = {label: _kpi(page, label) for label in expected}
        if figures == expected:
            break
        page.wait_for_timeout(500)
        page.reload()
    journey.shot(page, "campaign figures")
    assert figures == expected
    assert journey_sandbox.number_stats(sender.phone_number_id)["accepted"] == RECIPIENTS


def test_customer_replies_then_stops(journey, worker, journey_sandbox) -> None:
    owner, workspace, sender = _workspace_with_number(journey_sandbox, 1)
    contact = Contact.objects.get(workspace=workspace)
    page = journey.new_page()
    journey.sign_in(page, owner.email)

    # The customer writes from their phone: the sandbox plays WhatsApp's side, and its page's
    # "reply as this customer" box is that phone.
    phone = journey.new_page("customer")
    phone.goto(f"{journey_sandbox.base_url}/_sandbox/")

    def customer_says(text: str) -> None:
        row = phone.get_by_role("row").filter(has_text=sender.phone_number_id)
        row.get_by_label("customer").fill(contact.phone.lstrip("+"))
        row.get_by_label("message").fill(text)
        row.get_by_role("button", name="Reply as this customer").click()
        phone.wait_for_load_state()
        journey.shot(phone, f"customer says {text}")

    customer_says("Salam! Is the sale on Saturday too?")
    page.get_by_role("link", name=words("Campaigns")).first.click()
    page.get_by_role("link", name=words("Replies")).click()
    reply = page.get_by_test_id("reply-row").filter(has_text="Is the sale on Saturday too?")
    for _ in range(20):  # a person reloads until it arrives
        if reply.count():
            break
        page.wait_for_timeout(500)
        page.reload()
    expect(reply).to_be_visible()
    journey.shot(page, "reply")

    customer_says("STOP")
    stop = page.get_by_test_id("reply-row").filter(has_text="STOP")
    for _ in range(20):
        if stop.count():
            break
        page.wait_for_timeout(500)
        page.reload()
    expect(stop).to_contain_text("opted out")
    journey.shot(page, "stop")

    # The contact's page says so.
    page.get_by_role("link", name=words("Contacts")).first.click()
    page.get_by_role("link", name=contact.phone).click()
    expect(
        page.get_by_text(re.compile(r"Opted out on .* Campaigns skip this contact"))
    ).to_be_visible()
    journey.shot(page, "contact opted out")
    contact.refresh_from_db()
    assert contact.opted_out_at is not None
