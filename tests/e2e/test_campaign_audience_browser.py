"""In Chromium: a campaign built in the dashboard for one list (or one tag) goes to that list
(or those tag holders) only, never to every contact of the workspace.

The workspace has 50 contacts; the builder narrows them to a list of 5, or to the 3 holders of
the tag "vip". The live audience preview, the pre-flight and the launch button must all say so,
and after the launch the real sandbox gateway (a subprocess) must have accepted exactly those
messages: counted by its own statistics, and named by the recipients in the status webhooks it
posts, which go to a receiver we read instead of to the app."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
from django.db import connections
from django.test import override_settings
from playwright.sync_api import expect

from billing import services as billing
from messaging.campaigns.models import Campaign, Message
from messaging.contacts.models import Contact, ContactList, ContactListMembership
from messaging.content.models import MessageTemplate
from messaging.engine import dispatch
from messaging.gateways.base import DeliveryStatus, StatusEvent
from messaging.gateways.cloud_api import parse_webhook
from messaging.numbers import services as senders
from messaging.numbers.models import Sender
from tests.factories import PASSWORD, MembershipFactory
from tests.messaging.conftest import (  # noqa: F401  (fixtures)
    SandboxClient,
    WebhookReceiver,
    _webhook_receiver_server,
    sandbox,
    sandbox_gateway,
    webhook_receiver,
)
from tests.messaging.engine.conftest import drain_all

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

CONTACTS = 50
LIST_MEMBERS = (6, 12, 23, 31, 48)  # indexes into the 50 contacts, not the first ids
VIP_HOLDERS = (12, 17, 42)  # one of them is also on the list


@dataclass
class Scene:
    owner: object
    workspace: object
    contacts: list[Contact]
    contact_list: ContactList
    sender: Sender


def _digits(phone: str) -> str:
    return re.sub(r"\D", "", phone)


@pytest.fixture
def scene(sandbox: SandboxClient, webhook_receiver: WebhookReceiver) -> Scene:  # noqa: F811
    owner = MembershipFactory().user
    workspace = owner.memberships.get().workspace
    contacts = Contact.objects.bulk_create(
        Contact(
            workspace=workspace,
            # valid Azerbaijani mobiles (Azercell 50); none ends in 0000, which the sandbox
            # answers as "not on WhatsApp"
            phone=f"+99450{3_000_101 + i:07d}",
            first_name=f"Person{i:02d}",
            tags=(["vip"] if i in VIP_HOLDERS else []) + (["regular"] if i % 2 else []),
        )
        for i in range(CONTACTS)
    )
    contact_list = ContactList.objects.create(workspace=workspace, name="Baku shop")
    ContactListMembership.objects.bulk_create(
        ContactListMembership(workspace=workspace, contact_list=contact_list, contact=contacts[i])
        for i in LIST_MEMBERS
    )
    billing.credits_adjust(workspace=workspace, amount=1_000, reason="test credits", actor=owner)
    MessageTemplate.objects.create(
        workspace=workspace,
        name="Promo",
        variants=["{Hi|Hello} {{first_name|friend}}!", "Salam {{first_name}}"],
    )
    # One sandbox number, connected as tests/messaging/engine/conftest.py does.
    with override_settings(SANDBOX_GATEWAY_URL=sandbox.base_url):
        sender = senders.sender_connect_sandbox(workspace=workspace, actor=owner)
        Sender.objects.filter(pk=sender.pk).update(throughput_per_second=500, daily_cap=100_000)
        sender.refresh_from_db()
        senders._sandbox_register(sender)
    dispatch.limiter().reset(f"sender:{sender.pk}")
    # The sandbox's status webhooks (each names its recipient) go to our receiver: the same
    # number, registered again (an upsert) with the receiver as its callback URL.
    credentials = senders.sender_credentials(sender)
    sandbox.register(
        sender.phone_number_id,
        display_phone_number=sender.phone_number.lstrip("+"),
        access_token=credentials["access_token"],
        app_secret=credentials["app_secret"],
        callback_url=webhook_receiver.url,
        throughput_per_second=sender.throughput_per_second,
        waba_id=sender.waba_id,
    )
    return Scene(owner, workspace, contacts, contact_list, sender)


def _drain_in_worker_thread(sender: Sender) -> None:
    """`drain_all` in a thread of its own: the drainer runs an asyncio loop, and Playwright's
    sync API already runs one in the test thread (asyncio allows one per thread)."""

    def work() -> None:
        try:
            drain_all([sender])
        finally:
            connections.close_all()  # this thread's connection, so the flush is not kept waiting

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(work).result(timeout=120)


def _sandbox_statuses(receiver: WebhookReceiver) -> list[StatusEvent]:
    return [
        event
        for hook in receiver.received
        for event in parse_webhook(hook.json)
        if isinstance(event, StatusEvent)
    ]


@pytest.mark.parametrize("audience", ["list", "tag"])
def test_campaign_reaches_only_its_audience(
    page,
    live_server,
    scene: Scene,
    sandbox: SandboxClient,  # noqa: F811
    webhook_receiver: WebhookReceiver,  # noqa: F811
    audience: str,
) -> None:
    if audience == "list":
        chosen = [scene.contacts[i] for i in LIST_MEMBERS]
    else:
        chosen = [scene.contacts[i] for i in VIP_HOLDERS]
    expected = len(chosen)
    workspace, sender = scene.workspace, scene.sender

    with override_settings(SANDBOX_GATEWAY_URL=sandbox.base_url):
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("#id_login", scene.owner.email)
        page.fill("#id_password", PASSWORD)
        page.click("form button[type=submit]")
        page.wait_for_url(re.compile(r"/w/[\w-]+/$"))

        page.goto(f"{live_server.url}/w/{workspace.slug}/campaigns/new/")
        reachable = page.locator("[data-testid=audience] .text-success")
        # Before any choice the preview counts the whole workspace.
        expect(reachable).to_have_text(str(CONTACTS))

        page.fill("#id_name", f"Only the {audience} audience")
        page.select_option("#id_template", label="Promo")
        page.check(f"input[name=senders][value='{sender.pk}']")
        if audience == "list":
            page.select_option("#id_contact_list", label="Baku shop")
        else:
            expect(page.locator("#id_contact_list option:checked")).to_have_text("All contacts")
            page.locator("#id_tags_any").press_sequentially("vip")
        page.select_option("#id_pacing_preset", value="fast")

        # The live preview (an htmx partial) follows the choice.
        expect(reachable).to_have_text(str(expected))
        sample = page.locator("[data-testid=audience-sample]").inner_text()
        for contact in chosen:
            assert contact.first_name in sample, sample
        assert "Person10" not in sample  # a contact in neither audience

        page.click("text=Save and review")
        page.wait_for_url(re.compile(r"/campaigns/[0-9a-f-]{36}/$"))
        campaign = Campaign.objects.get(workspace=workspace)
        assert campaign.status == Campaign.Status.DRAFT
        if audience == "list":
            assert campaign.audience == {"list_id": str(scene.contact_list.public_id)}
        else:
            assert campaign.audience == {"tags_any": ["vip"]}

        expect(page.locator("[data-testid=preflight-reachable]")).to_have_text(str(expected))
        # The review names the audience as the user chose it (names, not ids).
        described = "List: Baku shop" if audience == "list" else "Any of the tags: vip"
        expect(page.locator("[data-testid=preflight-audience]")).to_have_text(described)
        launch = page.locator("[data-testid=launch]")
        expect(launch).to_have_text(f"Launch now to {expected} recipients")
        # Launching asks first, naming the cost (static/js/confirm.js: no inline JavaScript).
        asked: list[str] = []

        def accept(dialog) -> None:
            asked.append(dialog.message)
            dialog.accept()

        page.once("dialog", accept)
        # CELERY_TASK_ALWAYS_EAGER: fan-out runs inside the launch request.
        with page.expect_navigation():
            launch.click()
        assert asked == [
            f"Launch now to {expected} recipients? This uses up to {expected} credits of your 1000."
        ]
        expect(
            page.get_by_text(
                f"Campaign “Only the {audience} audience” launched: the messages are being queued."
            )
        ).to_be_visible()
        # Fan-out queued what was confirmed (a mismatch would pause it, "audience changed").
        expect(page.locator("[data-testid=campaign-status]")).to_have_text("Running")

        # The drainers are not kicked in tests: run them as the dispatch workers would.
        _drain_in_worker_thread(sender)
        sandbox.wait_idle()

        # The campaign page counts the same messages sent from the one number.
        page.reload()
        row = page.locator("[data-testid=per-number] tbody tr")
        expect(row).to_have_count(1)
        expect(row.locator("td").nth(1)).to_have_text("0")  # waiting
        expect(row.locator("td").nth(2)).to_have_text(str(expected))  # sent

    # Our side: one message per chosen contact, all accepted by the gateway.
    campaign.refresh_from_db()
    assert campaign.recipients == expected
    assert campaign.status in (Campaign.Status.RUNNING, Campaign.Status.COMPLETED)
    messages = list(Message.objects.filter(workspace=workspace))
    assert len(messages) == expected
    assert {m.campaign_id for m in messages} == {campaign.pk}
    assert {m.contact_id for m in messages} == {c.pk for c in chosen}
    assert {m.phone for m in messages} == {c.phone for c in chosen}
    assert {m.status for m in messages} <= {Message.Status.ACCEPTED, Message.Status.SENT}

    # The gateway's side: its own counters for the number...
    stats = sandbox.stats()
    assert set(stats["numbers"]) == {sender.phone_number_id}
    number = stats["numbers"][sender.phone_number_id]
    assert number["accepted"] == expected
    assert number["distinct"] == expected  # distinct biz_opaque_callback_data
    assert number["duplicates"] == 0
    assert number["without_callback_data"] == 0
    assert number["rejected"] == {}
    # ...and the recipients it named in its status webhooks.
    sent = [s for s in _sandbox_statuses(webhook_receiver) if s.status is DeliveryStatus.SENT]
    assert len(sent) == expected
    assert {s.account_id for s in sent} == {sender.phone_number_id}
    assert {s.recipient for s in sent} == {_digits(c.phone) for c in chosen}
    assert {s.public_id for s in sent} == {str(m.public_id) for m in messages}
