"""The live campaign page: per-number figures and failure classes from the statistics, the
send-rate series, and "duplicate campaign"."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from messaging.campaigns import services as campaigns
from messaging.campaigns.models import Campaign, Message
from messaging.engine import ingest
from messaging.gateways.base import DeliveryStatus, ProviderError, StatusEvent, classify_error_code
from messaging.numbers.models import Sender

from .conftest import drain_all

pytestmark = pytest.mark.django_db


def test_live_part_shows_numbers_failure_classes_and_send_rate(
    member_client, workspace, sandbox_number, contacts, credits, launch
) -> None:
    contacts(30)
    credits(30)
    first, second = sandbox_number(), sandbox_number()
    campaign = launch([first, second])
    drain_all([first, second])
    failed = Message.objects.filter(campaign=campaign).order_by("id")[:4]
    error, verdict = ProviderError(code=131026, title="Undeliverable"), classify_error_code(131026)
    ingest.apply_events(
        sender=first,
        events=[
            StatusEvent(
                account_id="x",
                provider_message_id=m.provider_message_id,
                status=DeliveryStatus.FAILED,
                recipient=m.phone.lstrip("+"),
                timestamp=None,
                public_id=str(m.public_id),
                error=error,
                failure=verdict,
            )
            for m in failed
        ],
    )

    progress = member_client.get(
        reverse("messaging_campaigns:progress", args=[workspace.slug, campaign.public_id])
    )
    rows = progress.context["per_number"]
    assert sorted(r["sender"].pk for r in rows) == sorted([first.pk, second.pk])
    assert sum(r["accepted"] for r in rows) == 30
    assert sum(r["failed"] for r in rows) == 4
    classes = progress.context["failure_classes"]
    assert [(c["metric"], c["count"]) for c in classes] == [("failed_recipient", 4)]
    assert "Recipient cannot receive" in progress.content.decode()

    page = member_client.get(
        reverse("messaging_campaigns:detail", args=[workspace.slug, campaign.public_id])
    )
    assert [row["error_code"] for row in page.context["top_errors"]] == [131026]

    rate = member_client.get(
        reverse("messaging_campaigns:send_rate", args=[workspace.slug, campaign.public_id])
    ).json()
    assert len(rate["labels"]) == len(rate["data"]) == len(rate["times"]) == 60
    # the chart's minutes on the workspace's clock (the browser's showed 12:03 beside 16:03)
    zone = ZoneInfo(workspace.time_zone or "UTC")
    last = datetime.fromtimestamp(rate["labels"][-1], tz=zone)
    assert rate["times"][-1] == last.strftime("%H:%M")
    assert sum(rate["data"]) == 30  # every accepted send is in the last hour's minutes


def test_duplicate_makes_a_draft_with_the_same_setup(
    member_client, workspace, sandbox_number, contacts, credits, launch
) -> None:
    contacts(3)
    credits(3)
    number = sandbox_number()
    campaign = launch([number])
    Campaign.objects.filter(pk=campaign.pk).update(
        send_window={"start": 9, "end": 18, "days": [0, 1]}
    )
    response = member_client.post(
        reverse(
            "messaging_campaigns:action", args=[workspace.slug, campaign.public_id, "duplicate"]
        )
    )
    copy = Campaign.objects.exclude(pk=campaign.pk).get()
    assert response.status_code == 302
    assert response["Location"].endswith(f"/campaigns/{copy.public_id}/")
    assert copy.status == Campaign.Status.DRAFT
    assert copy.name == f"Copy of {campaign.name}"
    assert copy.template_id == campaign.template_id
    assert copy.audience == campaign.audience
    assert copy.send_window == {"start": 9, "end": 18, "days": [0, 1]}
    assert list(copy.senders.all()) == [number]
    assert not Message.objects.filter(campaign=copy).exists()


def test_a_duplicate_leaves_out_a_banned_or_removed_number(
    member_client, workspace, sandbox_number, contacts, credits, launch
) -> None:
    contacts(3)
    credits(3)
    kept, banned, removed = sandbox_number(), sandbox_number(), sandbox_number()
    campaign = launch([kept, banned, removed])
    Sender.objects.filter(pk=banned.pk).update(status=Sender.Status.BANNED)
    Sender.objects.filter(pk=removed.pk).update(removed_at=timezone.now())

    member_client.post(
        reverse(
            "messaging_campaigns:action", args=[workspace.slug, campaign.public_id, "duplicate"]
        )
    )

    copy = Campaign.objects.exclude(pk=campaign.pk).get()
    assert list(copy.senders.all()) == [kept]


def test_a_test_send_goes_to_the_users_phone_through_the_engine(
    member_client, owner, workspace, sandbox_number, credits, template
) -> None:
    from billing import services as billing

    credits(5)
    number = sandbox_number()
    owner.first_name = "Leyla"
    owner.save(update_fields=["first_name"])
    campaign = campaigns.campaign_create(
        workspace=workspace,
        actor=owner,
        name="Draft",
        template=template,
        senders=[number],
        audience={},
    )
    url = reverse("messaging_campaigns:action", args=[workspace.slug, campaign.public_id, "test"])

    response = member_client.post(url, {"to": "+994 55 123 45 67"})

    assert response.status_code == 302
    shown = member_client.get(response.url).content.decode()
    assert "a test is on its way to +994 55 123 45 67" in shown
    message = Message.objects.get(campaign__isnull=True)
    assert message.phone == "+994551234567"
    assert message.sender == number
    assert "Leyla" in message.body
    assert message.priority > 0  # ahead of campaign traffic
    assert billing.credits_balance(workspace=workspace).reserved == 1
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DRAFT

    # no phone given and none on the profile: a clear error, nothing sent
    owner.phone = ""
    owner.save(update_fields=["phone"])
    member_client.post(url, {"to": ""})
    assert Message.objects.count() == 1


def test_a_draft_is_deleted_from_its_page_and_a_launched_campaign_is_not(
    member_client, workspace, owner, template, sandbox_number, contacts, credits
) -> None:
    from accounts.models import AuditEvent

    contacts(3)
    credits(3)
    number = sandbox_number()
    draft = campaigns.campaign_create(
        workspace=workspace,
        actor=owner,
        name="Trial",
        template=template,
        senders=[number],
        audience={},
    )
    page = member_client.get(
        reverse("messaging_campaigns:detail", args=[workspace.slug, draft.public_id])
    ).content.decode()
    assert 'data-testid="delete-draft"' in page

    deleted = member_client.post(
        reverse("messaging_campaigns:action", args=[workspace.slug, draft.public_id, "delete"]),
        follow=True,
    )
    assert "Draft “Trial” deleted." in deleted.content.decode()
    assert not Campaign.objects.filter(pk=draft.pk).exists()
    assert AuditEvent.objects.filter(workspace=workspace, action="campaign.deleted").count() == 1

    launched = campaigns.campaign_create(
        workspace=workspace,
        actor=owner,
        name="Live",
        template=template,
        senders=[number],
        audience={},
    )
    campaigns.campaign_launch(workspace=workspace, campaign=launched, actor=owner)
    member_client.post(
        reverse("messaging_campaigns:action", args=[workspace.slug, launched.public_id, "delete"])
    )
    assert Campaign.objects.filter(pk=launched.pk).exists()
