"""The per-contact frequency cap (issue #21): with "no contact gets more than N marketing messages
per M days" on, the pre-flight counts who will be skipped, the launch reserves credits only for
the others, fan-out queues only them and the campaign records the skip; one query counts them
all (never one per contact); with the cap off nothing changes."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from billing import services as billing
from messaging.campaigns import services as campaigns
from messaging.campaigns.models import Campaign, Message
from messaging.contacts.audience import audience_recipients
from messaging.engine.fanout import campaign_audience, fanout_chunk
from messaging.engine.frequency import frequency_capped_count

pytestmark = pytest.mark.django_db


def _draft(workspace, owner, template, number, name: str) -> Campaign:
    return campaigns.campaign_create(
        workspace=workspace,
        actor=owner,
        name=name,
        template=template,
        senders=[number],
        audience={},
    )


def test_the_frequency_cap_skips_contacts_that_had_their_fill_and_reports_them(
    workspace, owner, member_client, engine_sandbox, sandbox_number, contacts, credits, template
):
    # given: at most 1 marketing message per contact per 7 days; 10 contacts got one today
    campaigns.sending_policy_update(
        workspace=workspace,
        actor=owner,
        max_risk_score=None,
        frequency_cap_messages=1,
        frequency_cap_days=7,
    )
    contacts(10)
    credits(100)
    number = sandbox_number()
    first = _draft(workspace, owner, template, number, "Monday")
    campaigns.campaign_launch(workspace=workspace, campaign=first, actor=owner)
    while fanout_chunk(campaign_id=first.pk):
        pass
    assert Message.objects.filter(campaign=first).count() == 10
    # and 5 new contacts since
    contacts(5, start=2_000_000)
    second = _draft(workspace, owner, template, number, "Tuesday")

    # when: the pre-flight of a second campaign to everyone runs
    preflight = campaigns.campaign_preflight(campaign=second)

    # then: the 10 are counted as skipped by the cap, 5 remain
    assert preflight["skipped_frequency_cap"] == 10
    assert preflight["reachable"] == 5
    assert preflight["credits_needed"] == 5
    page = member_client.get(
        reverse("messaging_campaigns:detail", args=[workspace.slug, second.public_id])
    ).content.decode()
    assert 'data-testid="preflight-frequency-cap">10<' in page

    # when: it launches and fans out
    available = billing.credits_balance(workspace=workspace).available
    campaigns.campaign_launch(
        workspace=workspace, campaign=second, actor=owner, expected_recipients=5
    )
    while fanout_chunk(campaign_id=second.pk):
        pass

    # then: only the 5 are queued and charged, the skip is recorded, and it runs
    second.refresh_from_db()
    assert Message.objects.filter(campaign=second).count() == 5
    assert (second.recipients, second.credits_reserved, second.skipped_frequency_cap) == (5, 5, 10)
    assert second.status == Campaign.Status.RUNNING
    assert billing.credits_balance(workspace=workspace).available == available - 5
    new_phones = set(Message.objects.filter(campaign=second).values_list("phone", flat=True))
    assert all(phone.startswith("+994502") for phone in new_phones)


def test_the_cap_counts_every_skipped_contact_in_one_query(
    workspace, owner, engine_sandbox, sandbox_number, contacts, credits, template
):
    campaigns.sending_policy_update(
        workspace=workspace,
        actor=owner,
        max_risk_score=None,
        frequency_cap_messages=2,
        frequency_cap_days=30,
    )
    contacts(300)
    credits(1000)
    number = sandbox_number()
    for name in ("One", "Two"):
        draft = _draft(workspace, owner, template, number, name)
        campaigns.campaign_launch(workspace=workspace, campaign=draft, actor=owner)
        while fanout_chunk(campaign_id=draft.pk):
            pass
    third = _draft(workspace, owner, template, number, "Three")
    recipients = audience_recipients(workspace=workspace, audience=campaign_audience(third))

    with CaptureQueriesContext(connection) as queries:
        skipped = frequency_capped_count(third, recipients)

    assert skipped == 300
    assert len(queries) == 2  # the workspace's policy, then one COUNT for all 300


def test_with_the_cap_off_nobody_is_skipped(
    workspace, owner, engine_sandbox, sandbox_number, contacts, credits, template
):
    contacts(10)
    credits(100)
    number = sandbox_number()
    first = _draft(workspace, owner, template, number, "Monday")
    before = campaigns.campaign_preflight(campaign=first)["risk"]["reasons"]
    assert "new_contacts" in [r["code"] for r in before]  # nobody was ever messaged
    campaigns.campaign_launch(workspace=workspace, campaign=first, actor=owner)
    while fanout_chunk(campaign_id=first.pk):
        pass
    second = _draft(workspace, owner, template, number, "Tuesday")

    preflight = campaigns.campaign_preflight(campaign=second)

    assert (preflight["skipped_frequency_cap"], preflight["reachable"]) == (0, 10)
    # and the ban-risk score knows they were all messaged before (the first campaign)
    assert "new_contacts" not in [r["code"] for r in preflight["risk"]["reasons"]]
