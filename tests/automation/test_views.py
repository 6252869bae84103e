"""Automation pages: list, create, edit, delete, the "test a message" box; roles; another
workspace's template or list in a form is a form error; a rule's runs on numbers hidden from a
member (inbox access) are not listed to them."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from accounts.permissions import Role
from automation import services
from automation.models import AutomationRule, AutomationRun, RunOutcome
from core.crypto import encrypt_json
from messaging.campaigns.models import InboundMessage
from messaging.content.models import MessageTemplate
from messaging.inbox.services import membership_inbox_numbers_set
from messaging.numbers.models import Sender

pytestmark = pytest.mark.django_db


def _url(name: str, workspace, *args) -> str:
    return reverse(f"automation:{name}", args=[workspace.slug, *args])


def test_list_shows_rules_with_their_counters(member_client, workspace, make_rule):
    rule = make_rule(name="Price answer")
    AutomationRule.objects.filter(pk=rule.pk).update(times_fired=7)

    response = member_client.get(_url("rules", workspace))

    assert response.status_code == 200
    assert b"Price answer" in response.content
    assert b'data-testid="rule-row"' in response.content
    assert b"<td>7</td>" in response.content
    assert (
        _url("rules", workspace).encode()
        in member_client.get(reverse("messaging_analytics:home", args=[workspace.slug])).content
    )  # the sidebar link


def test_create_from_the_form(member_client, workspace, number, reply_template):
    response = member_client.post(
        _url("rule_create", workspace),
        {
            "name": "Qiymət",
            "sender": str(number.public_id),
            "match_kind": "contains",
            "keywords": "qiymət\nцена, price",
            "reply_template": str(reply_template.public_id),
            "tags": "lead",
            "priority": "3",
            "active": "on",
            "stop_after_match": "on",
        },
    )

    rule = AutomationRule.objects.get()
    assert response.status_code == 302
    assert response.url == _url("rule_edit", workspace, rule.public_id)
    assert (rule.sender_id, rule.keywords, rule.tags, rule.priority) == (
        number.pk,
        ["qiymət", "цена", "price"],
        ["lead"],
        3,
    )


def test_another_workspaces_template_is_a_form_error(member_client, workspace, other_workspace):
    foreign = MessageTemplate.objects.create(workspace=other_workspace, name="X", variants=["x"])

    response = member_client.post(
        _url("rule_create", workspace),
        {
            "name": "Steal",
            "match_kind": "contains",
            "keywords": "price",
            "reply_template": str(foreign.public_id),
            "priority": "0",
        },
    )

    assert response.status_code == 200
    assert "reply_template" in response.context["form"].errors
    assert not AutomationRule.objects.exists()


def test_service_errors_show_on_the_form(member_client, workspace):
    response = member_client.post(
        _url("rule_create", workspace),
        {"name": "Nothing", "match_kind": "regex", "pattern": "(a|aa)+$", "priority": "0"},
    )

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "pattern" in errors
    assert "__all__" in errors  # no action chosen
    assert not AutomationRule.objects.exists()


def test_edit_shows_runs_and_saves(member_client, workspace, make_rule):
    rule = make_rule()

    page = member_client.get(_url("rule_edit", workspace, rule.public_id))
    saved = member_client.post(
        _url("rule_edit", workspace, rule.public_id),
        {
            "name": "Renamed",
            "match_kind": "exact",
            "keywords": "price",
            "reply_template": str(rule.reply_template.public_id),
            "priority": "0",
        },
    )

    assert page.status_code == 200
    assert b"This rule has not fired yet." in page.content
    assert saved.status_code == 302
    rule.refresh_from_db()
    assert (rule.name, rule.match_kind, rule.active) == ("Renamed", "exact", False)


def test_delete(member_client, workspace, make_rule):
    rule = make_rule()

    response = member_client.post(_url("rule_delete", workspace, rule.public_id))

    assert response.status_code == 302
    assert not AutomationRule.objects.exists()


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx_case", "plain_post_case"])
def test_test_box_names_the_rule_that_would_fire(member_client, workspace, make_rule, htmx):
    make_rule(name="Price answer")
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}

    hit = member_client.post(_url("rule_test", workspace), {"text": "QİYMƏT?"}, **headers)
    miss = member_client.post(_url("rule_test", workspace), {"text": "salam"}, **headers)
    stop = member_client.post(_url("rule_test", workspace), {"text": "STOP"}, **headers)

    assert b"Price answer" in hit.content
    assert b"No rule matches this message." in miss.content
    assert b"This is an opt-out reply" in stop.content


def test_a_viewer_sees_rules_but_cannot_change_them(workspace, make_member, make_rule):
    rule = make_rule()
    client = Client()
    client.force_login(make_member(workspace, Role.VIEWER).user)

    listing = client.get(_url("rules", workspace))
    create = client.post(_url("rule_create", workspace), {"name": "x"})
    edit = client.post(_url("rule_edit", workspace, rule.public_id), {"name": "x"})
    delete = client.post(_url("rule_delete", workspace, rule.public_id))

    assert listing.status_code == 200
    assert (create.status_code, edit.status_code, delete.status_code) == (403, 403, 403)
    assert AutomationRule.objects.get().name == rule.name


def test_another_workspaces_rule_is_404(member_client, workspace, other_workspace, reply_template):
    template = MessageTemplate.objects.create(workspace=other_workspace, name="T", variants=["t"])
    theirs = services.rule_create(
        workspace=other_workspace,
        data={"name": "Theirs", "keywords": ["x"], "reply_template": template},
    )

    page = member_client.get(_url("rule_edit", workspace, theirs.public_id))
    delete = member_client.post(_url("rule_delete", workspace, theirs.public_id))

    assert (page.status_code, delete.status_code) == (404, 404)
    assert AutomationRule.objects.filter(pk=theirs.pk).exists()


def test_a_member_restricted_to_some_numbers_sees_only_their_runs_on_a_rule(
    workspace, owner, make_member, make_rule, number
):
    # given: a rule fired on two numbers' replies; the member sees only the first number
    hidden = Sender.objects.create(
        workspace=workspace,
        provider=Sender.Provider.SANDBOX,
        phone_number="+994550000002",
        phone_number_id=f"9{workspace.pk:014d}",
        credentials_encrypted=encrypt_json({"access_token": "t"}),
        status=Sender.Status.ACTIVE,
    )
    rule = make_rule(name="Price answer")
    for sender, text in ((number, "Shown price question"), (hidden, "Hidden price question")):
        inbound = InboundMessage.objects.create(
            workspace=workspace,
            sender=sender,
            phone="+994501234567",
            provider_message_id=f"wamid.{sender.pk}",
            kind="text",
            text=text,
        )
        AutomationRun.objects.create(
            workspace=workspace, rule=rule, inbound=inbound, outcome=RunOutcome.FIRED
        )
    member = make_member(workspace, Role.MEMBER)
    membership_inbox_numbers_set(
        workspace=workspace, membership=member, sender_ids=[number.pk], actor=owner
    )
    client = Client()
    client.force_login(member.user)

    # when: the member opens the rule
    page = client.get(_url("rule_edit", workspace, rule.public_id)).content.decode()

    # then: the run on their number is listed, the other number's reply is not
    assert "Shown price question" in page
    assert "Hidden price question" not in page
