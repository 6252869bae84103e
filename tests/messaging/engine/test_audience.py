"""The audience contract: the builder, the API, the pre-flight, the preview and fan-out agree
on who a campaign reaches, and a wrong audience is refused instead of widened to everyone."""

from __future__ import annotations

import importlib
import uuid
from datetime import date, timedelta

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing import services as billing
from messaging.campaigns import services as campaigns
from messaging.campaigns.models import Campaign, Message
from messaging.contacts.audience import audience_clean, audience_counts
from messaging.contacts.models import (
    Contact,
    ContactList,
    ContactListMembership,
    Segment,
    WhatsAppStatus,
)
from messaging.engine import fanout
from messaging.numbers.models import Sender

pytestmark = pytest.mark.django_db

TAGS = ["vip", "baku", "new"]


def _people(workspace, n: int = 50) -> list[Contact]:
    """n contacts with a spread of tags, statuses, opt-outs and creation days."""
    today = timezone.now()
    rows = []
    for i in range(n):
        rows.append(
            Contact(
                workspace=workspace,
                phone=f"+99450{2_000_000 + i:07d}",
                first_name=f"P{i}",
                tags=sorted({TAGS[j] for j in range(3) if (i >> j) & 1}),
                attributes={"city": "Baku" if i % 4 == 0 else "Ganja"},
                whatsapp_status=WhatsAppStatus.INVALID if i % 11 == 5 else WhatsAppStatus.UNKNOWN,
                opted_out_at=today if i % 9 == 4 else None,
                created_at=today - timedelta(days=i % 5),
            )
        )
    return Contact.objects.bulk_create(rows)


def _list(workspace, name: str, members: list[Contact]) -> ContactList:
    contact_list = ContactList.objects.create(workspace=workspace, name=name)
    ContactListMembership.objects.bulk_create(
        ContactListMembership(workspace=workspace, contact_list=contact_list, contact=c)
        for c in members
    )
    return contact_list


def _reachable(people: list[Contact]) -> list[Contact]:
    return [
        p for p in people if p.opted_out_at is None and p.whatsapp_status != WhatsAppStatus.INVALID
    ]


def _fan_out(campaign: Campaign) -> None:
    while fanout.fanout_chunk(campaign_id=campaign.pk, chunk=7):
        pass
    campaign.refresh_from_db()


# --- the builder -----------------------------------------------------------------------------


def test_the_builder_sends_a_list_campaign_to_the_list_only(
    member_client, workspace, owner, sandbox_number, template
):
    people = _people(workspace)
    billing.credits_adjust(workspace=workspace, amount=100, reason="test", actor=owner)
    number = sandbox_number()
    five = _list(workspace, "Five", _reachable(people)[:5])
    slug = workspace.slug

    preview = member_client.get(
        reverse("messaging_campaigns:audience_preview", args=[slug]),
        {"contact_list": five.pk},
    )
    created = member_client.post(
        reverse("messaging_campaigns:new", args=[slug]),
        {"name": "List only", "template": template.pk, "senders": [number.pk],
         "contact_list": five.pk},
    )  # fmt: skip
    campaign = Campaign.objects.get(name="List only")
    page = member_client.get(created.url).content.decode()
    member_client.post(
        reverse("messaging_campaigns:action", args=[slug, campaign.public_id, "launch"]),
        {"expected_recipients": "5"},
    )
    _fan_out(campaign)

    assert campaign.audience == {"list_id": str(five.public_id)}
    assert 'data-testid="audience-reachable">5<' in preview.content.decode()
    assert 'data-testid="preflight-reachable">5<' in page
    assert "to 5 recipients" in page
    assert campaign.status == Campaign.Status.RUNNING
    assert set(Message.objects.filter(campaign=campaign).values_list("contact_id", flat=True)) == {
        m.contact_id for m in ContactListMembership.objects.filter(contact_list=five)
    }


def test_the_builder_combines_list_segment_and_tags(
    member_client, workspace, sandbox_number, template
):
    people = _people(workspace)
    number = sandbox_number()
    half = _list(workspace, "Half", people[:25])
    segment = Segment.objects.create(
        workspace=workspace, name="Baku", filters={"attributes": {"city": "Baku"}}
    )

    member_client.post(
        reverse("messaging_campaigns:new", args=[workspace.slug]),
        {"name": "Combined", "template": template.pk, "senders": [number.pk],
         "contact_list": half.pk, "segment": segment.pk, "tags_any": "vip, new",
         "tags_none": "baku"},
    )  # fmt: skip
    campaign = Campaign.objects.get(name="Combined")
    preflight = campaigns.campaign_preflight(campaign=campaign)

    expected = {
        p.phone
        for p in people[:25]
        if p.attributes["city"] == "Baku"
        and {"vip", "new"} & set(p.tags)
        and "baku" not in p.tags
        and p.opted_out_at is None
        and p.whatsapp_status != WhatsAppStatus.INVALID
    }
    assert campaign.audience == {
        "list_id": str(half.public_id),
        "segment_id": str(segment.public_id),
        "tags_any": ["new", "vip"],
        "tags_none": ["baku"],
    }
    assert preflight["reachable"] == len(expected)
    assert {s["phone"] for s in preflight["sample"]} <= expected


# --- refused input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("audience", "field"),
    [
        ({"list": "x"}, "list"),
        ({"tags": ["vip"]}, "tags"),
        ({"list_id": "not-a-uuid"}, "list_id"),
        ({"list_id": str(uuid.uuid4())}, "list_id"),
        ({"tags_any": "vip"}, "tags_any"),
        ({"tags_all": [1, 2]}, "tags_all"),
        ({"attributes": ["city"]}, "attributes"),
        ({"attributes": {"city": 3}}, "attributes"),
        ({"opt_out": "maybe"}, "opt_out"),
        ({"whatsapp_status": ["purple"]}, "whatsapp_status"),
        ({"created_after": "yesterday"}, "created_after"),
        ({"created_after": "2026-02-01", "created_before": "2026-01-01"}, "created_before"),
        ({"segment_id": str(uuid.uuid4())}, "segment_id"),
        (["vip"], "non_field_errors"),
    ],
)
def test_the_api_refuses_a_wrong_audience_with_field_errors(
    api_client_with_scopes, sandbox_number, template, audience, field
):
    number = sandbox_number()
    client = api_client_with_scopes("campaigns:write")

    response = client.post(
        reverse("api:campaign-list"),
        {"name": "Bad", "template": str(template.public_id), "senders": [str(number.public_id)],
         "audience": audience},
        format="json",
    )  # fmt: skip

    assert response.status_code == 400
    assert field in response.json()["audience"]
    assert not Campaign.objects.exists()


def test_a_foreign_list_or_segment_is_refused(
    api_client_with_scopes, other_workspace, sandbox_number, template
):
    theirs = ContactList.objects.create(workspace=other_workspace, name="Theirs")
    their_segment = Segment.objects.create(workspace=other_workspace, name="S", filters={})
    number = sandbox_number()
    client = api_client_with_scopes("campaigns:write")

    for audience in (
        {"list_id": str(theirs.public_id)},
        {"segment_id": str(their_segment.public_id)},
    ):
        response = client.post(
            reverse("api:campaign-list"),
            {"name": "Bad", "template": str(template.public_id),
             "senders": [str(number.public_id)], "audience": audience},
            format="json",
        )  # fmt: skip
        assert response.status_code == 400
        assert set(response.json()["audience"]) == set(audience)
    assert not Campaign.objects.exists()


def test_the_builder_refuses_another_workspaces_list(
    member_client, workspace, other_workspace, sandbox_number, template
):
    theirs = ContactList.objects.create(workspace=other_workspace, name="Theirs")
    number = sandbox_number()

    response = member_client.post(
        reverse("messaging_campaigns:new", args=[workspace.slug]),
        {"name": "Bad", "template": template.pk, "senders": [number.pk],
         "contact_list": theirs.pk},
    )  # fmt: skip

    assert response.status_code == 200
    assert "contact_list" in response.context["form"].errors
    assert not Campaign.objects.exists()


def test_a_stored_audience_is_validated_when_read(workspace, owner, sandbox_number, template):
    """An audience with a key the contract does not know never means "everyone"."""
    _people(workspace, 10)
    billing.credits_adjust(workspace=workspace, amount=100, reason="test", actor=owner)
    campaign = Campaign.objects.create(
        workspace=workspace, name="Old", template=template, audience={"colour": "red"}
    )
    campaign.senders.set([sandbox_number()])

    preflight = campaigns.campaign_preflight(campaign=campaign)
    with pytest.raises(Exception, match="colour"):
        campaigns.campaign_launch(workspace=workspace, campaign=campaign, actor=owner)

    assert preflight["reachable"] == 0
    assert "colour" in preflight["audience_error"]
    assert not Message.objects.exists()
    assert billing.credits_balance(workspace=workspace).available == 100


# --- the confirmed count ---------------------------------------------------------------------


def test_launch_refuses_when_the_audience_changed_since_the_preflight(
    workspace, owner, sandbox_number, template
):
    people = _people(workspace, 10)
    billing.credits_adjust(workspace=workspace, amount=100, reason="test", actor=owner)
    vip = _list(workspace, "VIP", people[:3])
    campaign = campaigns.campaign_create(
        workspace=workspace, actor=owner, name="C", template=template,
        senders=[sandbox_number()], audience={"list_id": str(vip.public_id)},
    )  # fmt: skip
    seen = campaigns.campaign_preflight(campaign=campaign)["reachable"]
    ContactListMembership.objects.create(
        workspace=workspace, contact_list=vip, contact=_reachable(people)[-1]
    )

    with pytest.raises(Exception, match="changed"):
        campaigns.campaign_launch(
            workspace=workspace, campaign=campaign, actor=owner, expected_recipients=seen
        )

    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DRAFT
    assert billing.credits_balance(workspace=workspace).available == 100


@pytest.mark.parametrize("change", ["joins", "leaves"])
def test_fan_out_that_differs_from_the_confirmed_count_pauses(
    workspace, owner, sandbox_number, template, change
):
    people = _reachable(_people(workspace, 20))
    billing.credits_adjust(workspace=workspace, amount=100, reason="test", actor=owner)
    vip = _list(workspace, "VIP", people[:4])
    campaign = campaigns.campaign_create(
        workspace=workspace, actor=owner, name="C", template=template,
        senders=[sandbox_number()], audience={"list_id": str(vip.public_id)},
    )  # fmt: skip
    # The fan-out task runs after commit (never, inside a test's transaction): drive it here.
    campaigns.campaign_launch(
        workspace=workspace, campaign=campaign, actor=owner, expected_recipients=4
    )
    if change == "joins":  # between the launch and the fan-out
        ContactListMembership.objects.create(
            workspace=workspace, contact_list=vip, contact=people[6]
        )
    else:
        Contact.objects.filter(pk=people[0].pk).update(opted_out_at=timezone.now())

    _fan_out(campaign)

    queued = Message.objects.filter(campaign=campaign).count()
    assert campaign.status == Campaign.Status.PAUSED
    assert campaign.pause_reason == Campaign.PauseReason.AUDIENCE_CHANGED
    assert queued == (4 if change == "joins" else 3)  # never more than the credits reserved
    assert campaign.credits_reserved == queued
    balance = billing.credits_balance(workspace=workspace)
    assert balance.available == 100 - queued


# --- the legacy shape ------------------------------------------------------------------------


def test_the_migration_rewrites_unsent_campaigns_and_keeps_sent_ones():
    migration = importlib.import_module("messaging.migrations.0013_campaign_audience_contract")

    assert migration.upgrade({"list": "L", "tags": ["a"]}) == {"list_id": "L", "tags_any": ["a"]}
    assert migration.upgrade({"tags_any": ["x"], "tags": ["a"]}) == {
        "tags_any": ["x"],
        "tags_all": ["a"],
    }
    assert migration.upgrade({"list_id": "L"}) == {"list_id": "L"}
    assert migration.UNSENT == ("draft", "scheduled", "launching")


def test_duplicating_an_old_campaign_copies_its_audience_in_the_contract(
    workspace, owner, sandbox_number, template
):
    people = _people(workspace, 10)
    vip = _list(workspace, "VIP", people[:2])
    old = Campaign.objects.create(
        workspace=workspace, name="Old", template=template, status=Campaign.Status.COMPLETED,
        audience={"list": str(vip.public_id), "tags": ["vip"]},
    )  # fmt: skip
    old.senders.set([sandbox_number()])

    copy = campaigns.campaign_duplicate(workspace=workspace, campaign=old, actor=owner)

    assert copy.audience == {"list_id": str(vip.public_id), "tags_any": ["vip"]}
    assert old.audience == {"list": str(vip.public_id), "tags": ["vip"]}


# --- the property ----------------------------------------------------------------------------


def _independent_filter(people, lists, segments, audience) -> set[int]:
    """Who the audience means, computed in Python from the rows, not from our SQL."""

    def matches(p: Contact, a: dict) -> bool:
        if a.get("list_id") and p.pk not in lists[a["list_id"]]:
            return False
        if a.get("segment_id") and not matches(p, segments[a["segment_id"]]):
            return False
        if a.get("tags_any") and not set(a["tags_any"]) & set(p.tags):
            return False
        if a.get("tags_all") and not set(a["tags_all"]) <= set(p.tags):
            return False
        if a.get("tags_none") and set(a["tags_none"]) & set(p.tags):
            return False
        for key, value in (a.get("attributes") or {}).items():
            if p.attributes.get(key) != value:
                return False
        if a.get("opt_out") == "opted_out" and p.opted_out_at is None:
            return False
        if a.get("opt_out") == "subscribed" and p.opted_out_at is not None:
            return False
        if a.get("whatsapp_status") and p.whatsapp_status not in a["whatsapp_status"]:
            return False
        created = timezone.localtime(p.created_at).date()
        if a.get("created_after") and created < date.fromisoformat(a["created_after"]):
            return False
        return not (a.get("created_before") and created > date.fromisoformat(a["created_before"]))

    return {
        p.pk
        for p in people
        if matches(p, audience)
        and p.opted_out_at is None
        and p.whatsapp_status != WhatsAppStatus.INVALID
    }


class _Rollback(Exception):
    pass


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_preview_preflight_and_fan_out_agree_with_an_independent_filter(
    data, workspace, owner, sandbox_number, template, member_client, api_client_with_scopes
):
    if not Contact.objects.filter(workspace=workspace).exists():
        people = _people(workspace, 40)
        _list(workspace, "Odd", people[1::2])
        _list(workspace, "Few", people[:6])
        Segment.objects.create(
            workspace=workspace, name="Baku", filters={"attributes": {"city": "Baku"}}
        )
        Segment.objects.create(workspace=workspace, name="VIP", filters={"tags_any": ["vip"]})
        billing.credits_adjust(workspace=workspace, amount=100_000, reason="test", actor=owner)
        sandbox_number()
    people = list(Contact.objects.filter(workspace=workspace))
    lists = {
        str(cl.public_id): {
            m.contact_id for m in ContactListMembership.objects.filter(contact_list=cl)
        }
        for cl in ContactList.objects.filter(workspace=workspace)
    }
    segments = {str(s.public_id): s.filters for s in Segment.objects.filter(workspace=workspace)}
    number = Sender.objects.for_workspace(workspace).get()
    api = api_client_with_scopes("campaigns:write")

    tags = st.lists(st.sampled_from(TAGS), max_size=2, unique=True)
    today = timezone.localdate()
    days_ago = st.integers(0, 5).map(lambda d: (today - timedelta(days=d)).isoformat())
    audience = data.draw(
        st.fixed_dictionaries(
            {},
            optional={
                "list_id": st.sampled_from(sorted(lists)),
                "segment_id": st.sampled_from(sorted(segments)),
                "tags_any": tags,
                "tags_all": tags,
                "tags_none": tags,
                "attributes": st.sampled_from([{"city": "Baku"}, {"city": "Ganja"}]),
                "whatsapp_status": st.lists(
                    st.sampled_from([WhatsAppStatus.UNKNOWN, WhatsAppStatus.INVALID]),
                    min_size=1,
                    max_size=2,
                    unique=True,
                ),
                "created_after": days_ago,
                "created_before": days_ago,
            },
        )  # fmt: skip
    )
    after, before = audience.get("created_after"), audience.get("created_before")
    if after and before and after > before:
        audience["created_before"] = after
    audience = {k: v for k, v in audience.items() if v}
    expected = _independent_filter(people, lists, segments, audience)
    builder_keys = {"list_id", "segment_id", "tags_any", "tags_none"}
    by_builder = set(audience) <= builder_keys and data.draw(st.booleans())

    try:
        with transaction.atomic():
            counts = audience_counts(
                workspace=workspace, audience=audience_clean(workspace=workspace, data=audience)
            )
            if by_builder:  # the builder's live preview, then its form
                choices = {
                    "contact_list": ContactList.objects.get(public_id=audience["list_id"]).pk
                    if "list_id" in audience else "",
                    "segment": Segment.objects.get(public_id=audience["segment_id"]).pk
                    if "segment_id" in audience else "",
                    "tags_any": ", ".join(audience.get("tags_any", [])),
                    "tags_none": ", ".join(audience.get("tags_none", [])),
                }  # fmt: skip
                preview = member_client.get(
                    reverse("messaging_campaigns:audience_preview", args=[workspace.slug]),
                    choices,
                ).content.decode()
                assert f'data-testid="audience-reachable">{len(expected)}<' in preview
                member_client.post(
                    reverse("messaging_campaigns:new", args=[workspace.slug]),
                    {"name": "P", "template": template.pk, "senders": [number.pk], **choices},
                )
                campaign = Campaign.objects.get(workspace=workspace, name="P")
            else:  # the API
                response = api.post(
                    reverse("api:campaign-list"),
                    {"name": "P", "template": str(template.public_id),
                     "senders": [str(number.public_id)], "audience": audience},
                    format="json",
                )  # fmt: skip
                assert response.status_code == 201, response.json()
                campaign = Campaign.objects.get(public_id=response.json()["id"])
            assert campaign.audience == audience_clean(workspace=workspace, data=audience).as_json()
            preflight = campaigns.campaign_preflight(campaign=campaign)
            assert counts.reachable == preflight["reachable"] == len(expected)
            if expected:
                campaigns.campaign_launch(
                    workspace=workspace, campaign=campaign, actor=owner,
                    expected_recipients=preflight["reachable"],
                )  # fmt: skip
                _fan_out(campaign)
                fanned = set(
                    Message.objects.filter(campaign=campaign).values_list("contact_id", flat=True)
                )
                assert fanned == expected
                assert campaign.status == Campaign.Status.RUNNING
            raise _Rollback
    except _Rollback:
        pass
