"""In Chromium (issue #21): the campaign's pre-flight page shows the ban-risk score with its
reasons; a high score cannot be launched until the user ticks the confirmation; one click on
"Slow down" applies the suggestion and the score drops, after which the launch goes ahead."""

from __future__ import annotations

import re

import pytest
from django.test import override_settings
from playwright.sync_api import expect

from billing import services as billing
from messaging.campaigns import services as campaigns
from messaging.campaigns.models import Campaign
from messaging.contacts.models import Contact
from messaging.content.models import MessageTemplate
from messaging.numbers import services as senders
from messaging.numbers.models import Sender
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


def test_a_risky_campaign_asks_to_confirm_and_one_click_slows_it(
    page,
    live_server,
    sandbox: SandboxClient,  # noqa: F811
) -> None:
    # given: 1,200 never-messaged contacts without consent, a fast number connected today
    owner = MembershipFactory().user
    workspace = owner.memberships.get().workspace
    Contact.objects.bulk_create(
        Contact(workspace=workspace, phone=f"+99450{4_000_101 + i:07d}", first_name=f"P{i}")
        for i in range(1200)
    )
    billing.credits_adjust(workspace=workspace, amount=2_000, reason="test credits", actor=owner)
    template = MessageTemplate.objects.create(
        workspace=workspace, name="Promo", variants=["{Hi|Hello} {{first_name|friend}}!", "Salam"]
    )
    with override_settings(SANDBOX_GATEWAY_URL=sandbox.base_url):
        sender = senders.sender_connect_sandbox(workspace=workspace, actor=owner)
    Sender.objects.filter(pk=sender.pk).update(throughput_per_second=500)
    sender.refresh_from_db()
    campaign = campaigns.campaign_create(
        workspace=workspace,
        actor=owner,
        name="Blast",
        template=template,
        senders=[sender],
        audience={},
    )
    high = campaigns.campaign_preflight(campaign=campaign)["risk"]["score"]
    assert high >= 60

    with override_settings(SANDBOX_GATEWAY_URL=sandbox.base_url):
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("#id_login", owner.email)
        page.fill("#id_password", PASSWORD)
        page.click("form button[type=submit]")
        page.wait_for_url(re.compile(r"/w/[\w-]+/$"))

        # when: the user opens the campaign's review
        page.goto(f"{live_server.url}/w/{workspace.slug}/campaigns/{campaign.public_id}/")

        # then: the score and the reasons, each with what to change
        expect(page.locator("[data-testid=risk-score]")).to_have_text(f"{high} / 100")
        reasons = page.locator("[data-testid=risk-reason]")
        expect(reasons.filter(has_text="Slow to 12 per minute.")).to_have_count(1)
        expect(reasons.filter(has_text="Split into 3 campaigns of 400")).to_have_count(1)

        # when: they click Launch without ticking the confirmation
        page.click("[data-testid=launch]")

        # then: the browser keeps the form (the box is required), nothing launches
        expect(page.locator("[data-testid=confirm-risk]")).to_be_visible()
        assert page.locator("[data-testid=confirm-risk]").evaluate("e => !e.validity.valid")
        assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.DRAFT

        # when: they apply the "slow down" suggestion with one click
        page.click("[data-testid=risk-apply-slow]")

        # then: the pace is the safe one, the score drops below "high", no confirmation needed
        expect(page.locator(".alert-success")).to_contain_text("now goes out at the safe pace")
        low = Campaign.objects.get(pk=campaign.pk)
        assert low.pacing["preset"] == "safe"
        lowered = campaigns.campaign_preflight(campaign=low)["risk"]["score"]
        assert lowered < high
        expect(page.locator("[data-testid=risk-score]")).to_have_text(f"{lowered} / 100")
        expect(reasons.filter(has_text="Slow to")).to_have_count(0)
        expect(page.locator("[data-testid=confirm-risk]")).to_have_count(0)

        # when: they launch (and accept the cost question)
        page.once("dialog", lambda dialog: dialog.accept())
        page.click("[data-testid=launch]")
        expect(page.locator(".alert-success")).to_contain_text("launched")

    # then: launched, with the score it had
    launched = Campaign.objects.get(pk=campaign.pk)
    assert launched.status != Campaign.Status.DRAFT
    assert launched.risk_score == lowered
