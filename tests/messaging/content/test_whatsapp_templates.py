"""WhatsApp templates against the sandbox over HTTP: sync (every page), create and submit,
Meta's refusals, delete, and the API (filter by number, another workspace's ids are 404)."""

from __future__ import annotations

import pytest

from messaging.content import services
from messaging.content.models import WhatsAppTemplate

from .conftest import sandbox_template

pytestmark = pytest.mark.django_db

BODY = {
    "type": "BODY",
    "text": "Salam {{1}}, your order {{2}} is on its way.",
    "example": {"body_text": [["Aysel", "#1042"]]},
}


def test_sync_reads_every_page(workspace, connect_number, tpl_sandbox) -> None:
    # given: 230 templates at Meta besides the starter (Meta pages them 100 at a time)
    number = connect_number()
    for i in range(230):
        sandbox_template(tpl_sandbox, number.waba_id, f"promo_{i:03d}")

    # when
    result = services.whatsapp_templates_sync(workspace=workspace, sender=number)

    # then
    assert (result.total, result.created, result.updated, result.removed) == (231, 231, 0, 0)
    rows = WhatsAppTemplate.objects.for_workspace(workspace).filter(waba_id=number.waba_id)
    assert rows.count() == 231
    assert set(rows.values_list("name", flat=True)) == {"isend_welcome"} | {
        f"promo_{i:03d}" for i in range(230)
    }
    promo = rows.get(name="promo_229")
    assert (promo.status, promo.category, promo.language, promo.parameter_format) == (
        "APPROVED",
        "MARKETING",
        "en",
        "POSITIONAL",
    )
    assert promo.components[0]["text"] == "Salam {{1}}, the spring sale starts today!"
    assert promo.meta_id
    assert promo.synced_at is not None

    # a second sync changes nothing
    again = services.whatsapp_templates_sync(workspace=workspace, sender=number)
    assert (again.total, again.created, again.updated, again.removed) == (231, 0, 0, 0)


def test_sync_applies_changes_signals_status_and_removes_gone_templates(
    workspace, connect_number, tpl_sandbox, status_changes
) -> None:
    number = connect_number()
    kept = sandbox_template(tpl_sandbox, number.waba_id, "spring_sale")
    gone = sandbox_template(tpl_sandbox, number.waba_id, "old_offer")
    services.whatsapp_templates_sync(workspace=workspace, sender=number)
    assert status_changes == []

    # Meta pauses one (quality RED) and the other is deleted in Meta's own tools
    tpl_sandbox.call("POST", f"/_sandbox/templates/{kept['id']}/quality", {"quality_score": "RED"})
    tpl_sandbox.call("POST", f"/_sandbox/templates/{kept['id']}/status", {"status": "PAUSED"})
    assert tpl_sandbox.call("DELETE", f"/_sandbox/templates/{gone['id']}").status == 204

    result = services.whatsapp_templates_sync(workspace=workspace, sender=number)

    assert (result.updated, result.removed) == (1, 1)
    spring = WhatsAppTemplate.objects.get(workspace=workspace, name="spring_sale")
    assert (spring.status, spring.quality) == ("PAUSED", "RED")
    assert not WhatsAppTemplate.objects.filter(workspace=workspace, name="old_offer").exists()
    assert status_changes == [("spring_sale", "APPROVED", "PAUSED", "")]


def test_create_submits_to_meta_and_keeps_it_pending(
    workspace, owner, connect_number, tpl_sandbox
) -> None:
    number = connect_number()
    components = [
        {"type": "HEADER", "format": "IMAGE", "example": {"header_handle": ["4::aW1n"]}},
        BODY,
        {"type": "FOOTER", "text": "Reply STOP to opt out"},
        {
            "type": "BUTTONS",
            "buttons": [
                {"type": "URL", "text": "Track", "url": "https://x.az/t/{{1}}", "example": ["a1"]}
            ],
        },
    ]

    template = services.whatsapp_template_create(
        workspace=workspace,
        sender=number,
        name="order_shipped",
        language="az",
        category="UTILITY",
        components=components,
        actor=owner,
    )

    assert template.status == WhatsAppTemplate.Status.PENDING
    (at_meta,) = tpl_sandbox.call(
        "GET", f"/_sandbox/templates?waba_id={number.waba_id}&name=order_shipped"
    ).body
    assert (at_meta["status"], at_meta["id"], at_meta["components"]) == (
        "PENDING",
        template.meta_id,
        components,
    )


def test_meta_refusal_is_shown_and_nothing_is_kept(
    workspace, owner, connect_number, tpl_sandbox
) -> None:
    from django.core.exceptions import ValidationError

    number = connect_number()
    # the name exists at Meta (made in Meta's tools) but not here yet
    sandbox_template(tpl_sandbox, number.waba_id, "spring_sale", language="az")

    with pytest.raises(ValidationError) as refused:
        services.whatsapp_template_create(
            workspace=workspace,
            sender=number,
            name="spring_sale",
            language="az",
            category="MARKETING",
            components=[BODY],
            actor=owner,
        )

    (message,) = refused.value.message_dict["components"]
    assert message.startswith("Meta refused the request (#")
    assert not WhatsAppTemplate.objects.filter(workspace=workspace, name="spring_sale").exists()


def test_delete_removes_it_at_meta_and_here(workspace, owner, connect_number, tpl_sandbox) -> None:
    number = connect_number()
    template = services.whatsapp_template_create(
        workspace=workspace,
        sender=number,
        name="to_delete",
        language="en",
        category="MARKETING",
        components=[BODY],
        actor=owner,
    )

    services.whatsapp_template_delete(workspace=workspace, template=template, actor=owner)

    assert not WhatsAppTemplate.objects.filter(pk=template.pk).exists()
    left = tpl_sandbox.call("GET", f"/_sandbox/templates?waba_id={number.waba_id}").body
    assert [t["name"] for t in left] == ["isend_welcome"]


# --- API ----------------------------------------------------------------------------------------


def test_api_lists_by_number_and_hides_other_workspaces(
    workspace, other_workspace, make_member, connect_number, tpl_sandbox, api_client_with_scopes
) -> None:
    first, second = connect_number(), connect_number()
    make_member(other_workspace)
    foreign = connect_number(other_workspace)
    sandbox_template(tpl_sandbox, first.waba_id, "first_only")
    sandbox_template(tpl_sandbox, second.waba_id, "second_only")
    sandbox_template(tpl_sandbox, foreign.waba_id, "foreign_only")
    api = api_client_with_scopes("templates:write")
    for number in (first, second):
        answer = api.post(f"/api/v1/numbers/{number.public_id}/sync-templates/")
        assert answer.status_code == 200, answer.content
        assert answer.json() == {"created": 2, "updated": 0, "removed": 0, "total": 2}
    services.whatsapp_templates_sync(workspace=other_workspace, sender=foreign)

    listed = api.get(f"/api/v1/whatsapp-templates/?number={first.public_id}").json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert sorted(r["name"] for r in rows) == ["first_only", "isend_welcome"]
    first_only = next(r for r in rows if r["name"] == "first_only")
    assert set(first_only) >= {
        "id", "name", "language", "status", "category", "components", "quality",
        "rejected_reason", "parameter_format",
    }  # fmt: skip
    assert (first_only["status"], first_only["quality"], first_only["rejected_reason"]) == (
        "APPROVED",
        "UNKNOWN",
        "",
    )
    everything = api.get("/api/v1/whatsapp-templates/").json()
    names = sorted(r["name"] for r in (everything.get("results", everything)))
    assert names == ["first_only", "isend_welcome", "isend_welcome", "second_only"]

    # another workspace's ids are 404, and its rows are untouched
    other = WhatsAppTemplate.objects.get(workspace=other_workspace, name="foreign_only")
    assert api.get(f"/api/v1/whatsapp-templates/?number={foreign.public_id}").status_code == 404
    assert api.get(f"/api/v1/whatsapp-templates/{other.public_id}/").status_code == 404
    assert api.delete(f"/api/v1/whatsapp-templates/{other.public_id}/").status_code == 404
    assert api.post(f"/api/v1/numbers/{foreign.public_id}/sync-templates/").status_code == 404
    assert WhatsAppTemplate.objects.filter(pk=other.pk).exists()
    foreign_create = api.post(
        "/api/v1/whatsapp-templates/",
        {"number": str(foreign.public_id), "name": "x_y", "language": "en",
         "category": "MARKETING", "components": [BODY]},
        format="json",
    )  # fmt: skip
    assert foreign_create.status_code == 400
    assert "number" in foreign_create.json()


def test_api_create_get_delete(workspace, connect_number, tpl_sandbox, api_client_with_scopes):
    number = connect_number()
    api = api_client_with_scopes("templates:write")

    created = api.post(
        "/api/v1/whatsapp-templates/",
        {
            "number": str(number.public_id),
            "name": "order_update",
            "language": "en_US",
            "category": "UTILITY",
            "components": [BODY],
        },
        format="json",
    )

    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["name"], body["status"], body["components"]) == (
        "order_update",
        "PENDING",
        [BODY],
    )
    fetched = api.get(f"/api/v1/whatsapp-templates/{body['id']}/")
    assert fetched.status_code == 200
    assert fetched.json()["language"] == "en_US"
    assert api.delete(f"/api/v1/whatsapp-templates/{body['id']}/").status_code == 204
    assert api.get(f"/api/v1/whatsapp-templates/{body['id']}/").status_code == 404
    names = [t["name"] for t in tpl_sandbox.call("GET", "/_sandbox/templates").body]
    assert "order_update" not in names


def test_api_create_refuses_metas_rule_breaks_with_field_errors(
    workspace, connect_number, tpl_sandbox, api_client_with_scopes
) -> None:
    number = connect_number()
    api = api_client_with_scopes("templates:write")

    answer = api.post(
        "/api/v1/whatsapp-templates/",
        {
            "number": str(number.public_id),
            "name": "Bad Name",
            "language": "en",
            "category": "MARKETING",
            "components": [
                {"type": "HEADER", "format": "TEXT", "text": "h" * 61},
                {
                    "type": "BODY",
                    "text": "{{1}}{{2}} starts and ends with {{3}}",
                    "example": {"body_text": [["a", "b", "c"]]},
                },
                {"type": "FOOTER", "text": "Hi {{1}}"},
                {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "x" * 26}]},
            ],
        },
        format="json",
    )

    assert answer.status_code == 400
    errors = answer.json()
    assert set(errors) == {"name", "header", "body", "footer", "buttons"}
    assert errors["body"] == [
        "The body cannot start with a variable: put some words before it.",
        "The body cannot end with a variable: put some words after it.",
        "Two variables cannot be side by side: put words between them.",
    ]
    # nothing was submitted to Meta, nothing kept
    names = [t["name"] for t in tpl_sandbox.call("GET", "/_sandbox/templates").body]
    assert names == ["isend_welcome"]
    assert not WhatsAppTemplate.objects.for_workspace(workspace).exists()


def test_api_needs_the_templates_scope(
    workspace, connect_number, tpl_sandbox, api_client_with_scopes
):
    number = connect_number()
    reader = api_client_with_scopes("templates:read")
    assert reader.get("/api/v1/whatsapp-templates/").status_code == 200
    assert reader.post(f"/api/v1/numbers/{number.public_id}/sync-templates/").status_code == 403
    assert (
        api_client_with_scopes("contacts:read").get("/api/v1/whatsapp-templates/").status_code
        == 403
    )


def test_daily_sync_covers_every_account_and_survives_a_refusal(
    workspace, other_workspace, make_member, connect_number, tpl_sandbox
) -> None:
    from core.crypto import encrypt_json
    from messaging.content.tasks import whatsapp_templates_sync_all_task
    from messaging.numbers.models import Sender

    first = connect_number()
    make_member(other_workspace)
    second = connect_number(other_workspace)
    sandbox_template(tpl_sandbox, first.waba_id, "first_offer")
    sandbox_template(tpl_sandbox, second.waba_id, "second_offer")
    broken = connect_number()  # Meta refuses its token: counted, the others still sync
    Sender.objects.filter(pk=broken.pk).update(
        credentials_encrypted=encrypt_json({"access_token": "revoked", "app_secret": "s"})
    )

    result = whatsapp_templates_sync_all_task()

    assert result == {"queued": 3}  # one task per account; the refused one syncs nothing
    assert set(
        WhatsAppTemplate.objects.for_workspace(workspace).values_list("name", flat=True)
    ) == {"isend_welcome", "first_offer"}
    assert set(
        WhatsAppTemplate.objects.for_workspace(other_workspace).values_list("name", flat=True)
    ) == {"isend_welcome", "second_offer"}


def test_a_webhook_about_an_unknown_template_syncs_the_number(
    workspace, connect_number, tpl_sandbox, django_capture_on_commit_callbacks
) -> None:
    from messaging.gateways.base import TemplateEvent

    number = connect_number()
    made_at_meta = sandbox_template(tpl_sandbox, number.waba_id, "made_in_meta_tools")
    event = TemplateEvent(
        account_id=number.waba_id,
        field="message_template_status_update",
        template_id=str(made_at_meta["id"]),
        name="made_in_meta_tools",
        language="en",
        event="APPROVED",
    )

    with django_capture_on_commit_callbacks(execute=True):
        known = services.whatsapp_template_apply_event(sender=number, event=event)

    assert known is False
    synced = WhatsAppTemplate.objects.get(workspace=workspace, name="made_in_meta_tools")
    assert (synced.status, synced.meta_id) == ("APPROVED", str(made_at_meta["id"]))


def test_a_webhook_newer_than_the_listing_wins_over_the_sync(
    workspace, connect_number, tpl_sandbox, monkeypatch
) -> None:
    from messaging.gateways.base import TemplateEvent

    number = connect_number()
    at_meta = sandbox_template(tpl_sandbox, number.waba_id, "spring_sale")
    services.whatsapp_templates_sync(workspace=workspace, sender=number)
    original = services._graph_call

    def listing_then_webhook(sender, call):
        listed = original(sender, call)  # Meta answers: APPROVED ...
        services.whatsapp_template_apply_event(  # ... then pauses it, before the sync stores
            sender=number,
            event=TemplateEvent(
                account_id=number.waba_id,
                field="message_template_status_update",
                template_id=str(at_meta["id"]),
                name="spring_sale",
                language="en",
                event="PAUSED",
            ),
        )
        return listed

    monkeypatch.setattr(services, "_graph_call", listing_then_webhook)
    services.whatsapp_templates_sync(workspace=workspace, sender=number)

    assert WhatsAppTemplate.objects.get(workspace=workspace, name="spring_sale").status == "PAUSED"


def test_delete_of_a_template_already_gone_at_meta_deletes_it_here(
    workspace, owner, connect_number, tpl_sandbox
) -> None:
    number = connect_number()
    at_meta = sandbox_template(tpl_sandbox, number.waba_id, "gone_at_meta")
    services.whatsapp_templates_sync(workspace=workspace, sender=number)
    tpl_sandbox.call("DELETE", f"/_sandbox/templates/{at_meta['id']}")
    template = WhatsAppTemplate.objects.get(workspace=workspace, name="gone_at_meta")

    services.whatsapp_template_delete(workspace=workspace, template=template, actor=owner)

    assert not WhatsAppTemplate.objects.filter(pk=template.pk).exists()


def test_a_template_submitted_during_a_sync_is_not_taken_for_deleted(
    workspace, owner, connect_number, tpl_sandbox, monkeypatch
) -> None:
    number = connect_number()
    original = services._graph_call
    submitted: list = []
    started: list = []

    def listing_then_submit(sender, call):
        listed = original(sender, call)  # Meta's listing, before the new template exists
        if not started:
            started.append(True)
            submitted.append(
                services.whatsapp_template_create(
                    workspace=workspace,
                    sender=number,
                    name="brand_new",
                    language="en",
                    category="MARKETING",
                    components=[BODY],
                    actor=owner,
                )
            )
        return listed

    monkeypatch.setattr(services, "_graph_call", listing_then_submit)
    result = services.whatsapp_templates_sync(workspace=workspace, sender=number)

    assert result.removed == 0
    assert WhatsAppTemplate.objects.filter(pk=submitted[0].pk, status="PENDING").exists()


def test_api_shows_metas_refusal(workspace, connect_number, tpl_sandbox, api_client_with_scopes):
    number = connect_number()
    sandbox_template(tpl_sandbox, number.waba_id, "taken_at_meta", language="az")

    answer = api_client_with_scopes("templates:write").post(
        "/api/v1/whatsapp-templates/",
        {"number": str(number.public_id), "name": "taken_at_meta", "language": "az",
         "category": "MARKETING", "components": [BODY]},
        format="json",
    )  # fmt: skip

    assert answer.status_code == 400
    (message,) = answer.json()["components"]
    assert message.startswith("Meta refused the request (#100)")
    assert not WhatsAppTemplate.objects.filter(workspace=workspace, name="taken_at_meta").exists()
