"""In Chromium: the owner changes how long message texts are kept, in workspace settings; a
period out of bounds is a clear error on the field, and the next retention run purges by the
new period."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts import services as account_services
from messaging.campaigns.models import InboundMessage
from privacy import services as privacy
from tests.factories import PASSWORD, UserFactory
from tests.privacy.test_erasure_proof import _sender

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_the_owner_shortens_the_retention_period(page, live_server) -> None:
    owner = UserFactory(email="leyla@example.az")
    workspace = account_services.workspace_create(name="Leyla Flowers", owner=owner)
    sender = _sender(workspace)
    reply = InboundMessage.objects.create(
        workspace=workspace,
        sender=sender,
        phone="+994501234567",
        provider_message_id="wamid.old",
        kind="text",
        text="Please call me tomorrow",
        received_at=timezone.now() - timedelta(days=45),
    )
    base = live_server.url
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_login", owner.email)
    page.fill("#id_password", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(re.compile(r"/w/[\w-]+/$"))

    page.goto(f"{base}/w/{workspace.slug}/settings/")
    field = page.get_by_label("Keep message texts for (days)")
    expect(field).to_have_value("180")

    # a period below the bounds: the field says why, nothing changes
    field.fill("7")
    page.click("[data-testid=retention-save]")
    expect(page.locator("[data-testid=retention-error]")).to_contain_text(
        "Choose between 30 and 730 days"
    )
    workspace.refresh_from_db()
    assert workspace.message_retention_days is None

    # 30 days: saved, shown, and the next run purges the 45-day-old reply's text
    page.get_by_label("Keep message texts for (days)").fill("30")
    page.click("[data-testid=retention-save]")
    expect(page.locator("body")).to_contain_text("Message texts are now kept 30 days.")
    expect(page.get_by_label("Keep message texts for (days)")).to_have_value("30")
    assert privacy.message_bodies_purge() == 1
    reply.refresh_from_db()
    assert reply.text == ""

    # and the activity log says it in words
    page.goto(f"{base}/w/{workspace.slug}/activity/")
    expect(page.locator("body")).to_contain_text(
        "Message texts are now kept 30 days (before: 180 days)"
    )
