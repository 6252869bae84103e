"""Issue 16 item 5: the campaign page's figures agree. The top cards and the per-number table
come from one read and equal the messages table; a message that fails after WhatsApp took
it is refunded, the page shows the refund, and analytics' "credits used" equals the ledger;
the page keeps polling after "completed" until late statuses settle, then stops."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone

from billing.selectors import credits_moved_by_reference, credits_spent_by_reference
from messaging.analytics import selectors as stats
from messaging.campaigns.models import Campaign, Message
from messaging.engine import ingest
from messaging.engine.reactions import campaigns_refresh
from messaging.gateways.base import DeliveryStatus, ProviderError, StatusEvent, classify_error_code

from .conftest import drain_all

pytestmark = pytest.mark.django_db


def _status(sender, messages, status, code=None):
    error = ProviderError(code=code, title="Undeliverable") if code else None
    ingest.apply_events(
        sender=sender,
        events=[
            StatusEvent(
                account_id="x",
                provider_message_id=m.provider_message_id,
                status=status,
                recipient=m.phone.lstrip("+"),
                timestamp=None,
                public_id=str(m.public_id),
                error=error,
                failure=classify_error_code(code) if code else None,
            )
            for m in messages
        ],
    )


def _cards(html: str) -> dict[str, int]:
    return {k: int(v) for k, v in re.findall(r'data-testid="card-([a-z_]+)">(\d+)<', html)}


def _per_number(html: str) -> list[list[str]]:
    body = html.split('data-testid="per-number"', 1)[1].split("</tbody>", 1)[0]
    rows = re.findall(r"<tr>(.*?)</tr>", body.split("<tbody>", 1)[1], flags=re.S)
    return [re.findall(r"<td>(.*?)</td>", row, flags=re.S) for row in rows]


@pytest.fixture
def finished(member_client, workspace, sandbox_number, contacts, credits, launch):
    """30 messages over two numbers, all accepted; 4 of the first number's then fail
    (131026) and 10 are delivered."""
    contacts(30)
    credits(30)
    first, second = sandbox_number(), sandbox_number()
    campaign = launch([first, second], name="Spring sale")
    drain_all([first, second])
    on_first = list(Message.objects.filter(campaign=campaign, sender=first).order_by("id"))
    _status(first, on_first[:4], DeliveryStatus.FAILED, code=131026)
    _status(first, on_first[4:14], DeliveryStatus.DELIVERED)
    campaigns_refresh(campaign_ids=[campaign.pk])
    campaign.refresh_from_db()
    return campaign


def _progress(member_client, workspace, campaign):
    return member_client.get(
        reverse("messaging_campaigns:progress", args=[workspace.slug, campaign.public_id])
    )


def test_cards_and_per_number_table_equal_the_messages_table(
    member_client, workspace, finished
) -> None:
    html = _progress(member_client, workspace, finished).content.decode()
    counted = Message.objects.filter(campaign=finished).aggregate(
        accepted=Count("id", filter=Q(accepted_at__isnull=False)),
        delivered=Count("id", filter=Q(status__in=["delivered", "read"])),
        failed=Count("id", filter=Q(status="failed")),
        pending=Count("id", filter=Q(status__in=["queued", "sending", "ambiguous"])),
    )

    cards = _cards(html)
    assert cards["accepted"] == counted["accepted"] == 30
    assert cards["failed"] == counted["failed"] == 4
    assert cards["delivered"] == counted["delivered"] == 10
    assert cards["pending"] == counted["pending"] == 0

    rows = _per_number(html)
    assert len(rows) == 2
    # columns: number, waiting, sent, delivered, read, failed, delivery rate
    assert sum(int(r[2]) for r in rows) == cards["accepted"]
    assert sum(int(r[3]) for r in rows) == cards["delivered"]
    assert sum(int(r[5]) for r in rows) == cards["failed"]
    by_sender = dict(
        Message.objects.filter(campaign=finished, status="failed")
        .values_list("sender__phone_number")
        .annotate(n=Count("id"))
    )
    assert {r[0].split(" <span")[0].strip(): int(r[5]) for r in rows if int(r[5])} == by_sender


def test_a_failure_is_refunded_and_analytics_equals_the_ledger(
    member_client, workspace, finished
) -> None:
    ledger = credits_moved_by_reference(reference=finished.credit_reference)
    assert (ledger.consumed, ledger.refunded, ledger.used) == (30, 4, 26)

    html = re.sub(r"\s+", " ", _progress(member_client, workspace, finished).content.decode())
    assert "Credits: 26 used (30 charged when WhatsApp took the messages, 4 refunded" in html

    today = stats.default_scope(workspace=workspace).date_to  # in the workspace's zone
    overview = member_client.get(
        reverse("messaging_analytics:overview", args=[workspace.slug]),
        {"date_from": today.isoformat(), "date_to": today.isoformat()},
    )
    row = next(r for r in overview.context["campaigns"] if r["campaign"].pk == finished.pk)
    assert row["credits_used"] == ledger.used
    scope = stats.StatsScope(date_from=today, date_to=today, campaign_ids=(finished.pk,))
    assert stats.stats_totals(workspace=workspace, scope=scope)["credits_used"] == 26
    assert credits_spent_by_reference(references=[finished.credit_reference]) == {
        finished.credit_reference: 26
    }


def _polls(member_client, workspace, campaign) -> bool:
    return 'hx-trigger="every 2s"' in _progress(member_client, workspace, campaign).content.decode()


def test_the_page_polls_after_completion_until_statuses_settle(
    member_client, workspace, finished
) -> None:
    assert finished.status == Campaign.Status.COMPLETED
    # right after completion: still polling (16 accepted messages have no delivery report)
    assert _polls(member_client, workspace, finished)

    # past the quiet minute, still unsettled: still polling
    Campaign.objects.filter(pk=finished.pk).update(
        finished_at=timezone.now() - timedelta(minutes=2)
    )
    finished.refresh_from_db()
    assert _polls(member_client, workspace, finished)

    # every report is in: settled, the fragment comes back without its polling attribute
    rest = Message.objects.filter(campaign=finished, status="accepted")
    for sender in {m.sender for m in rest}:
        _status(sender, list(rest.filter(sender=sender)), DeliveryStatus.DELIVERED)
    assert not _polls(member_client, workspace, finished)

    # and a campaign whose late reports never come stops after the settle limit
    Message.objects.filter(campaign=finished, status="delivered").update(status="sent")
    Campaign.objects.filter(pk=finished.pk).update(
        finished_at=timezone.now() - timedelta(minutes=16)
    )
    assert not _polls(member_client, workspace, finished)


def test_a_message_failed_after_acceptance_counts_once_in_progress(
    member_client, workspace, finished
) -> None:
    """The 4 that failed after WhatsApp took them are accepted and failed: counted in both,
    the campaigns list showed a finished campaign at 113%."""
    listing = member_client.get(reverse("messaging_campaigns:list", args=[workspace.slug]))

    assert (finished.count_accepted, finished.count_failed) == (30, 4)
    assert finished.done_count == 30
    assert finished.progress_percent == 100
    assert 'aria-valuenow="100"' in listing.content.decode()
    assert ">113%<" not in listing.content.decode()


def test_retry_failed_says_why_nothing_was_queued_again(member_client, workspace, finished) -> None:
    """The 4 failures are 131026 (not on WhatsApp): retrying would fail the same way."""
    answer = member_client.post(
        reverse("messaging_campaigns:action", args=[workspace.slug, finished.public_id, "retry"]),
        follow=True,
    ).content.decode()

    assert "none of its failures can be sent again now" in answer
    assert "0 failed messages queued again" not in answer
    assert Message.objects.filter(campaign=finished, status="failed").count() == 4


def test_retrying_failures_takes_them_out_of_the_lists_failed_count_at_once(
    member_client, workspace, sandbox_number, contacts, credits, launch
) -> None:
    """The campaigns list reads the counters on the row: after "Retry failed" it showed the
    campaign at 100% with its failures still counted until the first retry was sent."""
    contacts(10)
    credits(20)
    number = sandbox_number()
    campaign = launch([number], name="Retried")
    drain_all([number])
    sent = list(Message.objects.filter(campaign=campaign).order_by("id"))
    _status(number, sent[:3], DeliveryStatus.FAILED, code=131000)  # temporary: retryable
    campaigns_refresh(campaign_ids=[campaign.pk])
    campaign.refresh_from_db()
    assert (campaign.count_failed, campaign.progress_percent) == (3, 100)

    member_client.post(
        reverse("messaging_campaigns:action", args=[workspace.slug, campaign.public_id, "retry"])
    )

    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.RUNNING
    assert (campaign.count_failed, campaign.count_queued) == (0, 3)
    assert campaign.progress.sent == 70
    listing = member_client.get(reverse("messaging_campaigns:list", args=[workspace.slug]))
    assert 'data-sent="70"' in listing.content.decode()

    # sent again: each message is charged once, and the figures equal the ledger
    drain_all([number])
    campaigns_refresh(campaign_ids=[campaign.pk])
    campaign.refresh_from_db()
    assert (campaign.count_credits_used, campaign.count_failed) == (10, 0)
    spent = credits_spent_by_reference(references=[campaign.credit_reference])
    assert spent[campaign.credit_reference] == 10
    assert campaign.status == Campaign.Status.COMPLETED


def test_a_campaign_cancelled_early_shows_what_was_sent_apart_from_what_never_was(
    member_client, workspace, sandbox_number, contacts, credits, launch
) -> None:
    """Cancelled after 4 of 20 went out: its bar said 100%, as if it had sent everything."""
    contacts(20)
    credits(20)
    number = sandbox_number()
    campaign = launch([number], name="Stopped early")
    first = list(Message.objects.filter(campaign=campaign).order_by("id")[:4])
    Message.objects.filter(pk__in=[m.pk for m in first]).update(
        status=Message.Status.ACCEPTED,
        accepted_at=timezone.now(),
        provider_message_id="wamid.x",
    )
    member_client.post(
        reverse("messaging_campaigns:action", args=[workspace.slug, campaign.public_id, "cancel"])
    )
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.CANCELLED

    for page in (
        member_client.get(reverse("messaging_campaigns:list", args=[workspace.slug])),
        _progress(member_client, workspace, campaign),
    ):
        html = page.content.decode()
        assert 'data-sent="20" data-not-sent="80"' in html
        assert "20% sent, 80% skipped or cancelled" in html


def _card(html: str, key: str) -> str | None:
    found = re.search(rf'data-testid="card-{key}">([^<]*)<', html)
    return found.group(1) if found else None


def test_a_cancelled_campaign_shows_its_cancelled_messages_in_a_tile(
    member_client, workspace, sandbox_number, contacts, credits, launch
) -> None:
    """Cancelled after 6 of 20 went out, the tiles read Queued 0, Sent 6, Skipped 0: the 14
    cancelled messages appeared nowhere. A running campaign has no such tile."""
    contacts(20)
    credits(20)
    number = sandbox_number()
    campaign = launch([number], name="Stopped early")
    running = _progress(member_client, workspace, campaign).content.decode()
    assert _card(running, "pending") == "20"
    assert _card(running, "cancelled") is None

    first = list(Message.objects.filter(campaign=campaign).order_by("id")[:6])
    Message.objects.filter(pk__in=[m.pk for m in first]).update(
        status=Message.Status.ACCEPTED,
        accepted_at=timezone.now(),
        provider_message_id="wamid.x",
    )
    member_client.post(
        reverse("messaging_campaigns:action", args=[workspace.slug, campaign.public_id, "cancel"])
    )

    for page in (
        _progress(member_client, workspace, campaign),
        member_client.get(
            reverse("messaging_campaigns:detail", args=[workspace.slug, campaign.public_id])
        ),
    ):
        html = page.content.decode()
        assert _card(html, "pending") == "0"
        assert _card(html, "accepted") == "6"
        assert _card(html, "cancelled") == "14"
        assert "Cancelled or expired" in html
