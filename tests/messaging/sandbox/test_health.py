"""Number quality, messaging-limit tier and throughput: the node's fields and Meta's webhooks."""

from __future__ import annotations

from typing import Any

from messaging.gateways.cloud_api import verify_signature

from ..conftest import SandboxClient, WebhookReceiver, http, wait_until
from .helpers import PHONE_ID, SECRET, WABA_ID, error_code, graph, register


def _values(receiver: WebhookReceiver, field: str) -> list[dict[str, Any]]:
    found = []
    for hook in receiver.received:
        assert verify_signature(hook.raw, hook.headers.get("X-Hub-Signature-256"), SECRET)
        for entry in hook.json["entry"]:
            assert entry["id"] == WABA_ID
            found += [c["value"] for c in entry["changes"] if c["field"] == field]
    return found


def _health(sandbox: SandboxClient, number: str = PHONE_ID, **fields: str) -> dict[str, Any]:
    answer = sandbox.call("POST", f"/_sandbox/numbers/{number}/health", fields)
    assert answer.status == 200, answer.raw
    return answer.body


def test_the_phone_number_node_answers_the_requested_fields(sandbox: SandboxClient) -> None:
    register(sandbox, display_phone_number="15550002001", verified_name="Aysel Shop")
    fields = "quality_rating,messaging_limit_tier,throughput,display_phone_number,verified_name"
    node = graph(sandbox, "GET", f"{PHONE_ID}?fields={fields}").body
    assert node == {
        "quality_rating": "GREEN",
        "messaging_limit_tier": "TIER_UNLIMITED",
        "throughput": {"level": "STANDARD"},
        "display_phone_number": "15550002001",
        "verified_name": "Aysel Shop",
        "id": PHONE_ID,
    }
    limit = graph(sandbox, "GET", f"{PHONE_ID}?fields=whatsapp_business_manager_messaging_limit")
    assert limit.body["whatsapp_business_manager_messaging_limit"] == "TIER_UNLIMITED"
    unknown = graph(sandbox, "GET", f"{PHONE_ID}?fields=colour")
    assert (unknown.status, error_code(unknown)) == (400, 100)
    register(sandbox, quality_rating="YELLOW", messaging_limit_tier="TIER_250")
    node = graph(sandbox, "GET", f"{PHONE_ID}?fields=quality_rating,messaging_limit_tier").body
    assert (node["quality_rating"], node["messaging_limit_tier"]) == ("YELLOW", "TIER_250")


def test_quality_changes_post_flagged_and_unflagged(
    sandbox: SandboxClient, webhook_receiver: WebhookReceiver
) -> None:
    register(
        sandbox,
        callback_url=webhook_receiver.url,
        app_secret=SECRET,
        display_phone_number="15550002001",
    )
    assert _health(sandbox, quality_rating="RED")["quality_rating"] == "RED"
    wait_until(lambda: len(webhook_receiver.received) == 1)
    _health(sandbox, quality_rating="GREEN")
    wait_until(lambda: len(webhook_receiver.received) == 2)
    events = _values(webhook_receiver, "phone_number_quality_update")
    assert sorted(events, key=lambda v: v["event"]) == [
        {
            "display_phone_number": "15550002001",
            "event": "FLAGGED",
            "current_limit": "TIER_UNLIMITED",
            "max_daily_conversations_per_business": "TIER_UNLIMITED",
        },
        {
            "display_phone_number": "15550002001",
            "event": "UNFLAGGED",
            "current_limit": "TIER_UNLIMITED",
            "max_daily_conversations_per_business": "TIER_UNLIMITED",
        },
    ]
    assert (
        graph(sandbox, "GET", f"{PHONE_ID}?fields=quality_rating").body["quality_rating"] == "GREEN"
    )
    assert (
        sandbox.call(
            "POST", f"/_sandbox/numbers/{PHONE_ID}/health", {"quality_rating": "PINK"}
        ).status
        == 400
    )


def test_tier_changes_move_every_number_of_the_waba(
    sandbox: SandboxClient, webhook_receiver: WebhookReceiver
) -> None:
    register(
        sandbox,
        callback_url=webhook_receiver.url,
        app_secret=SECRET,
        messaging_limit_tier="TIER_2K",
        display_phone_number="15550001065",
    )
    sandbox.register(
        "2002",
        waba_id=WABA_ID,
        callback_url=webhook_receiver.url,
        app_secret=SECRET,
        messaging_limit_tier="TIER_2K",
        display_phone_number="15550002002",
    )
    _health(sandbox, messaging_limit_tier="TIER_10K")
    wait_until(lambda: len(_values(webhook_receiver, "business_capability_update")) == 1)
    wait_until(lambda: len(_values(webhook_receiver, "phone_number_quality_update")) == 2)
    upgrades = _values(webhook_receiver, "phone_number_quality_update")
    assert {(v["event"], v["old_limit"], v["current_limit"]) for v in upgrades} == {
        ("UPGRADE", "TIER_2K", "TIER_10K")
    }
    assert {v["display_phone_number"] for v in upgrades} == {"15550001065", "15550002002"}
    assert _values(webhook_receiver, "business_capability_update") == [
        {
            "max_daily_conversation_per_phone": 10000,
            "max_daily_conversations_per_business": "TIER_10K",
        }
    ]
    other = graph(sandbox, "GET", "2002?fields=messaging_limit_tier").body
    assert other["messaging_limit_tier"] == "TIER_10K"
    webhook_receiver.clear()
    _health(sandbox, "2002", messaging_limit_tier="TIER_250")
    wait_until(lambda: len(_values(webhook_receiver, "phone_number_quality_update")) == 2)
    assert {v["event"] for v in _values(webhook_receiver, "phone_number_quality_update")} == {
        "DOWNGRADE"
    }


def test_throughput_upgrade_raises_the_limit_and_posts_its_event(
    sandbox: SandboxClient, webhook_receiver: WebhookReceiver
) -> None:
    register(
        sandbox, callback_url=webhook_receiver.url, app_secret=SECRET, throughput_per_second=80
    )
    number = _health(sandbox, throughput_level="HIGH")
    assert (number["throughput_level"], number["throughput_per_second"]) == ("HIGH", 1000)
    wait_until(lambda: len(webhook_receiver.received) == 1)
    (event,) = _values(webhook_receiver, "phone_number_quality_update")
    assert event["event"] == "THROUGHPUT_UPGRADE"
    assert graph(sandbox, "GET", f"{PHONE_ID}?fields=throughput").body["throughput"] == {
        "level": "HIGH"
    }


def test_the_page_shows_and_changes_quality_and_templates(sandbox: SandboxClient) -> None:
    register(sandbox)
    template = sandbox.add_template(
        PHONE_ID, name="page_offer", body="Hi {{1}}, welcome!", examples=["A"], status="PENDING"
    )
    page = http("GET", sandbox.base_url + "/_sandbox/").raw.decode()
    assert "page_offer" in page
    assert f'action="/_sandbox/templates/{template["id"]}/status"' in page
    assert f'action="/_sandbox/numbers/{PHONE_ID}/health"' in page
    assert "<script" not in page
    assert " onclick" not in page
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    approve = http(
        "POST",
        f"{sandbox.base_url}/_sandbox/templates/{template['id']}/status",
        headers=form,
        data=b"status=APPROVED",
    )
    assert approve.status == 303
    assert sandbox.call("GET", "/_sandbox/templates").body[0]["status"] == "APPROVED"
    quality = http(
        "POST",
        f"{sandbox.base_url}/_sandbox/numbers/{PHONE_ID}/health",
        headers=form,
        data=b"quality_rating=YELLOW&messaging_limit_tier=TIER_100K&throughput_level=STANDARD",
    )
    assert quality.status == 303
    (number,) = sandbox.call("GET", "/_sandbox/numbers").body
    assert (number["quality_rating"], number["messaging_limit_tier"]) == ("YELLOW", "TIER_100K")
