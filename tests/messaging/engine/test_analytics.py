"""The analytics page: figures from the statistics table, drill-down to the messages behind a
figure, exports that hold the same figures as the page, filters limited to the workspace."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from messaging.campaigns.models import Campaign, Message
from messaging.engine import ingest
from messaging.gateways.base import DeliveryStatus, ProviderError, classify_error_code
from tests.factories import WorkspaceFactory, status_event

from .conftest import drain_all

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(sandbox_number, contacts, credits, launch) -> Callable[..., Campaign]:
    """A campaign to every reachable contact (12 new ones each time): 6 delivered (2 of them
    read), 3 not on WhatsApp, the rest accepted."""

    def run(name: str = "Spring sale") -> Campaign:
        contacts(12, start=3_000_000 + Campaign.objects.count() * 100)
        credits(100)  # later campaigns also reach the earlier contacts
        number = sandbox_number()
        campaign = launch([number], name=name)
        drain_all([number])
        accepted = list(Message.objects.filter(campaign=campaign).order_by("id"))
        error = ProviderError(code=131026, title="Message undeliverable")
        verdict = classify_error_code(131026)
        events = [status_event(m, DeliveryStatus.DELIVERED) for m in accepted[:6]]
        events += [status_event(m, DeliveryStatus.READ) for m in accepted[:2]]
        events += [
            status_event(m, DeliveryStatus.FAILED, error=error, failure=verdict)
            for m in accepted[6:9]
        ]
        ingest.apply_events(sender=number, events=events)
        return campaign

    return run


def _page(client, workspace, **params):
    return client.get(reverse("messaging_analytics:overview", args=[workspace.slug]), params)


def test_page_shows_totals_rates_and_failure_reasons(member_client, workspace, sent) -> None:
    sent()
    response = _page(member_client, workspace)
    assert response.status_code == 200
    totals = response.context["totals"]
    assert (totals["accepted"], totals["delivered"], totals["read"], totals["failed"]) == (
        12,
        6,
        2,
        3,
    )
    assert totals["failed_recipient"] == 3
    assert totals["delivery_rate"] == 50.0
    body = response.content.decode()
    assert 'data-testid="figure-delivered"' in body
    assert "Recipient cannot receive" in body
    assert 'id="daily-chart-data"' in body
    rows = response.context["numbers"]
    assert rows[0]["used_today"] == 12
    campaigns = response.context["campaigns"]
    assert [row["campaign"].name for row in campaigns] == ["Spring sale"]


def test_drill_down_lists_exactly_the_messages_behind_a_figure(
    member_client, workspace, sent
) -> None:
    campaign = sent()
    url = reverse("messaging_analytics:messages", args=[workspace.slug])
    response = member_client.get(url, {"metric": "failed_recipient"})
    failed = set(
        Message.objects.filter(campaign=campaign, status="failed").values_list("id", flat=True)
    )
    assert {m.id for m in response.context["rows"]} == failed
    assert len(failed) == 3
    read = member_client.get(url, {"metric": "read", "campaign": str(campaign.public_id)}).context[
        "rows"
    ]
    assert len(read) == 2

    # the contacts behind a figure, as a CSV
    export = member_client.get(url, {"metric": "delivered", "export": "contacts", "format": "csv"})
    lines = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert len(lines) == 1 + 6


def test_exports_hold_the_same_figures_as_the_page(member_client, workspace, sent) -> None:
    sent("First")
    sent("Second")
    page = _page(member_client, workspace).context
    daily_csv = _page(member_client, workspace, export="daily", format="csv")
    assert daily_csv["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(daily_csv.content.decode("utf-8-sig"))))
    header, body = rows[0], rows[1:]
    assert len(body) == len(page["daily"]) == 30
    sent_column = header.index("Sent")
    assert sum(int(r[sent_column]) for r in body) == page["totals"]["accepted"] == 12 + 21

    campaigns_xlsx = _page(member_client, workspace, export="campaigns", format="xlsx")
    sheet = load_workbook(io.BytesIO(campaigns_xlsx.content)).active
    table = [list(r) for r in sheet.iter_rows(values_only=True)]
    by_name = {row[0]: dict(zip(table[0], row, strict=True)) for row in table[1:]}
    for row in page["campaigns"]:
        exported = by_name[row["campaign"].name]
        assert (exported["Sent"], exported["Delivered"], exported["Failed"]) == (
            row["accepted"],
            row["delivered"],
            row["failed"],
        )

    for table_name in ("totals", "numbers", "failures"):
        for fmt in ("csv", "xlsx"):
            assert _page(member_client, workspace, export=table_name, format=fmt).status_code == 200


def test_filters_are_limited_to_the_workspace(member_client, workspace, sent) -> None:
    sent()
    other = WorkspaceFactory()
    foreign = Campaign.objects.create(
        workspace=other, name="Theirs", template=Campaign.objects.first().template
    )
    response = _page(member_client, workspace, campaign=str(foreign.public_id))
    assert response.status_code == 200
    assert "campaign" in response.context["form"].errors
    assert "Theirs" not in response.content.decode()

    backwards = _page(member_client, workspace, date_from="2026-05-02", date_to="2026-05-01")
    assert "The end date is before the start date." in backwards.content.decode()


def test_the_page_reads_the_statistics_in_a_constant_number_of_queries(
    member_client, workspace, sent
) -> None:
    sent("A")
    with CaptureQueriesContext(connection) as one:
        _page(member_client, workspace)
    for name in ("B", "C", "D"):
        sent(name)
    with CaptureQueriesContext(connection) as four:
        _page(member_client, workspace)
    assert len(four.captured_queries) == len(one.captured_queries)
    assert not any('"messaging_message"' in q["sql"] for q in four.captured_queries)


def test_the_stats_api_gives_the_same_figures_as_the_page(
    member_client, api_client_with_scopes, workspace, sent
) -> None:
    campaign = sent()
    page = _page(member_client, workspace).context
    client = api_client_with_scopes("stats:read")
    url = reverse("api:stats")

    body = client.get(url).json()
    for name in ("accepted", "delivered", "read", "failed", "failed_recipient", "credits_used"):
        assert body["totals"][name] == page["totals"][name]
    assert body["totals"]["delivery_rate"] == page["totals"]["delivery_rate"]

    by_day = client.get(url, {"group_by": "day"}).json()["groups"]
    assert len(by_day) == 30
    assert sum(d["accepted"] for d in by_day) == 12
    by_campaign = client.get(url, {"group_by": "campaign"}).json()["groups"]
    assert [(c["campaign"], c["delivered"]) for c in by_campaign] == [(str(campaign.public_id), 6)]
    by_number = client.get(url, {"group_by": "number"}).json()["groups"]
    assert by_number[0]["used_today"] == 12

    # bad input: a 400 with a message per field; another workspace's id is refused
    other = WorkspaceFactory()
    foreign = Campaign.objects.create(workspace=other, name="Theirs", template=campaign.template)
    bad = client.get(
        url, {"date_from": "2026-13-01", "group_by": "week", "campaign": str(foreign.public_id)}
    )
    assert bad.status_code == 400
    assert set(bad.json()) >= {"date_from", "group_by", "campaign"}

    # a key without the scope is refused
    assert api_client_with_scopes("contacts:read").get(url).status_code == 403


def test_the_campaign_table_shows_the_latest_twenty_and_links_to_all(
    member_client, workspace, sandbox_number, template
) -> None:
    from django.utils import timezone

    from messaging.analytics.models import MessageStat

    number = sandbox_number()
    today = timezone.localdate()
    for i in range(23):
        campaign = Campaign.objects.create(workspace=workspace, name=f"C{i}", template=template)
        MessageStat.objects.create(
            workspace=workspace, sender=number, campaign=campaign, day=today, accepted=i + 1
        )
    page = _page(member_client, workspace)
    assert len(page.context["campaigns"]) == 20
    assert 'data-testid="all-campaigns"' in page.content.decode()
    every = _page(member_client, workspace, campaigns="all")
    assert len(every.context["campaigns"]) == 23
    assert page.context["totals"]["accepted"] == sum(range(1, 24))


def test_rates_read_in_the_readers_language() -> None:
    """The analytics tables' rates use the language's decimal mark, as the dashboard does."""
    from django.utils import translation

    from messaging.templatetags.analytics import rate

    with translation.override("en"):
        assert rate(66.666) == "66.7%"
    with translation.override("ru"):
        assert rate(66.666) == "66,7%"
    with translation.override("az"):
        assert rate(66.666) == "66,7%"
    assert rate(None) == "—"


def test_the_sidebar_marks_the_page_being_shown(workspace, member_client) -> None:
    import re

    from django.urls import reverse

    def active(url: str) -> list[str]:
        html = member_client.get(url).content.decode()
        return re.findall(r'class="nav-link[^"]*\bactive\b[^"]*"[^>]*>([^<]+)<', html)

    assert active(reverse("messaging_analytics:home", args=[workspace.slug])) == ["Dashboard"]
    assert active(reverse("messaging_analytics:overview", args=[workspace.slug])) == ["Analytics"]


def test_the_count_of_every_message_written_is_not_called_queued(
    member_client, workspace, sent
) -> None:
    """A finished campaign read "Queued 140" on the analytics page and "Queued 0" on its own
    page: the column counts every message written, so it is labelled "Messages"."""
    sent()
    response = _page(member_client, workspace)
    labels = [str(label) for _key, label in response.context["columns"]]
    assert "Queued" not in labels
    assert labels[0] == "Messages"
    assert "<th>Queued</th>" not in response.content.decode()
    export = _page(member_client, workspace, export="daily", format="csv")
    header = next(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert "Queued" not in header
    assert "Messages" in header
    drill = member_client.get(
        reverse("messaging_analytics:messages", args=[workspace.slug]), {"metric": "created"}
    )
    assert str(drill.context["metric_label"]) == "Messages"


def test_the_stats_api_says_which_figure_is_the_dashboard_s_sent(
    member_client, api_client_with_scopes, workspace, sent
) -> None:
    sent()
    page = _page(member_client, workspace).context
    client = api_client_with_scopes("stats:read")
    body = client.get(reverse("api:stats")).json()
    # the page's "Sent" is `accepted`; `sent` is only what the gateway reported sent
    assert body["totals"]["accepted"] == page["totals"]["accepted"] == 12
    assert body["totals"]["sent"] < body["totals"]["accepted"]
    schema = client.get("/api/v1/schema/", {"format": "json"}).json()
    figures = schema["components"]["schemas"]["Figures"]["properties"]
    assert '"Sent"' in figures["accepted"]["description"]
    assert "not the dashboard" in figures["sent"]["description"]
    assert "Messages" in figures["created"]["description"]
