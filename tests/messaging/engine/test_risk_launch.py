"""The ban-risk score at launch (issue #21): shown with its reasons on the campaign's pre-flight
page and in the API; a high score asks for an explicit confirmation; the workspace's maximum
blocks launches above it with a clear message; one click applies a suggestion (slow the pace,
split the audience across days into scheduled drafts)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from accounts.permissions import Role
from messaging.campaigns import services as campaigns
from messaging.campaigns.models import Campaign, SendingPolicy
from messaging.contacts.models import ContactList, ContactListMembership

pytestmark = pytest.mark.django_db


@pytest.fixture
def risky(workspace, owner, engine_sandbox, sandbox_number, contacts, credits, template):
    """1,000 never-messaged contacts without consent, from a number connected today, fast."""
    contacts(1000)
    credits(1000)
    number = sandbox_number(rate=500)
    return campaigns.campaign_create(
        workspace=workspace,
        actor=owner,
        name="Blast",
        template=template,
        senders=[number],
        audience={},
    )


def _detail(workspace, campaign) -> str:
    return reverse("messaging_campaigns:detail", args=[workspace.slug, campaign.public_id])


def _action(workspace, campaign, action: str) -> str:
    return reverse("messaging_campaigns:action", args=[workspace.slug, campaign.public_id, action])


def test_a_high_score_is_shown_with_reasons_and_launch_asks_for_confirmation(
    workspace, member_client, risky
):
    # given: the pre-flight page of a risky campaign
    page = member_client.get(_detail(workspace, risky)).content.decode()
    preflight = campaigns.campaign_preflight(campaign=risky)

    # then: the score, its reasons with their suggestions and the confirmation box
    assert preflight["risk"]["level"] == "high"
    assert preflight["risk_needs_confirmation"] is True
    score = preflight["risk"]["score"]
    assert f'data-testid="risk-score">{score} / 100<' in page
    codes = [r["code"] for r in preflight["risk"]["reasons"]]
    assert codes == ["audience_size", "new_contacts", "no_consent", "pace"]
    assert "Split into 2 campaigns of 500 over 1 days." in page
    assert 'data-testid="risk-apply-split"' in page
    assert 'data-testid="risk-apply-slow"' in page
    assert 'data-testid="confirm-risk"' in page

    # when: the user launches without ticking the confirmation
    response = member_client.post(
        _action(workspace, risky, "launch"), {"expected_recipients": "1000"}
    )

    # then: refused with the reason, nothing launched
    text = " ".join(str(m) for m in get_messages(response.wsgi_request))
    assert f"The ban-risk score is {score} (high): confirm" in text
    risky.refresh_from_db()
    assert risky.status == Campaign.Status.DRAFT

    # when: confirmed
    member_client.post(
        _action(workspace, risky, "launch"), {"expected_recipients": "1000", "confirm_risk": "1"}
    )

    # then: launched, its score kept for the campaign page
    risky.refresh_from_db()
    assert risky.status == Campaign.Status.LAUNCHING
    assert risky.risk_score == score
    page = member_client.get(_detail(workspace, risky)).content.decode()
    assert f"Ban-risk score at launch: {score} / 100" in page


def test_the_owners_maximum_blocks_launches_above_it(workspace, owner, member_client, risky):
    # given: the owner caps the score at 40 on the sending-safety page
    response = member_client.post(
        reverse("messaging_campaigns:safety", args=[workspace.slug]),
        {"max_risk_score": "40", "frequency_cap_messages": "", "frequency_cap_days": "7"},
    )
    assert response.status_code == 302
    assert SendingPolicy.objects.get(workspace=workspace).max_risk_score == 40

    # when: the pre-flight is shown and the user launches anyway, confirming
    preflight = campaigns.campaign_preflight(campaign=risky)
    response = member_client.post(
        _action(workspace, risky, "launch"), {"expected_recipients": "1000", "confirm_risk": "1"}
    )

    # then: the pre-flight blocks it, the launch is refused with the clear message
    score = preflight["risk"]["score"]
    message = f"The ban-risk score is {score}, above the workspace's maximum of 40"
    assert preflight["can_launch"] is False
    assert any(message in b for b in preflight["blocking"])
    assert message in " ".join(str(m) for m in get_messages(response.wsgi_request))
    risky.refresh_from_db()
    assert risky.status == Campaign.Status.DRAFT


def test_one_click_slows_the_pace_and_the_score_drops(workspace, member_client, risky):
    before = campaigns.campaign_preflight(campaign=risky)["risk"]

    member_client.post(_action(workspace, risky, "slow"))

    risky.refresh_from_db()
    assert risky.pacing["preset"] == "safe"
    after = campaigns.campaign_preflight(campaign=risky)["risk"]
    assert "pace" not in [r["code"] for r in after["reasons"]]
    assert after["score"] < before["score"]


def test_one_click_splits_the_audience_across_days_into_scheduled_drafts(
    workspace, member_client, risky
):
    # when: the user splits 1,000 recipients into 4 campaigns over 2 days
    start = timezone.now()
    member_client.post(_action(workspace, risky, "split"), {"parts": "4", "days": "2"})

    # then: four drafts of 250, each on its own list, two a day
    parts = list(Campaign.objects.filter(workspace=workspace).order_by("pk"))
    assert [c.name for c in parts] == [f"Blast - part {i} of 4" for i in range(1, 5)]
    assert all(c.status == Campaign.Status.DRAFT for c in parts)
    lists = [ContactList.objects.get(public_id=c.audience["list_id"]) for c in parts]
    sizes = [ContactListMembership.objects.filter(contact_list=cl).count() for cl in lists]
    assert sizes == [250, 250, 250, 250]
    members = ContactListMembership.objects.filter(contact_list__in=lists)
    assert members.values("contact_id").distinct().count() == 1000  # nobody twice
    assert parts[0].scheduled_at is None  # the original keeps its start (now)
    assert parts[1].scheduled_at - start < timedelta(minutes=1)
    assert timedelta(days=1) <= parts[2].scheduled_at - start < timedelta(days=1, minutes=1)
    assert parts[3].scheduled_at == parts[2].scheduled_at
    assert [campaigns.campaign_preflight(campaign=c)["reachable"] for c in parts] == [250] * 4


def test_the_api_answers_the_score_and_requires_confirm_risk(
    workspace, api_client_with_scopes, risky
):
    client = api_client_with_scopes("campaigns:write")

    preflight = client.get(reverse("api:campaign-preflight", args=[risky.public_id])).json()
    assert preflight["risk"]["level"] == "high"
    assert preflight["risk_needs_confirmation"] is True
    assert preflight["risk"]["reasons"][0]["action"] == {"kind": "split", "parts": 2, "days": 1}
    assert preflight["skipped_frequency_cap"] == 0
    assert preflight["warmup_calendar"] == []

    refused = client.post(reverse("api:campaign-launch", args=[risky.public_id]), {}, format="json")
    assert refused.status_code == 400
    assert "confirm" in str(refused.json())
    risky.refresh_from_db()
    assert risky.status == Campaign.Status.DRAFT

    launched = client.post(
        reverse("api:campaign-launch", args=[risky.public_id]),
        {"confirm_risk": True},
        format="json",
    )
    assert launched.status_code == 200
    assert launched.json()["risk_score"] == preflight["risk"]["score"]


def test_the_sending_safety_page_saves_the_frequency_cap_and_refuses_members(
    workspace, owner, member_client, make_member, client
):
    # given: the workspace settings page links to it
    settings_page = member_client.get(reverse("accounts:settings", args=[workspace.slug]))
    assert 'data-testid="sending-safety-link"' in settings_page.content.decode()
    url = reverse("messaging_campaigns:safety", args=[workspace.slug])

    # when: the owner turns the frequency cap on (2 messages per 5 days)
    response = member_client.post(
        url, {"max_risk_score": "", "frequency_cap_messages": "2", "frequency_cap_days": "5"}
    )

    # then: saved, shown again, audited
    assert response.status_code == 302
    policy = SendingPolicy.objects.get(workspace=workspace)
    assert (policy.max_risk_score, policy.frequency_cap) == (None, (2, 5))
    page = member_client.get(url).content.decode()
    assert 'name="frequency_cap_messages"' in page
    assert 'value="2"' in page

    # and: a plain member may not change it
    client.force_login(make_member(workspace, Role.MEMBER).user)
    refused = client.post(
        url, {"max_risk_score": "10", "frequency_cap_messages": "", "frequency_cap_days": "7"}
    )
    assert refused.status_code == 403
    assert SendingPolicy.objects.get(workspace=workspace).max_risk_score is None
