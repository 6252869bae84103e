"""Rule services: validation with a message per field, related objects of the workspace only,
at least one action, and an audit row for every create, change and delete."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from accounts.models import AuditEvent
from automation import services
from automation.models import AutomationRule
from messaging.contacts import services as contacts_services
from messaging.content import services as content_services
from messaging.content.models import MessageTemplate

pytestmark = pytest.mark.django_db


def test_create_cleans_keywords_and_tags_and_is_audited(workspace, owner, reply_template):
    rule = services.rule_create(
        workspace=workspace,
        actor=owner,
        data={
            "name": "  Price  ",
            "match_kind": "contains",
            "keywords": "qiymət, Qiymet\nцена",
            "tags": "lead, price, lead",
            "reply_template": reply_template,
        },
    )

    assert (rule.name, rule.keywords, rule.tags) == ("Price", ["qiymət", "цена"], ["lead", "price"])
    assert (rule.active, rule.stop_after_match, rule.sender_id) == (True, True, None)
    event = AuditEvent.objects.get(action="automation_rule.create")
    assert (event.workspace_id, event.actor_user_id, event.target_id) == (
        workspace.pk,
        owner.pk,
        str(rule.pk),
    )


def test_another_workspaces_template_list_or_number_is_a_field_error(
    workspace, other_workspace, number
):
    foreign_template = MessageTemplate.objects.create(
        workspace=other_workspace, name="Theirs", variants=["Hi"]
    )
    foreign_list = contacts_services.contact_list_create(workspace=other_workspace, name="L")
    foreign_number = type(number).objects.create(
        workspace=other_workspace, provider=number.provider, status="active"
    )

    with pytest.raises(ValidationError) as exc:
        services.rule_create(
            workspace=workspace,
            data={
                "name": "Steal",
                "keywords": ["x"],
                "reply_template": foreign_template,
                "contact_list": foreign_list,
                "sender": foreign_number,
            },
        )

    assert set(exc.value.message_dict) == {"reply_template", "contact_list", "sender"}
    assert not AutomationRule.objects.exists()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        pytest.param({"name": ""}, "name", id="name_case"),
        pytest.param({"keywords": []}, "keywords", id="no_keywords_case"),
        pytest.param({"match_kind": "fuzzy"}, "match_kind", id="kind_case"),
        pytest.param({"match_kind": "regex", "pattern": "(a|aa)+$"}, "pattern", id="slow_case"),
        pytest.param({"priority": 5000}, "priority", id="priority_case"),
        pytest.param({"reply_template": None}, "__all__", id="no_action_case"),
    ],
)
def test_bad_input_is_a_field_error_and_writes_nothing(workspace, reply_template, data, field):
    values = {"name": "R", "keywords": ["price"], "reply_template": reply_template, **data}

    with pytest.raises(ValidationError) as exc:
        services.rule_create(workspace=workspace, data=values)

    assert field in exc.value.message_dict
    assert not AutomationRule.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="automation_rule").exists()


def test_update_changes_only_the_given_fields_and_is_audited(workspace, owner, make_rule):
    rule = make_rule(tags=["a"])

    services.rule_update(
        workspace=workspace,
        rule=rule,
        actor=owner,
        data={"match_kind": "regex", "pattern": r"order\s*\d+"},
    )

    rule.refresh_from_db()
    assert (rule.match_kind, rule.pattern, rule.keywords, rule.tags) == (
        "regex",
        r"order\s*\d+",
        [],
        ["a"],
    )
    event = AuditEvent.objects.get(action="automation_rule.update")
    assert event.details == {"fields": ["keywords", "match_kind", "pattern"]}


def test_delete_is_audited(workspace, owner, make_rule):
    rule = make_rule()

    services.rule_delete(workspace=workspace, rule=rule, actor=owner)

    assert not AutomationRule.objects.exists()
    assert AuditEvent.objects.filter(action="automation_rule.delete").count() == 1


def test_deleting_the_reply_template_keeps_the_rule(workspace, make_rule, reply_template):
    rule = make_rule(tags=["kept"])

    content_services.template_delete(workspace=workspace, template=reply_template)

    rule.refresh_from_db()
    assert (rule.reply_template_id, rule.tags) == (None, ["kept"])
