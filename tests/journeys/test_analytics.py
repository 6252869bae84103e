"""Journey: analytics drill-down. From the sidebar to the figures, from a figure to the
messages behind it, from a campaign's row to its delivered messages and to the campaign."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.e2e.test_analytics_browser import _seed
from tests.factories import MembershipFactory

from .conftest import JOURNEY, words

pytestmark = JOURNEY


def test_analytics_drill_down(journey) -> None:
    owner = MembershipFactory(workspace__name="Baku Flowers").user
    workspace = owner.memberships.get().workspace
    # Precondition: two days of a campaign "Autumn": 8 delivered (2 of them read), 1 failed.
    campaign = _seed(workspace)
    page = journey.new_page()
    journey.sign_in(page, owner.email)
    page.get_by_role("link", name=words("Analytics")).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Analytics")
    expect(page.get_by_role("img", name=re.compile("per day"))).to_be_visible()
    page.wait_for_selector("canvas[data-ready='1']")  # the chart has drawn
    journey.shot(page, "analytics")

    def figure(label: str):
        """The figure under `label` among the period's totals (a link to its messages)."""
        totals = page.get_by_test_id("totals")
        card = totals.locator("div").filter(has=page.get_by_text(label, exact=True)).first
        return card.get_by_role("link")

    expect(figure("Delivered")).to_have_text("8")
    expect(figure("Failed")).to_have_text("1")
    figure("Failed").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("Failed"))
    rows = page.get_by_role("row").filter(has_text=re.compile(r"\+99450700"))
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("+994507000008")
    journey.shot(page, "failed messages")

    page.go_back()
    campaigns = page.get_by_role("table").filter(has_text="Autumn")
    row = campaigns.get_by_role("row").filter(has_text="Autumn")
    # The campaign's row: its delivered figure opens those 8 messages.
    headers = [h.strip() for h in campaigns.get_by_role("columnheader").all_inner_texts()]
    delivered = row.get_by_role("cell").nth(headers.index("Delivered"))
    expect(delivered).to_have_text("8")
    delivered.get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("Delivered"))
    expect(page.get_by_role("row").filter(has_text=re.compile(r"\+99450700"))).to_have_count(8)
    journey.shot(page, "delivered messages of the campaign")

    page.go_back()
    page.get_by_role("link", name="Autumn", exact=True).first.click()
    page.wait_for_url(re.compile(rf"/campaigns/{campaign.public_id}/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Autumn")
    journey.shot(page, "campaign")
