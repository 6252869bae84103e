"""Graph API answers shared by the sandbox's handlers: Meta-shaped errors and small JSON helpers."""

from __future__ import annotations

import base64
import json
import random
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from messaging.sandbox.meta import error_title

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

#: HTTP status per Graph code, from Meta's older error table (research §1.2); 400 otherwise.
_HTTP_STATUS_BY_CODE = {
    **dict.fromkeys((368, 131031, 10, 131005), 403),
    **dict.fromkeys((0, 190), 401),
    132001: 404,
    **dict.fromkeys((131000, 131016, 131045, 131057, 3), 500),
    2: 503,
}


def graph_error(
    code: int,
    details: str,
    *,
    subcode: int | None = None,
    user_title: str | None = None,
    user_msg: str | None = None,
) -> web.Response:
    """A Graph API error response, shaped and statused like Meta's (research §1.2)."""
    title = error_title(code)
    error: dict[str, Any] = {
        "message": f"(#{code}) {title}",
        "type": "OAuthException",
        "code": code,
        "error_data": {"messaging_product": "whatsapp", "details": details},
        "fbtrace_id": "A" + base64.urlsafe_b64encode(random.randbytes(12)).decode(),  # noqa: S311
    }
    if subcode is not None:
        error["error_subcode"] = subcode
    if user_title is not None:
        error["is_transient"] = False
        error["error_user_title"] = user_title
        error["error_user_msg"] = user_msg or details
    status = 403 if 200 <= code < 300 else _HTTP_STATUS_BY_CODE.get(code, 400)
    return web.json_response({"error": error}, status=status)


async def json_object(request: web.Request) -> dict[str, Any]:
    """The request's JSON object; an empty body is ``{}``, anything else invalid is a 400."""
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise web.HTTPBadRequest(
            text=json.dumps({"error": "body is not JSON"}), content_type="application/json"
        ) from exc
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(
            text=json.dumps({"error": "body must be a JSON object"}),
            content_type="application/json",
        )
    return body


def bad_request(message: str) -> web.Response:
    return web.json_response({"error": message}, status=400)


def not_found(message: str) -> web.Response:
    return web.json_response({"error": message}, status=404)


def nonexisting_field(name: str, node_type: str) -> web.Response:
    """Graph's answer to ``?fields=`` naming a field the node does not have."""
    return graph_error(
        100, f"Tried accessing nonexisting field ({name}) on node type ({node_type})"
    )


def wants_form(request: web.Request) -> bool:
    """A plain HTML form post from the sandbox page (answered by a redirect to the page)."""
    return request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data")
