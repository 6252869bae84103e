"""Automation rules over the API: CRUD with field errors, foreign ids refused, runs listed,
scopes enforced, another workspace's rule a 404, and the routes in the OpenAPI schema."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from automation import services
from automation.models import AutomationRule
from messaging.contacts import services as messaging_services
from messaging.content.models import MessageTemplate

pytestmark = pytest.mark.django_db

LIST = "api:automation-rule-list"


def _detail(rule: AutomationRule) -> str:
    return reverse("api:automation-rule-detail", args=[rule.public_id])


def test_crud(api_client_with_scopes, workspace, number, reply_template):
    client = api_client_with_scopes("automation:write")
    contact_list = messaging_services.contact_list_create(workspace=workspace, name="Leads")

    created = client.post(
        reverse(LIST),
        {
            "name": "Price",
            "sender": str(number.public_id),
            "match_kind": "contains",
            "keywords": ["Qiymət", "цена"],
            "reply_template": str(reply_template.public_id),
            "tags": ["lead"],
            "contact_list": str(contact_list.public_id),
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    rule = AutomationRule.objects.get(public_id=body["id"])
    assert body["sender"] == str(number.public_id)
    assert (body["keywords"], body["times_fired"], body["stop_after_match"]) == (
        ["Qiymət", "цена"],
        0,
        True,
    )

    listed = client.get(reverse(LIST)).json()["results"]
    assert [r["id"] for r in listed] == [body["id"]]

    patched = client.patch(_detail(rule), {"active": False, "tags": []}, format="json")
    assert patched.status_code == 200
    assert (patched.json()["active"], patched.json()["tags"]) == (False, [])
    assert patched.json()["reply_template"] == str(reply_template.public_id)

    deleted = client.delete(_detail(rule))
    assert deleted.status_code == 204
    assert not AutomationRule.objects.exists()


def test_field_errors_are_400_per_field(api_client_with_scopes):
    client = api_client_with_scopes("automation:write")

    response = client.post(
        reverse(LIST),
        {"name": "Bad", "match_kind": "regex", "pattern": "(unclosed"},
        format="json",
    )

    assert response.status_code == 400
    errors = response.json()
    assert "pattern" in errors
    assert errors["non_field_errors"] == ["Choose at least one action: a reply, tags or a list."]
    assert not AutomationRule.objects.exists()


def test_another_workspaces_template_or_list_is_400_and_writes_nothing(
    api_client_with_scopes, other_workspace, reply_template
):
    client = api_client_with_scopes("automation:write")
    foreign_template = MessageTemplate.objects.create(
        workspace=other_workspace, name="Theirs", variants=["Hi"]
    )
    foreign_list = messaging_services.contact_list_create(workspace=other_workspace, name="L")

    response = client.post(
        reverse(LIST),
        {
            "name": "Steal",
            "keywords": ["x"],
            "reply_template": str(foreign_template.public_id),
            "contact_list": str(foreign_list.public_id),
        },
        format="json",
    )

    assert response.status_code == 400
    assert set(response.json()) == {"reply_template", "contact_list"}
    assert not AutomationRule.objects.exists()


def test_runs_are_listed_per_rule(
    api_client_with_scopes, workspace, number, make_rule, receive, give_credits
):
    give_credits(1)
    rule = make_rule()
    receive(number, "price?")
    receive(number, "nothing to see")
    client = api_client_with_scopes("automation:read")

    response = client.get(reverse("api:automation-rule-runs", args=[rule.public_id]))

    assert response.status_code == 200
    runs = response.json()["results"]
    assert [(r["text"], r["outcome"]) for r in runs] == [("price?", "fired")]
    assert runs[0]["reply_message"] is not None


def test_scopes_are_enforced(api_client_with_scopes, make_rule):
    rule = make_rule()
    reader = api_client_with_scopes("automation:read")
    other = api_client_with_scopes("templates:write")

    assert reader.get(reverse(LIST)).status_code == 200
    assert reader.delete(_detail(rule)).status_code == 403
    assert other.get(reverse(LIST)).status_code == 403
    assert AutomationRule.objects.filter(pk=rule.pk).exists()


def test_cannot_access_other_workspace_automation_rule(
    api_client_with_scopes, other_workspace, make_member
):
    make_member(other_workspace)
    template = MessageTemplate.objects.create(workspace=other_workspace, name="T", variants=["t"])
    theirs = services.rule_create(
        workspace=other_workspace,
        data={"name": "Theirs", "keywords": ["x"], "reply_template": template},
    )
    client = api_client_with_scopes("automation:write")

    assert client.get(reverse(LIST)).json()["results"] == []
    assert client.get(_detail(theirs)).status_code == 404
    assert client.patch(_detail(theirs), {"name": "Mine"}, format="json").status_code == 404
    assert client.delete(_detail(theirs)).status_code == 404
    runs = reverse("api:automation-rule-runs", args=[theirs.public_id])
    assert client.get(runs).status_code == 404
    theirs.refresh_from_db()
    assert theirs.name == "Theirs"


def test_the_routes_are_in_the_openapi_schema():
    schema = Client().get(reverse("api:schema"))

    assert schema.status_code == 200
    assert b"/api/v1/automation-rules/" in schema.content
    assert b"/api/v1/automation-rules/{public_id}/runs/" in schema.content
    assert b"PaginatedAutomationRunList" in schema.content
