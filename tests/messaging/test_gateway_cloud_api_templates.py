"""The Cloud API parser reads Meta's three template webhook fields into TemplateEvents."""

from __future__ import annotations

from messaging.gateways.base import TemplateEvent
from messaging.gateways.cloud_api import parse_webhook


def envelope(field: str, value: dict) -> dict:
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "102290129340398",
                "time": 1748454394,
                "changes": [{"field": field, "value": value}],
            }
        ],
    }


def test_status_update_rejected_with_reason() -> None:
    events = parse_webhook(
        envelope(
            "message_template_status_update",
            {
                "event": "REJECTED",
                "message_template_id": 1689556908129832,
                "message_template_name": "order_confirmation",
                "message_template_language": "en_US",
                "reason": "INVALID_FORMAT",
                "message_template_category": "UTILITY",
            },
        )
    )

    assert len(events) == 1
    event = events[0]
    assert isinstance(event, TemplateEvent)
    assert (event.account_id, event.field, event.template_id) == (
        "102290129340398",
        "message_template_status_update",
        "1689556908129832",
    )
    assert (event.name, event.language, event.event, event.reason) == (
        "order_confirmation",
        "en_US",
        "REJECTED",
        "INVALID_FORMAT",
    )


def test_status_update_approved_reason_none_is_empty() -> None:
    (event,) = parse_webhook(
        envelope(
            "message_template_status_update",
            {
                "event": "APPROVED",
                "message_template_id": 7,
                "message_template_name": "n",
                "message_template_language": "az",
                "reason": "NONE",
            },
        )
    )
    assert (event.event, event.reason) == ("APPROVED", "")


def test_category_and_quality_updates() -> None:
    (category,) = parse_webhook(
        envelope(
            "template_category_update",
            {
                "message_template_id": 7,
                "message_template_name": "n",
                "message_template_language": "az",
                "previous_category": "UTILITY",
                "new_category": "MARKETING",
            },
        )
    )
    (quality,) = parse_webhook(
        envelope(
            "message_template_quality_update",
            {
                "previous_quality_score": "GREEN",
                "new_quality_score": "RED",
                "message_template_id": 7,
                "message_template_name": "n",
                "message_template_language": "az",
            },
        )
    )

    assert (category.field, category.category, category.previous_category) == (
        "template_category_update",
        "MARKETING",
        "UTILITY",
    )
    assert (quality.field, quality.quality, quality.previous_quality) == (
        "message_template_quality_update",
        "RED",
        "GREEN",
    )


def test_a_change_naming_no_template_is_skipped() -> None:
    assert parse_webhook(envelope("message_template_status_update", {"event": "APPROVED"})) == []
