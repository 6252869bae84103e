"""Template approval lifecycle and its webhooks, in Meta's format, signed like the others."""

from __future__ import annotations

import time
from typing import Any

from messaging.gateways.cloud_api import verify_signature

from ..conftest import SandboxClient, WebhookReceiver, wait_until
from .helpers import (
    SECRET,
    WABA_ID,
    body_component,
    control_status,
    create,
    definition,
    graph,
    register,
)


def _changes(receiver: WebhookReceiver, field: str) -> list[dict[str, Any]]:
    found = []
    for hook in receiver.received:
        assert verify_signature(hook.raw, hook.headers.get("X-Hub-Signature-256"), SECRET)
        body = hook.json
        assert body["object"] == "whatsapp_business_account"
        for entry in body["entry"]:
            assert entry["id"] == WABA_ID
            assert isinstance(entry["time"], int)
            found += [c["value"] for c in entry["changes"] if c["field"] == field]
    return found


def test_automatic_review_approves_or_rejects_after_the_delay(
    sandbox: SandboxClient, webhook_receiver: WebhookReceiver
) -> None:
    register(sandbox, callback_url=webhook_receiver.url, app_secret=SECRET)
    sandbox.configure(template_review_seconds=0.3)
    good = create(sandbox, definition("fine_offer")).body["id"]
    adjacent = create(
        sandbox,
        definition(
            "glued_offer",
            components=[body_component("Hi {{1}}{{2}}, welcome!", "Aysel", "Mammadova")],
        ),
    ).body["id"]
    assert graph(sandbox, "GET", f"{good}?fields=status").body["status"] == "PENDING"
    updates = wait_until(
        lambda: (
            len(_changes(webhook_receiver, "message_template_status_update")) == 2
            and _changes(webhook_receiver, "message_template_status_update")
        )
    )
    by_id = {u["message_template_id"]: u for u in updates}
    assert by_id[int(good)] == {
        "event": "APPROVED",
        "message_template_id": int(good),
        "message_template_name": "fine_offer",
        "message_template_language": "en",
        "reason": "NONE",
        "message_template_category": "MARKETING",
    }
    rejected = by_id[int(adjacent)]
    assert (rejected["event"], rejected["reason"]) == ("REJECTED", "INVALID_FORMAT")
    assert "next to each other" in rejected["rejection_info"]["reason"]
    assert rejected["rejection_info"]["recommendation"]
    node = graph(sandbox, "GET", f"{adjacent}?fields=status,rejected_reason").body
    assert node == {"status": "REJECTED", "rejected_reason": "INVALID_FORMAT", "id": adjacent}
    assert graph(sandbox, "GET", f"{good}?fields=status").body["status"] == "APPROVED"


def test_manual_review_by_default_and_status_changes_post_webhooks(
    sandbox: SandboxClient, webhook_receiver: WebhookReceiver
) -> None:
    register(sandbox, callback_url=webhook_receiver.url, app_secret=SECRET)
    template_id = create(sandbox, definition("manual_offer")).body["id"]
    sandbox.wait_idle()
    assert webhook_receiver.received == []  # 0 s review delay: it waits for a person
    steps = [
        ("REJECTED", {"reason": "PROMOTIONAL"}),
        ("APPROVED", {}),
        ("PAUSED", {}),
        ("REINSTATED", {}),
        ("DISABLED", {}),
    ]
    for status, extra in steps:
        assert control_status(sandbox, template_id, status, **extra).status == 200
    wait_until(lambda: len(_changes(webhook_receiver, "message_template_status_update")) == 5)
    updates = sorted(
        _changes(webhook_receiver, "message_template_status_update"),
        key=lambda u: [s for s, _ in steps].index(u["event"]),
    )
    assert [(u["event"], u["reason"]) for u in updates] == [
        ("REJECTED", "PROMOTIONAL"),
        ("APPROVED", "NONE"),
        ("PAUSED", "NONE"),
        ("REINSTATED", "NONE"),
        ("DISABLED", "NONE"),
    ]
    assert updates[2]["other_info"]["title"] == "FIRST_PAUSE"
    assert updates[3]["other_info"]["title"] == "UNPAUSE"
    assert isinstance(updates[4]["disable_info"]["disable_date"], int)
    assert graph(sandbox, "GET", f"{template_id}?fields=status").body["status"] == "DISABLED"
    bad = control_status(sandbox, template_id, "REJECTED", reason="BECAUSE")
    assert bad.status == 400


def test_category_and_quality_updates_post_their_webhooks(
    sandbox: SandboxClient, webhook_receiver: WebhookReceiver
) -> None:
    register(sandbox, callback_url=webhook_receiver.url, app_secret=SECRET)
    template_id = create(sandbox, definition("utility_like", category="UTILITY")).body["id"]
    category = sandbox.call(
        "POST", f"/_sandbox/templates/{template_id}/category", {"category": "MARKETING"}
    )
    quality = sandbox.call(
        "POST", f"/_sandbox/templates/{template_id}/quality", {"quality_score": "RED"}
    )
    assert (category.status, quality.status) == (200, 200)
    wait_until(lambda: len(webhook_receiver.received) == 2)
    assert _changes(webhook_receiver, "template_category_update") == [
        {
            "message_template_id": int(template_id),
            "message_template_name": "utility_like",
            "message_template_language": "en",
            "previous_category": "UTILITY",
            "new_category": "MARKETING",
        }
    ]
    assert _changes(webhook_receiver, "message_template_quality_update") == [
        {
            "previous_quality_score": "UNKNOWN",
            "new_quality_score": "RED",
            "message_template_id": int(template_id),
            "message_template_name": "utility_like",
            "message_template_language": "en",
        }
    ]
    node = graph(
        sandbox, "GET", f"{template_id}?fields=category,previous_category,quality_score"
    ).body
    assert (node["category"], node["previous_category"]) == ("MARKETING", "UTILITY")
    assert node["quality_score"]["score"] == "RED"
    assert (
        sandbox.call(
            "POST", f"/_sandbox/templates/{template_id}/quality", {"quality_score": "BLUE"}
        ).status
        == 400
    )


def test_waba_webhooks_go_once_to_each_callback_of_the_waba(
    sandbox: SandboxClient, webhook_receiver: WebhookReceiver
) -> None:
    register(sandbox, callback_url=webhook_receiver.url, app_secret=SECRET)
    sandbox.register("2009", waba_id=WABA_ID, callback_url=webhook_receiver.url, app_secret=SECRET)
    sandbox.register("3001", waba_id="OTHER", callback_url=webhook_receiver.url)
    template_id = create(sandbox, definition("shared")).body["id"]
    control_status(sandbox, template_id, "APPROVED")
    sandbox.wait_idle()
    assert len(_changes(webhook_receiver, "message_template_status_update")) == 1


def test_a_paused_template_is_reinstated_by_itself_after_the_pause(
    sandbox: SandboxClient, webhook_receiver: WebhookReceiver
) -> None:
    register(sandbox, callback_url=webhook_receiver.url, app_secret=SECRET)
    sandbox.configure(template_pause_seconds=0.3)
    template_id = create(sandbox, definition("paced")).body["id"]
    control_status(sandbox, template_id, "APPROVED")
    assert control_status(sandbox, template_id, "PAUSED").body["status"] == "PAUSED"
    wait_until(
        lambda: graph(sandbox, "GET", f"{template_id}?fields=status").body["status"] == "APPROVED"
    )
    wait_until(lambda: len(_changes(webhook_receiver, "message_template_status_update")) == 3)
    events = [u["event"] for u in _changes(webhook_receiver, "message_template_status_update")]
    assert sorted(events) == ["APPROVED", "PAUSED", "REINSTATED"]
    # A hand-made reinstatement cancels the timer: no second REINSTATED arrives later.
    control_status(sandbox, template_id, "PAUSED")
    control_status(sandbox, template_id, "REINSTATED")
    control_status(sandbox, template_id, "PAUSED")
    assert control_status(sandbox, template_id, "REINSTATED").body["status"] == "APPROVED"
    assert control_status(sandbox, template_id, "PAUSED").body["status"] == "DISABLED"
    time.sleep(0.8)  # past the second pause's timer (2 x 0.3 s)
    sandbox.wait_idle()
    events = [u["event"] for u in _changes(webhook_receiver, "message_template_status_update")]
    assert events.count("REINSTATED") == 3  # one by itself, two by hand; none stale
    assert graph(sandbox, "GET", f"{template_id}?fields=status").body["status"] == "DISABLED"
