"""The Cloud API parser reads Meta's three template webhook fields into TemplateEvents."""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qs

import pytest
from aiohttp import web

from messaging.gateways.base import TemplateEvent
from messaging.gateways.cloud_api import CloudApiAdapter, GraphRequestError, parse_webhook

from .test_gateway_cloud_api import CREDENTIALS, _with_stub


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


# The template calls over HTTP against a stub speaking Meta's documented exchanges ---------------


def test_upload_example_follows_metas_resumable_upload() -> None:
    """Meta's Resumable Upload API: GET /app names the token's app, POST /{app_id}/uploads
    opens a session, POST /{session} with `file_offset: 0` and `Authorization: OAuth` sends
    the bytes and answers the handle."""
    seen: list[tuple[str, str, str, dict[str, str], bytes]] = []

    async def handler(request: web.Request) -> web.Response:
        body = await request.read()
        seen.append(
            (request.method, request.path, request.query_string, dict(request.headers), body)
        )
        if request.path == "/v23.0/app":
            return web.json_response({"id": "4242", "name": "iSend"})
        if request.path == "/v23.0/4242/uploads":
            return web.json_response({"id": "upload:MTphdHRh?sig=ARZ"})
        if request.path.startswith("/v23.0/upload:"):
            return web.json_response({"h": "4::aW1hZ2UvcG5n:ARaHandle"})
        return web.json_response({"error": {"code": 100, "message": "unknown"}}, status=400)

    async def scenario(base_url: str) -> str:
        async with CloudApiAdapter(CREDENTIALS, base_url=base_url, api_version="v23.0") as adapter:
            return await adapter.upload_example(
                b"\x89PNG\r\n\x1a\nbytes", mime_type="image/png", file_name="sale.png"
            )

    assert asyncio.run(_with_stub(handler, scenario)) == "4::aW1hZ2UvcG5n:ARaHandle"
    assert [(m, p) for m, p, *_ in seen] == [
        ("GET", "/v23.0/app"),
        ("POST", "/v23.0/4242/uploads"),
        ("POST", "/v23.0/upload:MTphdHRh"),
    ]
    assert parse_qs(seen[1][2]) == {
        "file_name": ["sale.png"],
        "file_length": ["13"],
        "file_type": ["image/png"],
    }
    _m, _p, query, headers, body = seen[2]
    assert query == "sig=ARZ"
    assert (headers["Authorization"], headers["file_offset"]) == ("OAuth EAAG-token", "0")
    assert body == b"\x89PNG\r\n\x1a\nbytes"


def test_a_graph_refusal_keeps_metas_words_for_people() -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.json_response(
            {
                "error": {
                    "message": "Invalid parameter",
                    "type": "OAuthException",
                    "code": 100,
                    "error_subcode": 2388024,
                    "error_user_title": "Content in this language already exists",
                    "error_user_msg": "Choose a different name or language.",
                    "fbtrace_id": "A1",
                }
            },
            status=400,
        )

    async def scenario(base_url: str) -> None:
        async with CloudApiAdapter(CREDENTIALS, base_url=base_url, api_version="v23.0") as adapter:
            await adapter.create_template(
                "WABA-1", name="x", language="en", category="MARKETING", components=[]
            )

    with pytest.raises(GraphRequestError) as refused:
        asyncio.run(_with_stub(handler, scenario))
    assert refused.value.error.code == 100
    assert refused.value.user_message == (
        "Content in this language already exists: Choose a different name or language."
    )
