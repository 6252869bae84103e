"""The sandbox gateway: a real aiohttp server speaking Meta's Cloud API dialect and a WAHA subset.

It is the product's embedded default gateway and the test double for every test and benchmark.
It enforces Meta's rules (shared/research/whatsapp-gateways.md §1): approved templates with the
right parameters (registry.py, templates.py), the 24-hour window for numbers registered with
``"rules": "meta"``, media ids, quality and tiers. Routes:

* Cloud API: ``POST /{version}/{phone_number_id}/messages``, ``GET /{version}/{id}`` (a phone
  number, a template or a media), ``GET/POST/DELETE /{version}/{waba_id}/message_templates``,
  the Resumable Upload API for template samples (uploads.py): ``GET /{version}/app``,
  ``POST /{version}/{app_id}/uploads``, ``GET/POST /{version}/upload:<id>?sig=``
* WAHA (``X-Api-Key``): ``POST/GET /api/sessions``, ``GET/DELETE /api/sessions/{name}``,
  ``POST /api/sessions/{name}/start|stop|logout``, ``GET /api/{session}/auth/qr``,
  ``POST /api/sendText``, ``POST /api/sendImage``, ``POST /api/sendFile``
* Control (loopback tooling, no auth): ``/_sandbox/`` page, ``/_sandbox/health``,
  ``/_sandbox/numbers`` (+ ``/{id}``, ``/{id}/ban``, ``/{id}/unban``, ``/{id}/messages``),
  ``/_sandbox/templates`` (+ ``/{id}``, ``/{id}/status|category|quality``), ``/_sandbox/inbound``,
  ``/_sandbox/sessions/{name}/scan|fail|qr.png|messages``, ``/_sandbox/media`` (+
  ``/{id}/file``, ``/{id}/expire``), ``/_sandbox/uploads``, ``/_sandbox/config``,
  ``/_sandbox/stats``, ``/_sandbox/reset``

No Django here: ``python -m messaging.sandbox --port 9100`` runs it on its own.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import logging
import random
import re
import time
from datetime import UTC, datetime
from typing import Any

import qrcode
from aiohttp import web

from messaging.sandbox.config import ConfigError, SandboxConfig
from messaging.sandbox.graph import Handler, graph_error, nonexisting_field, wants_form
from messaging.sandbox.graph import bad_request as _bad_request
from messaging.sandbox.graph import json_object as _json_object
from messaging.sandbox.graph import not_found as _not_found
from messaging.sandbox.media import MAX_REQUEST_BYTES, MediaStore
from messaging.sandbox.meta import error_title
from messaging.sandbox.page import render_index
from messaging.sandbox.registry import TemplateRegistry
from messaging.sandbox.state import (
    QUALITY_RATINGS,
    RULES,
    THROUGHPUT_LEVELS,
    TIER_LIMITS,
    TIERS,
    Media,
    Number,
    SandboxState,
    WebSession,
)
from messaging.sandbox.templates import (
    STATUS_ERRORS,
    SendError,
    Template,
    TemplateError,
    check_media_object,
    check_send,
    parse_definition,
)
from messaging.sandbox.uploads import ResumableUploads
from messaging.sandbox.webhooks import WebhookDispatcher

logger = logging.getLogger(__name__)

GRAPH_VERSION_PATTERN = r"v\d+(?:\.\d+)?"
MAX_TEXT_LENGTH = 4096
ERROR_DOCS_HREF = "/documentation/business-messaging/whatsapp/support/error-codes"
_ID_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
_CHAT_ID_PATTERN = re.compile(r"^(\d{5,20})@c\.us$")
#: Media message types of the Cloud API (Meta ``messages``: image, video, audio, document,
#: sticker), each ``{"id": <uploaded media id>}`` or ``{"link": <url>}``.
MEDIA_MESSAGE_TYPES = ("image", "video", "audio", "document", "sticker")
_INBOUND_FORM = ("phone_number_id", "session", "from", "name", "text")

_NON_DIGITS = re.compile(r"\D")


def _digits(value: Any) -> str:
    return _NON_DIGITS.sub("", str(value))


class Sandbox:
    """State, config, random generator and every handler of one sandbox server."""

    def __init__(self, config: SandboxConfig) -> None:
        self.initial_config = config
        self.config = config
        self.rng = random.Random(config.seed)  # noqa: S311 - simulation, not security
        self.state = SandboxState()
        self.webhooks = WebhookDispatcher(self.state, lambda: self.config, lambda: self.rng)
        self._not_on_whatsapp = re.compile(config.not_on_whatsapp_pattern)
        self._qr_cache: dict[str, bytes] = {}
        self.registry = TemplateRegistry(self)
        self.media = MediaStore(self)
        self.uploads = ResumableUploads(self)

    # Config ----------------------------------------------------------------------------------

    def set_config(self, config: SandboxConfig) -> None:
        seed_changed = config.seed != self.config.seed
        self.config = config
        self._not_on_whatsapp = re.compile(config.not_on_whatsapp_pattern)
        if seed_changed:
            self.rng.seed(config.seed)

    def _chance(self, ratio: float) -> bool:
        return ratio > 0 and self.rng.random() < ratio

    def _new_message_id(self, prefix: str) -> str:
        self.state.message_counter += 1
        token = f"{prefix}:{self.state.message_counter}:{self.rng.getrandbits(48):012x}"
        return base64.urlsafe_b64encode(token.encode()).decode().rstrip("=")

    # Cloud API -------------------------------------------------------------------------------

    async def send_message(self, request: web.Request) -> web.Response:
        phone_number_id = request.match_info["phone_number_id"]
        number = self.state.numbers.get(phone_number_id)
        if number is None:
            return graph_error(
                100,
                f"Unsupported post request. Object with ID '{phone_number_id}' does not exist.",
                subcode=33,
            )
        if request.headers.get("Authorization") != f"Bearer {number.access_token}":
            number.stats.rejected["190"] += 1
            return graph_error(190, "Error validating access token.")
        try:
            body = json.loads(await request.read())
        except ValueError:
            return graph_error(100, "The request body is not valid JSON.")
        problem = _validate_send(body)
        if problem is not None:
            number.stats.rejected[str(problem[0])] += 1
            return graph_error(*problem)
        if number.banned:
            number.stats.rejected["131031"] += 1
            return graph_error(131031, "Business account has been restricted or disabled.")
        try:
            template = self._check_content(number, body)
        except SendError as exc:
            number.stats.rejected[str(exc.code)] += 1
            return graph_error(exc.code, exc.details)
        config = self.config
        if self._chance(config.error_5xx_ratio):
            number.stats.rejected["131000"] += 1
            return graph_error(131000, "Something went wrong (injected fault).")
        now = time.monotonic()
        stats = number.stats
        if stats.in_window(now) >= number.throughput_per_second:
            stats.rejected["130429"] += 1
            return graph_error(
                130429, "Cloud API message throughput has been reached.", subcode=2494055
            )
        recipient = _digits(body["to"])
        if not self.state.pair_limiter.allow(
            (phone_number_id, recipient),
            now,
            burst=config.pair_burst,
            interval=config.pair_interval_seconds,
        ):
            stats.rejected["131056"] += 1
            return graph_error(
                131056,
                "Message failed to send because there were too many messages sent "
                "from this phone number to the same phone number in a short period of time.",
            )
        callback_data = body.get("biz_opaque_callback_data")
        callback_data = str(callback_data) if callback_data not in (None, "") else None
        stats.record_accept(now, callback_data)
        wamid = "wamid." + self._new_message_id(phone_number_id)
        window_closed = (
            template is None and number.rules == "meta" and not self._window_open(number, recipient)
        )
        number.log.append(_log_entry(wamid, recipient, body, window_closed=window_closed))
        if template is not None:
            template.sent += 1
        if window_closed:
            # Meta accepts the request, then fails it: research §1.5 and §1.4 (131047).
            stats.window_failures += 1
            self._schedule_failure(number, wamid, recipient, callback_data, 131047)
        else:
            self._schedule_statuses(number, wamid, recipient, callback_data)
        if config.ban_after and stats.accepted >= config.ban_after and not number.banned:
            self.ban(number)
        hold = config.latency_seconds
        if self._chance(config.timeout_ratio):
            hold += config.timeout_hold_seconds
        if hold:
            await asyncio.sleep(hold)
        accepted: dict[str, Any] = {"id": wamid}
        if body.get("type") == "template":
            accepted["message_status"] = "accepted"
        return web.json_response(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": str(body["to"]), "wa_id": recipient}],
                "messages": [accepted],
            }
        )

    def _check_content(self, number: Number, body: dict[str, Any]) -> Template | None:
        """Template and media checks that need the number's WABA and uploads (research §1.4).

        Returns the template a ``type: template`` message names (for its send count).
        """
        kind = body.get("type", "text")
        if kind in MEDIA_MESSAGE_TYPES:
            check_media_object(body.get(kind), kind, self.media_known)
            return None
        if kind != "template":
            return None
        spec = body["template"]
        name, language = str(spec["name"]), str(spec["language"]["code"])
        template = self.registry.find(number.waba_id, name, language)
        if template is None or template.status not in ("APPROVED", "PAUSED", "DISABLED"):
            raise SendError(132001, f"template name ({name}) does not exist in {language}")
        if template.status in STATUS_ERRORS:
            raise SendError(*STATUS_ERRORS[template.status])
        check_send(template, spec.get("components"), media_known=self.media_known)
        return template

    def media_known(self, media_id: str) -> bool:
        """An uploaded media id that has not expired (Meta: ids expire after 30 days)."""
        media = self.state.media.get(media_id)
        return media is not None and time.time() - media.uploaded_at < self.config.media_ttl_seconds

    def _window_open(self, number: Number, recipient: str) -> bool:
        """The 24-hour customer-service window: opened by the customer's last message."""
        last = self.state.last_inbound.get((number.phone_number_id, recipient))
        return last is not None and time.time() - last < self.config.customer_service_window_seconds

    def _schedule_failure(
        self, number: Number, wamid: str, recipient: str, callback_data: str | None, code: int
    ) -> None:
        """A ``failed`` status webhook, with Meta's error, for an accepted message."""
        if not number.callback_url:
            return
        item: dict[str, Any] = {
            "id": wamid,
            "status": "failed",
            "timestamp": str(int(time.time() + self.config.sent_delay)),
            "recipient_id": recipient,
            "errors": [_webhook_error(code)],
        }
        if callback_data is not None:
            item["biz_opaque_callback_data"] = callback_data
        self.webhooks.schedule(
            number.phone_number_id, item, self.config.sent_delay, session=False, label="failed"
        )

    def _schedule_statuses(
        self, number: Number, wamid: str, recipient: str, callback_data: str | None
    ) -> None:
        """Plan sent/delivered/read (or sent/failed) webhooks for an accepted message."""
        if not number.callback_url:
            return
        config = self.config
        failure_code: int | None = None
        if self._not_on_whatsapp.search(recipient):
            failure_code = 131026  # Meta: often arrives as `failed` after `sent`
        elif self._chance(config.failure_ratio):
            failure_code = config.failure_code
        if failure_code is not None:
            plan = ["sent", "failed"]
        else:
            plan = ["sent", "delivered"]
            if self._chance(config.read_ratio):
                plan.append("read")
        happened = [config.sent_delay, config.delivered_delay, config.read_delay][: len(plan)]
        arrival = list(happened)
        if self._chance(config.out_of_order_ratio):
            self.rng.shuffle(arrival)
        now = time.time()
        for status, happened_after, arrives_after in zip(plan, happened, arrival, strict=True):
            item: dict[str, Any] = {
                "id": wamid,
                "status": status,
                "timestamp": str(int(now + happened_after)),
                "recipient_id": recipient,
            }
            if callback_data is not None:
                item["biz_opaque_callback_data"] = callback_data
            if status == "delivered":
                item["pricing"] = {
                    "billable": True,
                    "pricing_model": "PMP",
                    "type": "regular",
                    "category": "marketing",
                }
            if status == "failed" and failure_code is not None:
                item["errors"] = [_webhook_error(failure_code)]
            self.webhooks.schedule(
                number.phone_number_id, item, arrives_after, session=False, label=status
            )

    async def graph_node(self, request: web.Request) -> web.StreamResponse:
        """``GET /{version}/{id}``: a phone number, a message template or an uploaded media."""
        node_id = request.match_info["node_id"]
        if node_id in self.state.numbers:
            return self.phone_number_node(self.state.numbers[node_id], request)
        template = self.state.templates.get(node_id)
        if template is not None:
            return self.registry.graph_node(template, request)
        media = self.state.media.get(node_id)
        if media is not None and self.media_known(node_id):
            return self.media_node(media, request)
        return graph_error(
            100,
            f"Unsupported get request. Object with ID '{node_id}' does not exist, cannot be "
            "loaded due to missing permissions, or does not support this operation.",
            subcode=33,
        )

    def phone_number_node(self, number: Number, request: web.Request) -> web.Response:
        """The phone number node (the credential check and live health, research §1.5).

        Without ``fields`` it answers Meta's default set; with ``fields`` only those (plus
        ``id``); an unknown field is Graph's "nonexisting field" error.
        """
        if request.headers.get("Authorization") != f"Bearer {number.access_token}":
            return graph_error(190, "Error validating access token.")
        node: dict[str, Any] = {
            "id": number.phone_number_id,
            "display_phone_number": number.display_phone_number,
            "verified_name": number.verified_name,
            "quality_rating": number.quality_rating,
            "platform_type": "CLOUD_API",
            "throughput": {"level": number.throughput_level},
            "code_verification_status": "VERIFIED",
            "name_status": "APPROVED",
        }
        extra = {
            "messaging_limit_tier": number.messaging_limit_tier,
            "whatsapp_business_manager_messaging_limit": number.messaging_limit_tier,
        }
        fields = [f.strip() for f in request.query.get("fields", "").split(",") if f.strip()]
        if not fields:
            return web.json_response(node)
        everything = {**node, **extra}
        for name in fields:
            if name not in everything:
                return nonexisting_field(name, "WhatsAppBusinessPhoneNumber")
        return web.json_response({name: everything[name] for name in fields} | {"id": node["id"]})

    def media_node(self, media: Media, request: web.Request) -> web.Response:
        """Meta ``media``: url, mime_type, sha256, file_size, id (url valid with the token)."""
        number = self.state.numbers.get(media.phone_number_id)
        if (
            number is None
            or request.headers.get("Authorization") != f"Bearer {number.access_token}"
        ):
            return graph_error(190, "Error validating access token.")
        wanted = request.query.get("phone_number_id")
        if wanted and wanted != media.phone_number_id:
            return graph_error(
                100, "Param phone_number_id is not a valid whatsapp business phone number id ID"
            )
        return web.json_response(
            {
                "messaging_product": "whatsapp",
                "url": f"{request.url.origin()}/_sandbox/media/{media.id}/file",
                "mime_type": media.mime_type,
                "sha256": media.sha256,
                "file_size": str(len(media.data)),
                "id": media.id,
            }
        )

    # Bans and inbound ------------------------------------------------------------------------

    def ban(self, number: Number) -> None:
        number.banned = True
        self.webhooks.post_meta_now(
            number.phone_number_id,
            "account_update",
            {
                "event": "DISABLED_UPDATE",
                "ban_info": {
                    "waba_ban_state": "DISABLE",
                    "waba_ban_date": datetime.now(UTC).strftime("%B %d, %Y"),
                },
            },
            label="account_update",
        )

    def unban(self, number: Number) -> None:
        number.banned = False
        self.webhooks.post_meta_now(
            number.phone_number_id,
            "account_update",
            {"event": "DISABLED_UPDATE", "ban_info": {"waba_ban_state": "REINSTATE"}},
            label="account_update",
        )

    async def inject_inbound(self, request: web.Request) -> web.Response:
        """A customer writes to a number (JSON, or the page's "reply as this customer" form)."""
        if wants_form(request):
            form = await request.post()
            body: dict[str, Any] = {k: str(v) for k, v in form.items() if k in _INBOUND_FORM}
            answer = await self._inbound(body)
            if answer.status != 202:
                return answer
            raise web.HTTPSeeOther("/_sandbox/")
        return await self._inbound(await _json_object(request))

    async def _inbound(self, body: dict[str, Any]) -> web.Response:
        sender = _digits(body.get("from", ""))
        if not sender:
            return _bad_request("'from' must be a phone number")
        if body.get("session"):
            return self._inbound_to_session(str(body["session"]), sender, body)
        number = self.state.numbers.get(str(body.get("phone_number_id", "")))
        if number is None:
            return _not_found("unknown phone_number_id")
        message_id = "wamid." + self._new_message_id(f"in:{number.phone_number_id}")
        # Any message from the customer opens (or refreshes) the 24-hour window (research §1.6).
        self.state.last_inbound[(number.phone_number_id, sender)] = time.time()
        message: dict[str, Any] = {
            "from": sender,
            "id": message_id,
            "timestamp": str(int(time.time())),
        }
        if isinstance(body.get("button"), dict):
            button = body["button"]
            message["type"] = "button"
            message["button"] = {
                "payload": str(button.get("payload", "")),
                "text": str(button.get("text", "")),
            }
        elif isinstance(body.get("button_reply"), dict):
            reply = body["button_reply"]
            message["type"] = "interactive"
            message["interactive"] = {
                "type": "button_reply",
                "button_reply": {
                    "id": str(reply.get("id", "")),
                    "title": str(reply.get("title", "")),
                },
            }
        elif isinstance(body.get("text"), str):
            message["type"] = "text"
            message["text"] = {"body": body["text"]}
        else:
            return _bad_request("give 'text', 'button' {payload,text} or 'button_reply' {id,title}")
        if body.get("context_id"):
            message["context"] = {
                "from": number.display_phone_number,
                "id": str(body["context_id"]),
            }
        value = {
            "messaging_product": "whatsapp",
            "metadata": {
                "display_phone_number": number.display_phone_number,
                "phone_number_id": number.phone_number_id,
            },
            "contacts": [
                {"profile": {"name": str(body.get("name") or "Sandbox Contact")}, "wa_id": sender}
            ],
            "messages": [message],
        }
        self.webhooks.post_meta_now(number.phone_number_id, "messages", value, label="inbound")
        return web.json_response({"id": message_id}, status=202)

    def _inbound_to_session(self, name: str, sender: str, body: dict[str, Any]) -> web.Response:
        session = self.state.sessions.get(name)
        if session is None:
            return _not_found("unknown session")
        message_id = f"false_{sender}@c.us_{self._new_message_id('in')}"
        payload = {
            "id": message_id,
            "timestamp": int(time.time()),
            "from": f"{sender}@c.us",
            "fromMe": False,
            "to": session.me_id,
            "body": str(body.get("text", "")),
            "hasMedia": False,
        }
        self.webhooks.post_waha_now(name, "message", payload, status="inbound")
        return web.json_response({"id": message_id}, status=202)

    # WAHA subset -----------------------------------------------------------------------------

    async def waha_create_session(self, request: web.Request) -> web.Response:
        body = await _json_object(request)
        name = str(body.get("name") or "default")
        if not _ID_PATTERN.match(name):
            return _bad_request("invalid session name")
        if name in self.state.sessions:
            return web.json_response(
                {"message": f"Session '{name}' already exists. Use PUT to update it."}, status=422
            )
        raw_config = body.get("config")
        config: dict[str, Any] = raw_config if isinstance(raw_config, dict) else {}
        webhooks = [w for w in config.get("webhooks") or [] if isinstance(w, dict) and w.get("url")]
        first = webhooks[0] if webhooks else {}
        session = WebSession(
            name=name,
            status="STOPPED",
            webhook_url=str(first["url"]) if first else None,
            webhook_events=tuple(str(e) for e in first.get("events") or ("*",)),
            hmac_key=(first.get("hmac") or {}).get("key") if first else None,
            metadata=dict(config.get("metadata") or {}),
            qr_value="",
        )
        self.state.sessions[name] = session
        if body.get("start", True):
            self._set_session_status(session, "SCAN_QR_CODE")
        return web.json_response(session.dto(), status=201)

    async def waha_list_sessions(self, request: web.Request) -> web.Response:
        return web.json_response([s.dto() for s in self.state.sessions.values()])

    async def waha_get_session(self, request: web.Request) -> web.Response:
        session = self.state.sessions.get(request.match_info["name"])
        if session is None:
            return _not_found("session not found")
        return web.json_response(session.dto())

    async def waha_delete_session(self, request: web.Request) -> web.Response:
        if self.state.sessions.pop(request.match_info["name"], None) is None:
            return _not_found("session not found")
        return web.json_response({}, status=200)

    async def waha_session_action(self, request: web.Request) -> web.Response:
        session = self.state.sessions.get(request.match_info["name"])
        if session is None:
            return _not_found("session not found")
        action = request.match_info["action"]
        if action == "start":
            paired = session.me_id is not None and session.status != "FAILED"
            self._set_session_status(session, "WORKING" if paired else "SCAN_QR_CODE")
        elif action == "stop":
            self._set_session_status(session, "STOPPED")
        else:  # logout: the pairing is forgotten
            session.me_id = None
            self._set_session_status(session, "STOPPED")
        return web.json_response(session.dto(), status=201)

    async def waha_qr(self, request: web.Request) -> web.Response:
        session = self.state.sessions.get(request.match_info["session"])
        if session is None:
            return _not_found("session not found")
        if session.status != "SCAN_QR_CODE":
            return _session_status_error(session, expected="SCAN_QR_CODE")
        if request.query.get("format") == "raw":
            return web.json_response({"value": session.qr_value})
        png = self._qr_png(session)
        accept = request.headers.get("Accept", "")
        if "application/json" in accept and "image/png" not in accept:
            data = base64.b64encode(png).decode()
            return web.json_response({"mimetype": "image/png", "data": data})
        return web.Response(body=png, content_type="image/png")

    async def waha_send_text(self, request: web.Request) -> web.Response:
        body = await _json_object(request)
        session, chat_id, refused = self._waha_target(body)
        if refused is not None or session is None:
            return refused or _not_found("session not found")
        if not isinstance(body.get("text"), str) or not body["text"]:
            return _bad_request("chatId must be '<digits>@c.us' and text must be non-empty")
        return self._waha_accept(session, chat_id, "chat", body["text"], {"text": body["text"]})

    async def waha_send_media(self, request: web.Request) -> web.Response:
        """WAHA's ``POST /api/sendImage`` and ``/api/sendFile`` (research §2 "Sending"):
        ``{session, chatId, file: {mimetype, filename, url | data (base64)}, caption}``.

        The file must carry an http(s) ``url`` or valid base64 ``data``, and a ``mimetype``
        (sandbox choice: WAHA's DTO lists it; sendImage also wants an ``image/*`` type).
        """
        body = await _json_object(request)
        session, chat_id, refused = self._waha_target(body)
        if refused is not None or session is None:
            return refused or _not_found("session not found")
        kind = "image" if request.match_info["kind"] == "sendImage" else "document"
        file = body.get("file")
        if not isinstance(file, dict):
            return _bad_request("file must be an object with mimetype and url or data")
        mimetype = file.get("mimetype")
        if not isinstance(mimetype, str) or "/" not in mimetype:
            return _bad_request("file.mimetype is required, e.g. 'image/jpeg'")
        if kind == "image" and not mimetype.startswith("image/"):
            return _bad_request("sendImage needs an image/* file; use sendFile for documents")
        size: int | None = None
        if isinstance(file.get("url"), str) and file["url"]:
            if not re.match(r"^https?://", file["url"]):
                return _bad_request("file.url must be an http(s) URL")
        elif isinstance(file.get("data"), str) and file["data"]:
            try:
                size = len(base64.b64decode(file["data"], validate=True))
            except ValueError:
                return _bad_request("file.data must be base64")
        else:
            return _bad_request("file needs a url or base64 data")
        caption = body.get("caption")
        if caption is not None and not isinstance(caption, str):
            return _bad_request("caption must be text")
        recorded = {
            "file": {
                "mimetype": mimetype,
                "filename": file.get("filename"),
                "url": file.get("url"),
                "size": size,
            },
            "caption": caption,
        }
        return self._waha_accept(session, chat_id, kind, caption or "", recorded)

    def _waha_target(self, body: dict[str, Any]) -> tuple[WebSession, str, web.Response | None]:
        """The WORKING session and valid chat id a send names, or the error WAHA answers."""
        session = self.state.sessions.get(str(body.get("session") or "default"))
        dummy = WebSession("", "", None, (), None, {}, "")
        if session is None:
            return dummy, "", _not_found("session not found")
        if session.status != "WORKING":
            return session, "", _session_status_error(session, expected="WORKING")
        chat_id = str(body.get("chatId", ""))
        if _CHAT_ID_PATTERN.match(chat_id) is None:
            return session, "", _bad_request("chatId must be '<digits>@c.us'")
        return session, chat_id, None

    def _waha_accept(
        self,
        session: WebSession,
        chat_id: str,
        kind: str,
        text: str,
        recorded: dict[str, Any],
    ) -> web.Response:
        """Accept a WAHA send: stats, log, acks, and the engine's message object (201)."""
        session.stats.record_accept(time.monotonic(), None)
        raw_id = self._new_message_id(session.name).upper()[:20]
        serialized = f"true_{chat_id}_{raw_id}"
        digits = chat_id.split("@", 1)[0]
        session.log.append(
            {"id": serialized, "to": digits, "type": kind, "at": time.time(), **recorded}
        )
        self._schedule_acks(
            session, serialized, chat_id, failed=bool(self._not_on_whatsapp.search(digits))
        )
        return web.json_response(
            {
                "id": {"fromMe": True, "remote": chat_id, "id": raw_id, "_serialized": serialized},
                "body": text,
                "type": kind,
                "hasMedia": kind != "chat",
                "from": session.me_id,
                "to": chat_id,
                "ack": 0,
                "timestamp": int(time.time()),
            },
            status=201,
        )

    async def session_messages(self, request: web.Request) -> web.Response:
        """The sends a WAHA session accepted, oldest first (``?type=image`` filters)."""
        session = self.state.sessions.get(request.match_info["name"])
        if session is None:
            return _not_found("session not found")
        kind = request.query.get("type")
        entries = [e for e in session.log if kind is None or e["type"] == kind]
        return web.json_response({"count": len(entries), "data": entries})

    def _schedule_acks(
        self, session: WebSession, message_id: str, chat_id: str, *, failed: bool
    ) -> None:
        config = self.config
        if failed:
            plan = [(-1, "ERROR", "failed", config.sent_delay)]
        else:
            plan = [
                (1, "SERVER", "sent", config.sent_delay),
                (2, "DEVICE", "delivered", config.delivered_delay),
            ]
            if self._chance(config.read_ratio):
                plan.append((3, "READ", "read", config.read_delay))
        for ack, ack_name, label, delay in plan:
            item = {
                "id": message_id,
                "from": session.me_id,
                "to": chat_id,
                "participant": None,
                "fromMe": True,
                "ack": ack,
                "ackName": ack_name,
            }
            self.webhooks.schedule(session.name, item, delay, session=True, label=label)

    def _set_session_status(self, session: WebSession, status: str) -> None:
        if status == "SCAN_QR_CODE":
            session.qr_value = f"2@sandbox-{session.name}-{self.rng.getrandbits(64):016x}"
        session.status = status
        self.webhooks.post_waha_now(
            session.name, "session.status", {"name": session.name, "status": status}
        )

    def _qr_png(self, session: WebSession) -> bytes:
        cached = self._qr_cache.get(session.qr_value)
        if cached is None:
            buffer = io.BytesIO()
            qrcode.make(session.qr_value).save(buffer)
            cached = buffer.getvalue()
            if len(self._qr_cache) > 100:  # codes rotate; keep the cache small
                self._qr_cache.clear()
            self._qr_cache[session.qr_value] = cached
        return cached

    # Control API -----------------------------------------------------------------------------

    async def index_page(self, request: web.Request) -> web.Response:
        return web.Response(text=render_index(self), content_type="text/html")

    async def to_index_page(self, request: web.Request) -> web.Response:
        raise web.HTTPFound("/_sandbox/")

    async def health(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    async def get_config(self, request: web.Request) -> web.Response:
        return web.json_response(self.config.as_dict())

    async def post_config(self, request: web.Request) -> web.Response:
        try:
            self.set_config(self.config.updated(await _json_object(request)))
        except ConfigError as exc:
            return _bad_request(str(exc))
        return web.json_response(self.config.as_dict())

    async def webhook_times(self, request: web.Request) -> web.Response:
        """When each status webhook was first posted (``--record-webhook-times``)."""
        return web.json_response(self.webhooks.posted_at)

    async def stats(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "numbers": {
                    key: {**number.stats.as_dict(), "banned": number.banned}
                    for key, number in self.state.numbers.items()
                },
                "sessions": {
                    key: {**session.stats.as_dict(), "status": session.status}
                    for key, session in self.state.sessions.items()
                },
                "webhooks": {
                    **self.webhooks.totals,
                    "duplicate_posts": self.webhooks.duplicate_posts,
                    "pending": self.webhooks.pending,
                },
            }
        )

    async def reset(self, request: web.Request) -> web.Response:
        """Clear messages, stats and queued webhooks; ``{"numbers": true}`` drops numbers and
        sessions too, ``{"config": true}`` restores the start-up config."""
        body = await _json_object(request)
        self.webhooks.clear()
        self.state.reset(keep_numbers=not body.get("numbers", False))
        if body.get("config", False):
            self.set_config(self.initial_config)
        self.rng.seed(self.config.seed)
        return web.json_response({"ok": True})

    async def list_numbers(self, request: web.Request) -> web.Response:
        return web.json_response([n.public() for n in self.state.numbers.values()])

    async def register_number(self, request: web.Request) -> web.Response:
        """Idempotent upsert of a number; its stats and ban state survive an update."""
        body = await _json_object(request)
        phone_number_id = str(body.get("phone_number_id", ""))
        access_token = body.get("access_token")
        callback_url = body.get("callback_url") or None
        throughput = body.get("throughput_per_second", self.config.default_throughput_per_second)
        if not _ID_PATTERN.match(phone_number_id):
            return _bad_request("phone_number_id must be 1-64 letters, digits, '.', '_' or '-'")
        if not isinstance(access_token, str) or not access_token:
            return _bad_request("access_token is required")
        if callback_url is not None and not re.match(r"^https?://", str(callback_url)):
            return _bad_request("callback_url must be an http(s) URL")
        if isinstance(throughput, bool) or not isinstance(throughput, int) or throughput < 1:
            return _bad_request("throughput_per_second must be a positive integer")
        for key, allowed in (
            ("rules", RULES),
            ("quality_rating", QUALITY_RATINGS),
            ("messaging_limit_tier", TIERS),
        ):
            if key in body and body[key] not in allowed:
                return _bad_request(f"{key} must be one of {', '.join(allowed)}")
        templates = body.get("templates") or []
        if not isinstance(templates, list):
            return _bad_request("templates must be a list of template definitions")
        for definition in templates:
            try:
                parse_definition(definition)
            except TemplateError as exc:
                return _bad_request(f"templates: {exc}")
        existing = self.state.numbers.get(phone_number_id)
        number = existing or Number(
            phone_number_id=phone_number_id,
            display_phone_number="",
            access_token="",
            app_secret="",
            callback_url=None,
            throughput_per_second=1,
            waba_id="",
        )
        number.display_phone_number = str(body.get("display_phone_number") or phone_number_id)
        number.access_token = access_token
        number.app_secret = str(body.get("app_secret") or "")
        number.callback_url = str(callback_url) if callback_url else None
        number.throughput_per_second = throughput
        number.waba_id = str(body.get("waba_id") or f"sandbox-waba-{phone_number_id}")
        for key in ("rules", "quality_rating", "messaging_limit_tier"):
            if key in body:
                setattr(number, key, str(body[key]))
        if body.get("verified_name"):
            number.verified_name = str(body["verified_name"])
        self.state.numbers[phone_number_id] = number
        # Templates given at registration are APPROVED at once (the one-click sandbox number's
        # starter template); an existing name+language is left as it is.
        for definition in templates:
            if self.registry.find(number.waba_id, definition["name"], definition["language"]):
                continue
            self.registry.register(number.waba_id, definition, status="APPROVED")
        return web.json_response(number.public(), status=200 if existing else 201)

    async def number_health(self, request: web.Request) -> web.StreamResponse:
        """``POST /_sandbox/numbers/{id}/health``: quality rating, messaging-limit tier and
        throughput level (JSON or the page's form), each change with Meta's webhook.

        * ``quality_rating`` GREEN/YELLOW/RED: ``phone_number_quality_update`` with event FLAGGED
          when it gets worse and UNFLAGGED when it recovers (Meta's older events, research §1.6,
          marked unverified there; which drops fire is a sandbox choice: every one);
        * ``messaging_limit_tier``: the limit belongs to the business account (research §1.5,
          "shared by all of the portfolio's numbers"), so every number of the WABA moves, each
          with ``phone_number_quality_update`` UPGRADE/DOWNGRADE (``old_limit``,
          ``current_limit``, ``max_daily_conversations_per_business``), plus one
          ``business_capability_update``;
        * ``throughput_level`` HIGH: the automatic upgrade to 1,000 messages/s with the
          ``THROUGHPUT_UPGRADE`` event; STANDARD returns to 80/s (Meta documents no event).

        ``account_update`` is not posted: Meta documents no account_update event for quality,
        tier or throughput changes (only restrictions, violations, bans: see ``ban``).
        """
        number = self.state.numbers.get(request.match_info["id"])
        if number is None:
            return _not_found("unknown phone_number_id")
        form = wants_form(request)
        fields: Any = await request.post() if form else await _json_object(request)
        quality = str(fields.get("quality_rating") or number.quality_rating).upper()
        tier = str(fields.get("messaging_limit_tier") or number.messaging_limit_tier).upper()
        level = str(fields.get("throughput_level") or number.throughput_level).upper()
        if quality not in QUALITY_RATINGS:
            return _bad_request(f"quality_rating must be one of {', '.join(QUALITY_RATINGS)}")
        if tier not in TIERS:
            return _bad_request(f"messaging_limit_tier must be one of {', '.join(TIERS)}")
        if level not in THROUGHPUT_LEVELS:
            return _bad_request(f"throughput_level must be one of {', '.join(THROUGHPUT_LEVELS)}")
        if quality != number.quality_rating:
            worse = QUALITY_RATINGS.index(quality) > QUALITY_RATINGS.index(number.quality_rating)
            number.quality_rating = quality
            self._quality_event(number, "FLAGGED" if worse else "UNFLAGGED")
        if tier != number.messaging_limit_tier:
            self._set_tier(number.waba_id, tier)
        if level != number.throughput_level:
            number.throughput_level = level
            number.throughput_per_second = THROUGHPUT_LEVELS[level]
            if level == "HIGH":
                self._quality_event(number, "THROUGHPUT_UPGRADE")
        if form:
            raise web.HTTPSeeOther("/_sandbox/")
        return web.json_response(number.public())

    def _quality_event(self, number: Number, event: str, **extra: Any) -> None:
        value: dict[str, Any] = {
            "display_phone_number": number.display_phone_number,
            "event": event,
            **extra,
            "current_limit": number.messaging_limit_tier,
            "max_daily_conversations_per_business": number.messaging_limit_tier,
        }
        self.webhooks.post_meta_now(
            number.phone_number_id, "phone_number_quality_update", value, label=event
        )

    def _set_tier(self, waba_id: str, tier: str) -> None:
        numbers = self.state.waba_numbers(waba_id)
        for number in numbers:
            old = number.messaging_limit_tier
            if old == tier:
                continue
            number.messaging_limit_tier = tier
            up = TIERS.index(tier) > TIERS.index(old)
            self._quality_event(number, "UPGRADE" if up else "DOWNGRADE", old_limit=old)
        self.webhooks.post_waba_now(
            waba_id,
            "business_capability_update",
            {
                "max_daily_conversation_per_phone": TIER_LIMITS[tier],
                "max_daily_conversations_per_business": tier,
            },
            label="business_capability_update",
        )

    async def number_messages(self, request: web.Request) -> web.Response:
        """The requests this number accepted, oldest first (``?type=template`` filters)."""
        number = self.state.numbers.get(request.match_info["id"])
        if number is None:
            return _not_found("unknown phone_number_id")
        kind = request.query.get("type")
        entries = [e for e in number.log if kind is None or e["type"] == kind]
        return web.json_response({"count": len(entries), "data": entries})

    async def delete_number(self, request: web.Request) -> web.Response:
        if self.state.numbers.pop(request.match_info["id"], None) is None:
            return _not_found("unknown phone_number_id")
        return web.Response(status=204)

    async def ban_number(self, request: web.Request) -> web.Response:
        number = self.state.numbers.get(request.match_info["id"])
        if number is None:
            return _not_found("unknown phone_number_id")
        if request.match_info["action"] == "ban":
            self.ban(number)
        else:
            self.unban(number)
        return web.json_response(number.public())

    async def scan_session(self, request: web.Request) -> web.StreamResponse:
        """Pretend a phone scanned the QR code: the session pairs and becomes WORKING."""
        session = self.state.sessions.get(request.match_info["name"])
        if session is None:
            return _not_found("session not found")
        is_form = request.content_type in _FORM_TYPES
        fields: Any = await request.post() if is_form else await _json_object(request)
        if request.match_info["action"] == "fail":
            self._set_session_status(session, "FAILED")
        else:
            if session.status != "SCAN_QR_CODE":
                return _session_status_error(session, expected="SCAN_QR_CODE")
            phone = _digits(fields.get("phone", ""))
            session.me_id = f"{phone or f'99450{self.rng.randrange(10**7):07d}'}@c.us"
            self._set_session_status(session, "WORKING")
        if is_form:  # the page's button: back to the page
            raise web.HTTPSeeOther("/_sandbox/")
        return web.json_response(session.dto())

    async def session_qr_png(self, request: web.Request) -> web.Response:
        session = self.state.sessions.get(request.match_info["name"])
        if session is None or session.status != "SCAN_QR_CODE":
            return _not_found("no QR code to show")
        return web.Response(body=self._qr_png(session), content_type="image/png")

    # Wiring ----------------------------------------------------------------------------------

    def waha_auth(self, handler: Handler) -> Handler:
        """WAHA's ``X-Api-Key`` check around a handler."""

        async def checked(request: web.Request) -> web.StreamResponse:
            if request.headers.get("X-Api-Key") != self.config.web_api_key:
                return web.json_response({"message": "Unauthorized", "statusCode": 401}, status=401)
            return await handler(request)

        return checked


def _validate_send(body: Any) -> tuple[int, str] | None:
    """Graph-style validation of a ``/messages`` body: ``(code, details)`` or ``None``."""
    if not isinstance(body, dict):
        return 100, "The request body must be a JSON object."
    if body.get("messaging_product") != "whatsapp":
        return 100, "messaging_product must be 'whatsapp'."
    if not _digits(body.get("to", "")):
        return 131008, "Parameter 'to' is required."
    kind = body.get("type", "text")
    if kind == "text":
        text = body.get("text")
        if not isinstance(text, dict) or not isinstance(text.get("body"), str) or not text["body"]:
            return 131008, "Parameter 'text.body' is required."
        if len(text["body"]) > MAX_TEXT_LENGTH:
            return 100, f"text.body must be at most {MAX_TEXT_LENGTH} characters."
        return None
    if kind == "template":
        template = body.get("template")
        if not isinstance(template, dict) or not template.get("name"):
            return 131008, "Parameter 'template.name' is required."
        language = template.get("language")
        if not isinstance(language, dict) or not language.get("code"):
            return 131008, "Parameter 'template.language.code' is required."
        return None
    if kind in MEDIA_MESSAGE_TYPES:
        media = body.get(kind)
        if not isinstance(media, dict):
            return 131008, f"Parameter '{kind}' is required."
        caption = media.get("caption")
        if caption is not None and (not isinstance(caption, str) or len(caption) > 1024):
            return 100, f"{kind}.caption must be text of at most 1024 characters."
        return None
    if kind == "interactive":
        interactive = body.get("interactive")
        if not isinstance(interactive, dict) or interactive.get("type") not in (
            "button",
            "list",
            "cta_url",
        ):
            return (
                131008,
                "Parameter 'interactive' with a type (button, list, cta_url) is required.",
            )
        inner = interactive.get("body")
        if not isinstance(inner, dict) or not isinstance(inner.get("text"), str):
            return 131008, "Parameter 'interactive.body.text' is required."
        if len(inner["text"]) > 1024:
            return 100, "interactive.body.text must be at most 1024 characters."
        return None
    return 131051, f"Message type '{kind}' is not supported by the sandbox."


def _log_entry(
    wamid: str, recipient: str, body: dict[str, Any], *, window_closed: bool
) -> dict[str, Any]:
    """What the control API's per-number message log keeps of an accepted request."""
    kind = body.get("type", "text")
    entry: dict[str, Any] = {
        "id": wamid,
        "to": recipient,
        "type": kind,
        "at": time.time(),
        "biz_opaque_callback_data": body.get("biz_opaque_callback_data"),
    }
    if kind in body:
        entry[kind] = body[kind]
    if window_closed:
        entry["failed_with"] = 131047
    return entry


def _webhook_error(code: int) -> dict[str, Any]:
    title = error_title(code)
    return {
        "code": code,
        "title": title,
        "message": title,
        "error_data": {"details": title},
        "href": ERROR_DOCS_HREF,
    }


def _session_status_error(session: WebSession, *, expected: str) -> web.Response:
    """WAHA's answer when a session is not in the state a call needs (HTTP 422)."""
    return web.json_response(
        {
            "error": "Session status is not as expected. Try again later or restart the session",
            "session": session.name,
            "status": session.status,
            "expected": [expected],
        },
        status=422,
    )


SANDBOX_KEY = web.AppKey("sandbox", Sandbox)


def build_app(config: SandboxConfig | None = None) -> web.Application:
    """The sandbox as an aiohttp application (also usable in-process with aiohttp's test tools)."""
    sandbox = Sandbox(config or SandboxConfig())
    app = web.Application(client_max_size=MAX_REQUEST_BYTES)
    app[SANDBOX_KEY] = sandbox
    waha = sandbox.waha_auth
    add = app.router
    add.add_get("/_sandbox/", sandbox.index_page)
    add.add_get("/_sandbox", sandbox.to_index_page)
    add.add_get("/_sandbox/health", sandbox.health)
    add.add_get("/_sandbox/webhook-times", sandbox.webhook_times)
    add.add_get("/_sandbox/config", sandbox.get_config)
    add.add_post("/_sandbox/config", sandbox.post_config)
    add.add_get("/_sandbox/stats", sandbox.stats)
    add.add_post("/_sandbox/reset", sandbox.reset)
    add.add_get("/_sandbox/numbers", sandbox.list_numbers)
    add.add_post("/_sandbox/numbers", sandbox.register_number)
    add.add_delete("/_sandbox/numbers/{id}", sandbox.delete_number)
    add.add_post("/_sandbox/numbers/{id}/{action:ban|unban}", sandbox.ban_number)
    add.add_post("/_sandbox/inbound", sandbox.inject_inbound)
    add.add_post("/_sandbox/sessions/{name}/{action:scan|fail}", sandbox.scan_session)
    add.add_get("/_sandbox/sessions/{name}/qr.png", sandbox.session_qr_png)
    add.add_post("/api/sessions", waha(sandbox.waha_create_session))
    add.add_get("/api/sessions", waha(sandbox.waha_list_sessions))
    add.add_get("/api/sessions/{name}", waha(sandbox.waha_get_session))
    add.add_delete("/api/sessions/{name}", waha(sandbox.waha_delete_session))
    add.add_post(
        "/api/sessions/{name}/{action:start|stop|logout}", waha(sandbox.waha_session_action)
    )
    add.add_get("/api/{session}/auth/qr", waha(sandbox.waha_qr))
    add.add_post("/api/sendText", waha(sandbox.waha_send_text))
    add.add_post("/api/{kind:sendImage|sendFile}", waha(sandbox.waha_send_media))
    add.add_get("/_sandbox/sessions/{name}/messages", sandbox.session_messages)
    add.add_post(
        f"/{{version:{GRAPH_VERSION_PATTERN}}}/{{phone_number_id}}/messages", sandbox.send_message
    )
    registry = sandbox.registry
    templates_edge = f"/{{version:{GRAPH_VERSION_PATTERN}}}/{{waba_id}}/message_templates"
    add.add_get(templates_edge, registry.graph_list)
    add.add_post(templates_edge, registry.graph_create)
    add.add_delete(templates_edge, registry.graph_delete)
    # The Resumable Upload API (template samples): before the catch-all node routes below.
    version = f"{{version:{GRAPH_VERSION_PATTERN}}}"
    uploads = sandbox.uploads
    add.add_get(f"/{version}/app", uploads.app_node)
    add.add_post(f"/{version}/{{app_id}}/uploads", uploads.open_session)
    add.add_get(f"/{version}/{{session:upload:[^/]+}}", uploads.session_status)
    add.add_post(f"/{version}/{{session:upload:[^/]+}}", uploads.upload)
    add.add_get("/_sandbox/uploads", uploads.control_list)
    add.add_get(f"/{{version:{GRAPH_VERSION_PATTERN}}}/{{node_id}}", sandbox.graph_node)
    add.add_delete(f"/{{version:{GRAPH_VERSION_PATTERN}}}/{{node_id}}", sandbox.media.delete)
    add.add_post(
        f"/{{version:{GRAPH_VERSION_PATTERN}}}/{{phone_number_id}}/media", sandbox.media.upload
    )
    add.add_get("/_sandbox/media", sandbox.media.control_list)
    add.add_get("/_sandbox/media/{id}/file", sandbox.media.download)
    add.add_post("/_sandbox/media/{id}/expire", sandbox.media.control_expire)
    add.add_get("/_sandbox/templates", registry.control_list)
    add.add_post("/_sandbox/templates", registry.control_register)
    add.add_post("/_sandbox/templates/{id}/{what:status|category|quality}", registry.control_change)
    add.add_delete("/_sandbox/templates/{id}", registry.control_delete)
    add.add_get("/_sandbox/numbers/{id}/messages", sandbox.number_messages)
    add.add_post("/_sandbox/numbers/{id}/health", sandbox.number_health)

    async def start_webhooks(app: web.Application) -> None:
        await sandbox.webhooks.start()

    async def stop_webhooks(app: web.Application) -> None:
        await sandbox.webhooks.stop()

    app.on_startup.append(start_webhooks)
    app.on_cleanup.append(stop_webhooks)
    return app


def run(config: SandboxConfig, *, host: str = "127.0.0.1", port: int = 9100) -> None:
    """Serve until interrupted (SIGINT/SIGTERM)."""
    logger.info("sandbox gateway listening on http://%s:%d/_sandbox/", host, port)
    web.run_app(build_app(config), host=host, port=port, access_log=None, print=None)
