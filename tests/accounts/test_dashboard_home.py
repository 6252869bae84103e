"""The dashboard home: the get-started checklist, the week's figures from the statistics table
against the week before, campaigns in flight, credits, number health, the latest replies;
another workspace's data never shows, and the page's queries do not grow with the data."""

from __future__ import annotations

import re
import zoneinfo
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.permissions import Role
from billing import services as billing
from messaging.analytics.home import dashboard_home
from messaging.analytics.models import MessageStat
from messaging.campaigns.models import Campaign, InboundMessage, Message
from messaging.engine import ingest
from messaging.gateways.base import (
    DeliveryStatus,
    InboundMessageEvent,
    ProviderError,
    classify_error_code,
)
from messaging.numbers.models import Sender
from tests.factories import status_event

from ..messaging.engine.conftest import drain_all

pytestmark = pytest.mark.django_db


def _home(client: Client, workspace) -> str:
    response = client.get(reverse("messaging_analytics:home", args=[workspace.slug]))
    assert response.status_code == 200
    return response.content.decode()


def _testid(page: str, testid: str) -> str:
    found = re.search(rf'data-testid="{testid}"[^>]*>([^<]*)<', page)
    assert found, testid
    return found.group(1).strip()


def _reply(number: Sender, phone: str, text: str, wamid: str) -> InboundMessageEvent:
    return InboundMessageEvent(
        account_id=number.phone_number_id,
        provider_message_id=wamid,
        sender=phone.lstrip("+"),
        timestamp=None,
        kind="text",
        text=text,
    )


@pytest.fixture
def finished_campaign(sandbox_number, contacts, credits, launch):
    """Ten messages accepted; six delivered, four of them read; one failed after acceptance;
    one reply."""
    contacts(10)
    credits(25)
    number = sandbox_number()
    campaign = launch([number], name="Spring sale")
    drain_all([number])
    accepted = list(Message.objects.filter(campaign=campaign).order_by("id"))
    assert [m.status for m in accepted] == ["accepted"] * 10
    events = [status_event(m, DeliveryStatus.DELIVERED) for m in accepted[:6]]
    events += [status_event(m, DeliveryStatus.READ) for m in accepted[:4]]
    events.append(
        status_event(
            accepted[9],
            DeliveryStatus.FAILED,
            error=ProviderError(code=131049, title="Not delivered to maintain ecosystem health"),
            failure=classify_error_code(131049),
        )
    )
    ingest.apply_events(sender=number, events=events)
    ingest.apply_events(
        sender=number, events=[_reply(number, accepted[0].phone, "Yes please!", "wamid.h1")]
    )
    return campaign, number


def test_an_empty_workspace_sees_the_get_started_checklist(member_client, workspace) -> None:
    page = _home(member_client, workspace)

    assert 'data-testid="get-started"' in page
    for step in ("number", "contacts", "template", "message"):
        assert f'data-testid="step-{step}" data-done="0"' in page
    slug = workspace.slug
    assert reverse("messaging_numbers:list", args=[slug]) in page
    assert reverse("messaging:imports", args=[slug]) in page
    assert reverse("messaging:templates", args=[slug]) in page
    assert _testid(page, "kpi-accepted-value") == "0"
    assert _testid(page, "home-balance") == "0"
    assert "No campaign is running or scheduled." in page
    assert "No replies yet." in page


def test_steps_tick_as_they_are_done(member_client, workspace, contacts, template) -> None:
    contacts(3)

    page = _home(member_client, workspace)

    assert 'data-testid="step-contacts" data-done="1"' in page
    assert 'data-testid="step-template" data-done="1"' in page
    assert 'data-testid="step-number" data-done="0"' in page
    assert 'data-testid="step-message" data-done="0"' in page


def test_after_a_campaign_the_figures_are_the_week_s(
    member_client, workspace, finished_campaign
) -> None:
    campaign, number = finished_campaign

    page = _home(member_client, workspace)

    assert 'data-testid="get-started"' not in page  # every step is done
    figures = {
        key: _testid(page, f"kpi-{key}-value")
        for key in ("accepted", "delivered", "read", "replied", "failed")
    }
    assert figures == {
        "accepted": "10",
        "delivered": "6",
        "read": "4",
        "replied": "1",
        "failed": "1",
    }
    assert _testid(page, "kpi-delivered-rate") == "60.0%"
    assert _testid(page, "kpi-read-rate") == "66.7%"
    assert _testid(page, "kpi-replied-rate") == "16.7%"
    assert _testid(page, "kpi-failed-rate") == "10.0%"
    # nothing the week before: "up", without a meaningless percentage
    assert "up from 0" in page
    # the reply, linking to the inbox; the number's use of its cap today
    assert "Yes please!" in page
    assert reverse("messaging_campaigns:inbox", args=[workspace.slug]) in page
    assert "Today 10 of 100000 (0%)" in page
    # the cached balance, as billing reports it (less than the 25 given)
    available = billing.credits_balance(workspace=workspace).available
    assert available < 25
    assert _testid(page, "home-balance") == str(available)
    # completed: no longer "in progress"
    assert 'data-testid="home-campaign"' not in page


def test_the_week_is_compared_with_the_week_before(workspace, finished_campaign) -> None:
    _campaign, number = finished_campaign
    today = timezone.localdate(timezone=zoneinfo.ZoneInfo(workspace.time_zone))
    MessageStat.objects.create(
        workspace=workspace,
        sender=number,
        day=today - timedelta(days=9),
        accepted=20,
        delivered=6,
        read=4,
        failed_other=2,
        credits_used=18,
    )
    MessageStat.objects.create(  # outside both weeks
        workspace=workspace, sender=number, day=today - timedelta(days=14), accepted=500
    )

    kpis = {k["key"]: k for k in dashboard_home(workspace=workspace)["kpis"]}

    assert (kpis["accepted"]["previous"], kpis["accepted"]["direction"]) == (20, "down")
    assert (kpis["accepted"]["percent"], kpis["accepted"]["good"]) == (50, False)
    assert (kpis["delivered"]["direction"], kpis["delivered"]["percent"]) == ("flat", 0)
    assert (kpis["failed"]["direction"], kpis["failed"]["percent"]) == ("down", 50)
    assert kpis["failed"]["good"] is True  # fewer failures is good news
    assert (kpis["replied"]["direction"], kpis["replied"]["percent"]) == ("up", None)


def test_a_running_campaign_shows_with_progress_and_polls(
    member_client, workspace, sandbox_number, contacts, credits, launch
) -> None:
    contacts(8)
    credits(8)
    number = sandbox_number()
    campaign = launch([number], name="Flash sale")
    assert campaign.status == Campaign.Status.RUNNING
    partial_url = reverse("messaging_analytics:home_campaigns", args=[workspace.slug])

    page = _home(member_client, workspace)

    assert 'data-testid="home-campaign"' in page
    assert "Flash sale" in page
    assert reverse("messaging_campaigns:detail", args=[workspace.slug, campaign.public_id]) in page
    assert f'hx-get="{partial_url}"' in page
    assert _testid(page, "home-campaign-counts").startswith("0 of 8 done")

    drain_all([number])
    partial = member_client.get(partial_url)

    assert partial.status_code == 200
    body = partial.content.decode()
    assert "Flash sale" not in body  # completed: it leaves the list and the polling stops
    assert "hx-get" not in body


def test_a_half_done_campaign_shows_its_percentage(member_client, workspace, template) -> None:
    number = Sender.objects.create(
        workspace=workspace, provider="sandbox", status="active", phone_number="+994500000001"
    )
    campaign = Campaign.objects.create(
        workspace=workspace,
        name="Half way",
        template=template,
        status=Campaign.Status.RUNNING,
        recipients=200,
        count_accepted=90,
        count_credits_used=90,  # none of the 90 failed afterwards
        count_failed=10,
        count_queued=100,
    )
    campaign.senders.add(number)

    partial = member_client.get(
        reverse("messaging_analytics:home_campaigns", args=[workspace.slug])
    )

    body = partial.content.decode()
    assert 'aria-valuenow="50"' in body
    assert "100 of 200 done" in body


def test_balance_and_nearest_expiry_are_shown(member_client, workspace, credits) -> None:
    credits(250)

    page = _home(member_client, workspace)

    assert _testid(page, "home-balance") == "250"
    assert "250 credits expire on" in _testid(page, "home-expiry")


def test_another_workspace_s_data_never_appears(
    workspace, other_workspace, make_member, finished_campaign
) -> None:
    campaign, number = finished_campaign
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.RUNNING)
    stranger = Client()
    stranger.force_login(make_member(other_workspace, Role.OWNER).user)

    page = _home(stranger, other_workspace)

    assert 'data-testid="get-started"' in page
    assert 'data-done="1"' not in page
    for key in ("accepted", "delivered", "read", "replied", "failed"):
        assert _testid(page, f"kpi-{key}-value") == "0"
    assert _testid(page, "home-balance") == "0"
    assert "Spring sale" not in page
    assert "Yes please!" not in page
    assert str(number.public_id) not in page
    partial = stranger.get(
        reverse("messaging_analytics:home_campaigns", args=[other_workspace.slug])
    )
    assert "Spring sale" not in partial.content.decode()
    # and A's page is not reachable with B's membership
    assert (
        stranger.get(reverse("messaging_analytics:home", args=[workspace.slug])).status_code == 404
    )


def _grow(workspace, template, *, campaigns: int, numbers: int, replies: int) -> None:
    senders = [
        Sender.objects.create(
            workspace=workspace,
            provider="sandbox",
            status="active",
            phone_number=f"+9945{Sender.objects.count():08d}",
            phone_number_id=f"grow-{Sender.objects.count()}",
        )
        for _ in range(numbers)
    ]
    today = timezone.localdate(timezone=zoneinfo.ZoneInfo(workspace.time_zone))
    for i in range(campaigns):
        campaign = Campaign.objects.create(
            workspace=workspace,
            name=f"C{Campaign.objects.count()}",
            template=template,
            status=Campaign.Status.RUNNING if i % 2 else Campaign.Status.SCHEDULED,
            recipients=10,
            count_accepted=3,
        )
        MessageStat.objects.create(
            workspace=workspace, sender=senders[0], campaign=campaign, day=today, accepted=3
        )
    start = InboundMessage.objects.count()
    InboundMessage.objects.bulk_create(
        InboundMessage(
            workspace=workspace,
            sender=senders[0],
            phone=f"+99450{start + i:07d}",
            provider_message_id=f"wamid.grow{start + i}",
            kind="text",
            text="hi",
        )
        for i in range(replies)
    )


def test_the_page_uses_a_constant_number_of_queries(
    member_client, workspace, template, credits
) -> None:
    credits(100)
    url = reverse("messaging_analytics:home", args=[workspace.slug])
    _grow(workspace, template, campaigns=1, numbers=1, replies=1)
    member_client.get(url)  # warm the session and caches
    with CaptureQueriesContext(connection) as small:
        assert member_client.get(url).status_code == 200

    _grow(workspace, template, campaigns=12, numbers=4, replies=8)
    with CaptureQueriesContext(connection) as large:
        page = member_client.get(url)

    assert page.content.decode().count('data-testid="home-campaign"') == 10
    assert page.content.decode().count('data-testid="home-reply"') == 5
    assert page.content.decode().count('data-testid="home-number"') == 5
    assert len(large) == len(small)
    assert len(large) <= 25, [q["sql"] for q in large.captured_queries]


def test_the_week_s_figures_refresh_while_the_page_is_open(
    member_client, workspace, finished_campaign
) -> None:
    """The figures poll their own part of the page (every minute once nothing moves): a read
    receipt that arrives later shows without a reload."""
    campaign, number = finished_campaign
    page = _home(member_client, workspace)
    url = reverse("messaging_analytics:home_kpis", args=[workspace.slug])
    assert f'hx-get="{url}"' in page
    assert 'hx-trigger="every 60s"' in page

    fifth = Message.objects.filter(campaign=campaign).order_by("id")[4]
    ingest.apply_events(sender=number, events=[status_event(fifth, DeliveryStatus.READ)])
    part = member_client.get(url).content.decode()

    assert _testid(part, "kpi-read-value") == "5"
    assert 'id="home-kpis"' in part  # it replaces itself and keeps polling
