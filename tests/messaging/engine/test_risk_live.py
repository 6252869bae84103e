"""The ban-risk score is live on the new-campaign form: the builder asks for it (htmx) as the
user picks numbers, the audience and what is sent, and gets the score the pre-flight will show
for the same choices, with its reasons; a choice that is not valid gets a clear message."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Workspace
from accounts.permissions import Role
from messaging.campaigns import services as campaigns
from messaging.campaigns.models import SendingPolicy
from messaging.contacts.models import ContactList, ContactListMembership
from messaging.numbers.models import Sender

pytestmark = pytest.mark.django_db


@pytest.fixture
def number(workspace: Workspace) -> Sender:
    """A sandbox number connected today, fast (500 a second)."""
    return Sender.objects.create(
        workspace=workspace,
        provider=Sender.Provider.SANDBOX,
        status=Sender.Status.ACTIVE,
        phone_number="+994502229901",
        throughput_per_second=500,
    )


@pytest.fixture
def people(contacts) -> list[Any]:
    return contacts(1000)


def _small_list(workspace: Workspace, people: list[Any], n: int = 30) -> ContactList:
    small = ContactList.objects.create(workspace=workspace, name="Regulars")
    ContactListMembership.objects.bulk_create(
        ContactListMembership(workspace=workspace, contact_list=small, contact=c)
        for c in people[:n]
    )
    return small


def _live(client: Client, workspace: Workspace, **choices: Any) -> tuple[int, str]:
    response = client.get(
        reverse("messaging_campaigns:risk_preview", args=[workspace.slug]), choices
    )
    return response.status_code, response.content.decode()


def _score(page: str) -> int:
    match = re.search(r'data-testid="risk-score">(\d+) / 100<', page)
    assert match, page
    return int(match.group(1))


def _codes(page: str) -> list[str]:
    return re.findall(r'data-testid="risk-reason" data-code="([a-z_]+)"', page)


def test_the_live_score_is_the_pre_flights_and_follows_the_audience(
    workspace, owner, member_client, number, people, template
) -> None:
    # given: the builder with the number and the template chosen, everyone as the audience
    status, page = _live(member_client, workspace, senders=number.pk, template=template.pk)

    # then: the score and its reasons, the same as the pre-flight of that campaign
    assert status == 200
    draft = campaigns.campaign_create(
        workspace=workspace,
        actor=owner,
        name="Blast",
        template=template,
        senders=[number],
        audience={},
    )
    preflight = campaigns.campaign_preflight(campaign=draft)["risk"]
    assert _score(page) == preflight["score"]
    assert _codes(page) == [r["code"] for r in preflight["reasons"]]
    assert "audience_size" in _codes(page)
    assert "Each number would message 1000 people" in page

    # when: the audience becomes a list of 30
    small = _small_list(workspace, people)
    status, smaller = _live(
        member_client, workspace, senders=number.pk, template=template.pk, contact_list=small.pk
    )

    # then: the score drops and the audience-size reason is gone
    assert status == 200
    assert _score(smaller) < _score(page)
    assert "audience_size" not in _codes(smaller)

    # and: a slower pace lowers it too
    status, slow = _live(
        member_client,
        workspace,
        senders=number.pk,
        template=template.pk,
        pacing_preset="safe",
    )
    assert "pace" in _codes(page)
    assert "pace" not in _codes(slow)
    assert _score(slow) < _score(page)


def test_the_score_shows_before_the_content_is_chosen_and_names_the_workspace_maximum(
    workspace, member_client, number, people
) -> None:
    SendingPolicy.objects.create(workspace=workspace, max_risk_score=40)

    status, page = _live(member_client, workspace, senders=number.pk)

    assert status == 200
    assert _score(page) > 40
    assert "Your workspace blocks launches above 40." in page
    assert "Choose what the campaign sends" not in page
    assert 'data-testid="risk-apply-' not in page  # nothing to apply to before it is saved


@pytest.mark.parametrize(
    ("choices_case", "message"),
    [
        ({}, "Choose at least one number to see the ban-risk score."),
        ({"contact_list": "abc"}, "List: Select a valid choice."),
        ({"pacing_preset": "custom", "pace_per_second": "-5"}, "Custom: messages per second"),
        ({"pacing_preset": "turbo"}, "Pacing on each number: Select a valid choice."),
        ({"tags_any": "x" * 5000}, "A tag has at most 64 characters."),
        ({"tags_any": "vip, new"}, ""),  # valid: a score, not an error
    ],
)
def test_bad_input_gets_a_clear_message_not_an_error_page(
    workspace, member_client, number, people, choices_case, message
) -> None:
    choices = {"senders": number.pk, **choices_case} if choices_case else {}

    status, page = _live(member_client, workspace, **choices)

    assert status == 200
    if message:
        assert 'data-testid="risk-live-error"' in page
        assert message in page
        assert 'data-testid="risk-score"' not in page
    else:
        assert 'data-testid="risk-score"' in page


def test_another_workspaces_number_or_list_is_not_used(
    workspace, other_workspace, member_client, number, people, make_member
) -> None:
    # given: a number and a list of another workspace
    theirs = Sender.objects.create(
        workspace=other_workspace,
        provider=Sender.Provider.SANDBOX,
        status=Sender.Status.ACTIVE,
        phone_number="+994502229902",
    )
    their_list = ContactList.objects.create(workspace=other_workspace, name="Theirs")

    # when: our builder names them
    _status, with_their_number = _live(member_client, workspace, senders=theirs.pk)
    _status, with_their_list = _live(
        member_client, workspace, senders=number.pk, contact_list=their_list.pk
    )

    # then: refused as invalid choices, no score computed from them
    assert "Numbers: Select a valid choice." in with_their_number
    assert "List: Select a valid choice." in with_their_list
    assert 'data-testid="risk-score"' not in with_their_number + with_their_list

    # and: a member of the other workspace cannot ask under our workspace at all
    outsider = Client()
    outsider.force_login(make_member(other_workspace, Role.OWNER).user)
    status, _page = _live(outsider, workspace, senders=number.pk)
    assert status == 404
