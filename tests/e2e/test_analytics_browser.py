"""In Chromium: the analytics page draws its daily chart from the statistics, a click on a
figure and a click on a point of the chart open the messages behind them."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from messaging.campaigns.models import Campaign, Message
from messaging.content.models import MessageTemplate
from messaging.numbers.models import Sender
from tests.factories import PASSWORD, MembershipFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def _seed(workspace) -> Campaign:
    """Two days of a campaign: yesterday 5 delivered (2 read), today 3 delivered and 1 failed."""
    sender = Sender.objects.create(
        workspace=workspace, provider="sandbox", phone_number="+994500000001", status="active"
    )
    template = MessageTemplate.objects.create(workspace=workspace, name="T", variants=["Hi"])
    campaign = Campaign.objects.create(workspace=workspace, name="Autumn", template=template)
    now = timezone.now()
    rows = []
    for i, (days_ago, status) in enumerate(
        [(1, "read")] * 2 + [(1, "delivered")] * 3 + [(0, "delivered")] * 3 + [(0, "failed")]
    ):
        at = now - timedelta(days=days_ago)
        rows.append(
            Message(
                workspace=workspace,
                campaign=campaign,
                sender=sender,
                phone=f"+99450700{i:04d}",
                status=status,
                created_at=at,
                status_changed_at=at,
                accepted_at=at if status != "failed" else None,
                delivered_at=at if status in ("delivered", "read") else None,
                read_at=at if status == "read" else None,
                error_kind="recipient_permanent" if status == "failed" else "",
            )
        )
    Message.objects.bulk_create(rows)
    return campaign


def test_chart_and_drill_down(page, live_server) -> None:
    owner = MembershipFactory().user
    workspace = owner.memberships.get().workspace
    _seed(workspace)

    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_login", owner.email)
    page.fill("#id_password", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(re.compile(r"/w/[\w-]+/$"))

    page.click("nav >> text=Analytics")
    page.wait_for_selector("#daily-chart[data-ready='1']")
    assert page.locator("[data-testid=figure-delivered]").inner_text() == "8"
    assert page.locator("[data-testid=figure-failed]").inner_text() == "1"
    drawn = page.evaluate(
        """() => {
            const chart = Chart.getChart(document.getElementById('daily-chart'));
            return chart.data.datasets.map(d => [d.metric, d.data.slice(-2)]);
        }"""
    )
    assert drawn == [
        ["accepted", [5, 3]],
        ["delivered", [5, 3]],
        ["read", [2, 0]],
        ["failed", [0, 1]],
    ]

    # a figure opens the messages behind it
    page.click("[data-testid=figure-failed]")
    page.wait_for_selector("[data-testid=drill-title]")
    assert page.locator("[data-testid=drill-row]").count() == 1

    # a point of the chart opens that day's messages for that series
    page.go_back()
    page.wait_for_selector("#daily-chart[data-ready='1']")
    x, y = page.evaluate(
        """() => {
            const chart = Chart.getChart(document.getElementById('daily-chart'));
            const meta = chart.getDatasetMeta(2);  // read
            const point = meta.data[meta.data.length - 2];  // yesterday
            return [point.x, point.y];
        }"""
    )
    box = page.locator("#daily-chart").bounding_box()
    page.mouse.click(box["x"] + x, box["y"] + y)
    page.wait_for_url(re.compile(r"/analytics/messages/\?.*metric=read"))
    assert page.locator("[data-testid=drill-row]").count() == 2
