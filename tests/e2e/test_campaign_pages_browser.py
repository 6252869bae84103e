"""In Chromium, under the real CSP: a draft scheduled for later offers "Schedule for <time>" in
the workspace's time zone and is deleted from its page after the question; a draft is edited
from its page and keeps what the edit did not touch; the message log
finds a number typed in its local shape and pages back to the newest messages."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from playwright.sync_api import expect

from messaging.campaigns import services as campaigns
from messaging.campaigns.models import Campaign, Message
from messaging.contacts.models import Contact
from messaging.content.models import MessageTemplate
from messaging.numbers.models import Sender
from tests.factories import PASSWORD, MembershipFactory
from tests.messaging.engine.test_whatsapp_campaigns import PNG, VARIABLES, approved_sale

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def _sign_in(page, live_server, owner) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_login", owner.email)
    page.fill("#id_password", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(re.compile(r"/w/[\w-]+/$"))


def test_a_scheduled_draft_says_when_and_is_deleted_after_the_question(page, live_server) -> None:
    owner = MembershipFactory().user
    workspace = owner.memberships.get().workspace
    number = Sender.objects.create(
        workspace=workspace, provider="sandbox", status="active", phone_number="+994500000001"
    )
    Contact.objects.create(workspace=workspace, phone="+994501112233", first_name="Leyla")
    template = MessageTemplate.objects.create(
        workspace=workspace, name="Promo", variants=["Salam {{first_name}}"]
    )
    soon = (timezone.now() + timedelta(days=60)).date()  # schedules are taken within a year
    draft = campaigns.campaign_create(
        workspace=workspace,
        actor=owner,
        name="Novruz",
        template=template,
        senders=[number],
        audience={},
        scheduled_at=datetime(
            soon.year, soon.month, soon.day, 10, 46, tzinfo=ZoneInfo(workspace.time_zone)
        ),
    )
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    asked: list[str] = []
    page.on("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))

    _sign_in(page, live_server, owner)
    page.goto(f"{live_server.url}/w/{workspace.slug}/campaigns/{draft.public_id}/")
    launch = page.locator("[data-testid=launch]").inner_text()
    assert "Schedule for" in launch
    assert "10:46" in launch  # the workspace's time, as it was typed

    with page.expect_navigation():
        page.get_by_role("button", name="Delete draft").click()

    assert asked == ["Delete this draft? Nothing was sent for it; this cannot be undone."]
    assert "Draft “Novruz” deleted." in page.content()
    assert not Campaign.objects.filter(pk=draft.pk).exists()
    assert errors == []


def test_the_message_log_finds_a_local_number_and_pages_back_to_the_newest(
    page, live_server
) -> None:
    owner = MembershipFactory().user
    workspace = owner.memberships.get().workspace
    number = Sender.objects.create(
        workspace=workspace, provider="sandbox", status="active", phone_number="+994500000001"
    )
    Message.objects.bulk_create(
        Message(
            workspace=workspace,
            sender=number,
            phone=f"+9945560{i:05d}",
            body="Salam",
            status="delivered",
        )
        for i in range(60)
    )
    Message.objects.create(
        workspace=workspace, sender=number, phone="+994703000138", body="Salam", status="read"
    )
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    _sign_in(page, live_server, owner)
    page.goto(f"{live_server.url}/w/{workspace.slug}/campaigns/messages/")
    rows = page.locator("[data-testid=message-row]")
    assert rows.count() == 50
    page.get_by_role("link", name="Older").click()
    page.wait_for_url(re.compile(r"before="))
    assert rows.count() == 11
    page.locator("[data-testid=log-newest]").click()
    page.wait_for_url(re.compile(r"/messages/\?"))
    assert rows.count() == 50

    page.fill("#id_phone", "070 300 01 38")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(r"phone="))
    assert rows.count() == 1
    assert "+994703000138" in rows.first.inner_text()
    assert errors == []


def test_a_template_draft_is_edited_from_its_page_and_keeps_its_header_file(
    page, live_server, settings, tmp_path
) -> None:
    # given: a draft sending an approved template with an image header, its variables mapped
    settings.MEDIA_ROOT = tmp_path
    owner = MembershipFactory().user
    workspace = owner.memberships.get().workspace
    number = Sender.objects.create(
        workspace=workspace, provider="sandbox", status="active", phone_number="+994500000001"
    )
    Contact.objects.create(workspace=workspace, phone="+994501112233", first_name="Leyla")
    sale = approved_sale(workspace)
    draft = campaigns.campaign_create(
        workspace=workspace,
        actor=owner,
        name="Spring sale",
        whatsapp_template=sale,
        template_variables=VARIABLES,
        header_media_file=SimpleUploadedFile("sale.png", PNG, content_type="image/png"),
        senders=[number],
        audience={"tags_none": ["stop"]},
        pacing={"preset": "safe"},
    )
    stored = draft.header_media_file.name
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    # when: the owner opens it, clicks "Edit draft", renames it and saves
    _sign_in(page, live_server, owner)
    page.goto(f"{live_server.url}/w/{workspace.slug}/campaigns/{draft.public_id}/")
    page.get_by_role("link", name="Edit draft").click()
    expect(page.get_by_role("heading", name="Edit draft “Spring sale”")).to_be_visible()
    expect(page.locator("[data-testid=kept-media]")).to_contain_text("It is kept")
    expect(page.locator("#id_var_source__body\\.1")).to_have_value("first_name")
    expect(page.locator("#id_var_value__body\\.1")).to_have_value("dost")
    expect(page.locator("#id_tags_none")).to_have_value("stop")
    expect(page.locator("#id_pacing_preset")).to_have_value("safe")
    page.fill("#id_name", "Spring sale, second wave")
    with page.expect_navigation():
        page.get_by_role("button", name="Save changes").click()

    # then: the draft's page shows the new name, and the rest is as it was
    expect(page.get_by_role("heading", name="Spring sale, second wave")).to_be_visible()
    assert "Draft “Spring sale, second wave” saved." in page.content()
    edited = Campaign.objects.get(pk=draft.pk)
    assert edited.header_media_file.name == stored
    assert edited.template_variables == draft.template_variables
    assert edited.audience == draft.audience
    assert edited.pacing == draft.pacing
    assert edited.status == Campaign.Status.DRAFT
    assert errors == []


def test_a_scheduled_campaign_is_cancelled_from_its_page_after_the_question(
    page, live_server
) -> None:
    """Scheduled, its credits reserved, the page offered only Duplicate; now Cancel, after the
    question, and the credits come back."""
    from billing import services as billing
    from messaging.engine import fanout

    owner = MembershipFactory().user
    workspace = owner.memberships.get().workspace
    number = Sender.objects.create(
        workspace=workspace, provider="sandbox", status="active", phone_number="+994500000001"
    )
    Contact.objects.create(workspace=workspace, phone="+994501112233", first_name="Leyla")
    template = MessageTemplate.objects.create(
        workspace=workspace, name="Promo", variants=["Salam {{first_name}}"]
    )
    billing.credits_adjust(workspace=workspace, amount=5, reason="test credits", actor=owner)
    campaign = campaigns.campaign_create(
        workspace=workspace, actor=owner, name="Tomorrow", template=template, senders=[number],
        audience={}, scheduled_at=timezone.now() + timedelta(days=1),
    )  # fmt: skip
    campaigns.campaign_launch(workspace=workspace, campaign=campaign, actor=owner)
    fanout.fanout_chunk(campaign_id=campaign.pk)
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.SCHEDULED
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    asked: list[str] = []
    page.on("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))

    _sign_in(page, live_server, owner)
    page.goto(f"{live_server.url}/w/{workspace.slug}/campaigns/{campaign.public_id}/")
    with page.expect_navigation():
        page.get_by_role("button", name="Cancel", exact=True).click()

    assert asked == [
        "Cancel this campaign? Messages not yet sent are cancelled and their credits released."
    ]
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.CANCELLED
    assert billing.credits_balance(workspace=workspace).available == 5
    assert errors == []
