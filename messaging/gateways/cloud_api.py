"""Meta WhatsApp Business Cloud API adapter (also speaks to the sandbox, which uses this dialect).

Sends text and template messages concurrently over one reused aiohttp session, tagging each with
``biz_opaque_callback_data`` = our public message id so status webhooks (and ambiguous sends)
can be matched to our rows. Webhook helpers are pure functions: the GET handshake, the
``X-Hub-Signature-256`` check and :func:`parse_webhook`, which walks every entry, change, status
and message of a batch (Meta batches up to 1000 updates per POST).
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import aiohttp

from core.outgoing import AddressPolicy
from messaging.gateways.base import (
    AccountEffect,
    AccountEvent,
    Classification,
    CloudApiCredentials,
    DeliveryStatus,
    ErrorEvent,
    Event,
    HttpReply,
    HttpTransport,
    InboundMessageEvent,
    MediaAttachment,
    NumberHealthEvent,
    OutboundMessage,
    Outcome,
    OutcomeKind,
    ProviderError,
    StatusEvent,
    TemplateEvent,
    TemplateParameter,
    Timeouts,
    TransportFailure,
    classify_error_code,
    exchange,
    gather_bounded,
    json_loads,
    timestamp_from_unix,
)
from messaging.gateways.freeform import (
    FreeFormContent,
    ListMessage,
    Media,
    ReplyButtons,
)
from messaging.gateways.signatures import META_SIGNATURE_HEADER, meta_signature, verify_signature

__all__ = [
    "DEFAULT_GRAPH_URL",
    "DEFAULT_GRAPH_VERSION",
    "META_SIGNATURE_HEADER",
    "CloudApiAdapter",
    "CredentialCheck",
    "MediaUpload",
    "GraphRequestError",
    "GraphTemplate",
    "PhoneNumberHealth",
    "build_message_payload",
    "content_payload",
    "media_object",
    "meta_signature",
    "parse_graph_error",
    "parse_webhook",
    "template_components",
    "verify_signature",
    "verify_webhook_handshake",
]

logger = logging.getLogger(__name__)

DEFAULT_GRAPH_URL = "https://graph.facebook.com"
DEFAULT_GRAPH_VERSION = "v23.0"
#: Meta's limit for ``biz_opaque_callback_data`` (pywa docs): longer values are rejected.
MAX_CALLBACK_DATA_LENGTH = 512


def media_object(media: MediaAttachment, *, caption: bool = False) -> dict[str, Any]:
    """Meta's media object: ``{"id": ...}`` for an uploaded file, else ``{"link": ...}``.

    Inline bytes are not a Graph source: upload them first (:meth:`CloudApiAdapter.upload_media`).
    """
    if media.media_id:
        obj: dict[str, Any] = {"id": media.media_id}
    elif media.link:
        obj = {"link": media.link}
    else:
        raise ValueError("the Cloud API needs an uploaded media id or a link, not inline bytes")
    if media.kind == "document" and media.filename:
        obj["filename"] = media.filename
    if caption and media.caption and media.kind != "audio":
        obj["caption"] = media.caption
    return obj


def _text_parameter(parameter: str | TemplateParameter) -> dict[str, Any]:
    if isinstance(parameter, TemplateParameter):
        item: dict[str, Any] = {"type": "text", "text": parameter.text}
        if parameter.name:
            item["parameter_name"] = parameter.name
        return item
    return {"type": "text", "text": parameter}


def template_components(message: OutboundMessage) -> list[dict[str, Any]]:
    """The ``template.components`` of a send: header (text variables or media), body
    parameters (positional, or named with ``parameter_name``) and URL-button suffixes."""
    components: list[dict[str, Any]] = []
    if message.header_media is not None:
        media = message.header_media
        components.append(
            {
                "type": "header",
                "parameters": [{"type": media.kind, media.kind: media_object(media)}],
            }
        )
    elif message.header_parameters:
        components.append(
            {
                "type": "header",
                "parameters": [_text_parameter(p) for p in message.header_parameters],
            }
        )
    if message.body_parameters:
        components.append(
            {"type": "body", "parameters": [_text_parameter(p) for p in message.body_parameters]}
        )
    for button in sorted(message.button_parameters, key=lambda b: b.index):
        components.append(
            {
                "type": "button",
                "sub_type": button.sub_type,
                "index": str(button.index),
                "parameters": [
                    {"type": "coupon_code", "coupon_code": button.text}
                    if button.sub_type == "copy_code"
                    else {"type": "text", "text": button.text}
                ],
            }
        )
    return components


def build_message_payload(message: OutboundMessage) -> dict[str, Any]:
    """The Graph ``/messages`` request body for one message (text, template, media or
    interactive)."""
    payload: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": message.recipient_digits,
        "biz_opaque_callback_data": message.public_id[:MAX_CALLBACK_DATA_LENGTH],
    }
    if message.template_name is not None:
        template: dict[str, Any] = {
            "name": message.template_name,
            "language": {"code": message.template_language},
        }
        components = template_components(message)
        if components:
            template["components"] = components
        payload["type"] = "template"
        payload["template"] = template
    elif message.content is not None:
        payload.update(content_payload(message.content))
    elif message.media is not None:
        media = message.media
        with_caption = MediaAttachment(
            kind=media.kind,
            link=media.link,
            media_id=media.media_id,
            data=media.data,
            mime_type=media.mime_type,
            filename=media.filename,
            caption=media.caption or (message.text or ""),
        )
        payload["type"] = media.kind
        payload[media.kind] = media_object(with_caption, caption=True)
    else:
        payload["type"] = "text"
        payload["text"] = {"preview_url": False, "body": message.text}
    return payload


def _interactive_frame(header: str, body: str, footer: str) -> dict[str, Any]:
    frame: dict[str, Any] = {"body": {"text": body}}
    if header:
        frame["header"] = {"type": "text", "text": header}
    if footer:
        frame["footer"] = {"text": footer}
    return frame


def content_payload(content: FreeFormContent) -> dict[str, Any]:
    """The type-specific part of a ``/messages`` body for media or an interactive message,
    in Meta's documented shapes (``type`` plus the object of that name)."""
    if isinstance(content, Media):
        media: dict[str, Any] = {"link": content.link}
        if content.caption:
            media["caption"] = content.caption
        if content.filename:
            media["filename"] = content.filename
        return {"type": content.kind, content.kind: media}
    if isinstance(content, ReplyButtons):
        interactive = {
            "type": "button",
            **_interactive_frame(content.header, content.body, content.footer),
            "action": {
                "buttons": [
                    {"type": "reply", "reply": {"id": b.id, "title": b.title}}
                    for b in content.buttons
                ]
            },
        }
        return {"type": "interactive", "interactive": interactive}
    if isinstance(content, ListMessage):
        sections = []
        for section in content.sections:
            rows = []
            for row in section.rows:
                item = {"id": row.id, "title": row.title}
                if row.description:
                    item["description"] = row.description
                rows.append(item)
            sections.append(
                {"title": section.title, "rows": rows} if section.title else {"rows": rows}
            )
        interactive = {
            "type": "list",
            **_interactive_frame(content.header, content.body, content.footer),
            "action": {"button": content.button, "sections": sections},
        }
        return {"type": "interactive", "interactive": interactive}
    raise TypeError(f"not free-form content: {content!r}")


@dataclass(frozen=True, slots=True)
class MediaUpload:
    """The result of :meth:`CloudApiAdapter.upload_media`: Meta's media id, or why not."""

    ok: bool
    media_id: str | None = None
    kind: OutcomeKind | None = None
    error: ProviderError | None = None
    note: str = ""


def parse_graph_error(reply: HttpReply) -> ProviderError:
    """Read a Graph error body; a body without ``error.code`` yields ``code=None`` (unknown)."""
    error = reply.body.get("error") if isinstance(reply.body, dict) else None
    if not isinstance(error, dict):
        snippet = reply.raw[:200].decode("utf-8", errors="replace")
        return ProviderError(code=None, title=snippet, http_status=reply.status)
    error_data = error.get("error_data")
    details = error_data.get("details", "") if isinstance(error_data, dict) else ""
    return ProviderError(
        code=_int_or_none(error.get("code")),
        title=str(error.get("message", "")),
        details=str(details or ""),
        subcode=_int_or_none(error.get("error_subcode")),
        http_status=reply.status,
        trace_id=error.get("fbtrace_id"),
    )


#: The phone number node's health fields (research §1.5; ``messaging_limit_tier`` is the older
#: name of ``whatsapp_business_manager_messaging_limit``, both still answered).
HEALTH_FIELDS = (
    "quality_rating",
    "messaging_limit_tier",
    "whatsapp_business_manager_messaging_limit",
    "throughput",
)


@dataclass(frozen=True, slots=True)
class PhoneNumberHealth:
    """The result of :meth:`CloudApiAdapter.fetch_health`."""

    ok: bool
    quality_rating: str | None = None
    messaging_limit_tier: str | None = None
    throughput_level: str | None = None
    error: ProviderError | None = None
    note: str = ""


def _health_from_node(body: Mapping[str, Any]) -> PhoneNumberHealth:
    quality = str(body.get("quality_rating") or "").upper()
    throughput = body.get("throughput")
    level = throughput.get("level") if isinstance(throughput, dict) else None
    return PhoneNumberHealth(
        ok=True,
        quality_rating=quality if quality in _QUALITY_RATINGS else None,
        messaging_limit_tier=_tier(
            body.get("whatsapp_business_manager_messaging_limit")
            or body.get("messaging_limit_tier")
        ),
        throughput_level=str(level).upper() if level else None,
    )


@dataclass(frozen=True, slots=True)
class CredentialCheck:
    """The result of :meth:`CloudApiAdapter.verify_credentials`."""

    ok: bool
    kind: OutcomeKind | None = None
    display_phone_number: str | None = None
    verified_name: str | None = None
    quality_rating: str | None = None
    error: ProviderError | None = None
    note: str = ""


#: The template fields a sync reads (Graph ``message_templates`` node).
TEMPLATE_FIELDS = (
    "id",
    "name",
    "language",
    "status",
    "category",
    "components",
    "parameter_format",
    "quality_score",
    "rejected_reason",
)
#: A guard against a paging loop (100 per page: 50,000 templates, far above Meta's WABA limit).
MAX_TEMPLATE_PAGES = 500


@dataclass(frozen=True, slots=True)
class GraphTemplate:
    """One template as ``GET /{waba_id}/message_templates`` describes it."""

    id: str
    name: str
    language: str
    status: str
    category: str
    components: list[dict[str, Any]]
    parameter_format: str = "POSITIONAL"
    quality: str = "UNKNOWN"
    rejected_reason: str = ""


class GraphRequestError(Exception):
    """A Graph management call (templates, uploads) that failed; ``error`` is Meta's error,
    ``user_message`` the sentence Meta meant for a person when it gave one."""

    def __init__(self, error: ProviderError, *, user_message: str = "") -> None:
        super().__init__(user_message or error.title or f"error {error.code}")
        self.error = error
        self.user_message = user_message

    @classmethod
    def from_reply(cls, reply: HttpReply) -> GraphRequestError:
        error = parse_graph_error(reply)
        body = reply.body.get("error") if isinstance(reply.body, dict) else None
        user = ""
        if isinstance(body, dict):
            parts = [str(body.get(k) or "") for k in ("error_user_title", "error_user_msg")]
            user = ": ".join(p for p in parts if p)
        return cls(error, user_message=user or error.details or error.title)


def _graph_template(item: Mapping[str, Any]) -> GraphTemplate | None:
    if not item.get("id") or not item.get("name") or not item.get("language"):
        logger.warning("skipping a template without id, name or language: %r", item)
        return None
    quality = item.get("quality_score")
    score = quality.get("score") if isinstance(quality, dict) else quality
    reason = _str_or_none(item.get("rejected_reason")) or ""
    return GraphTemplate(
        id=str(item["id"]),
        name=str(item["name"]),
        language=str(item["language"]),
        status=str(item.get("status") or "PENDING").upper(),
        category=str(item.get("category") or "MARKETING").upper(),
        components=_dicts(item.get("components")),
        parameter_format=str(item.get("parameter_format") or "POSITIONAL").upper(),
        quality=str(score or "UNKNOWN").upper(),
        rejected_reason="" if reason == "NONE" else reason,
    )


class CloudApiAdapter:
    """Sends through ``POST {base_url}/{version}/{phone_number_id}/messages``.

    Use as ``async with CloudApiAdapter(...) as adapter: await adapter.send_many(messages)``.
    The session is created in the running loop; pass ``transport`` to share one session among
    several numbers on the same loop (the adapter then leaves closing it to the owner).
    """

    def __init__(
        self,
        credentials: CloudApiCredentials,
        *,
        base_url: str = DEFAULT_GRAPH_URL,
        api_version: str = DEFAULT_GRAPH_VERSION,
        concurrency: int = 32,
        timeouts: Timeouts | None = None,
        transport: HttpTransport | None = None,
        address_policy: AddressPolicy | None = None,
    ) -> None:
        self.credentials = credentials
        self.concurrency = concurrency
        self._base = f"{base_url.rstrip('/')}/{api_version.strip('/')}"
        if address_policy is None:
            # The base URL is the operator's (settings), so its host is trusted; any other host
            # (a media URL an answer names) is checked, and redirects are never followed.
            host = urlsplit(base_url).hostname or ""
            address_policy = AddressPolicy(trusted_hosts=frozenset({host.lower()}))
        self._messages_url = f"{self._base}/{credentials.phone_number_id}/messages"
        self._owns_transport = transport is None
        self._transport = transport or HttpTransport(
            timeouts=timeouts, max_connections=max(concurrency, 1), address_policy=address_policy
        )
        self._headers = {
            "Authorization": f"Bearer {credentials.access_token}",
            "Content-Type": "application/json",
        }

    async def __aenter__(self) -> CloudApiAdapter:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._owns_transport:
            await self._transport.aclose()

    async def send(self, message: OutboundMessage) -> Outcome:
        """Send one message and classify the answer; never raises for provider or network errors."""
        try:
            reply = await exchange(
                self._transport,
                "POST",
                self._messages_url,
                headers=self._headers,
                payload=build_message_payload(message),
            )
        except TransportFailure as failure:
            return Outcome.transport_failure(
                message.public_id,
                request_sent=failure.request_sent,
                attempt=message.attempt,
                note=failure.note,
            )
        return self._outcome_from_reply(message, reply)

    async def send_many(self, messages: Sequence[OutboundMessage]) -> list[Outcome]:
        """Send concurrently (at most ``concurrency`` in flight); outcomes keep the input order."""
        return await gather_bounded(messages, self.send, self.concurrency)

    async def verify_credentials(self) -> CredentialCheck:
        """GET the phone number node: proves the token works for this phone number id."""
        url = f"{self._base}/{self.credentials.phone_number_id}"
        try:
            reply = await exchange(self._transport, "GET", url, headers=self._headers)
        except TransportFailure as failure:
            return CredentialCheck(ok=False, kind=OutcomeKind.RETRY_LATER, note=failure.note)
        if 200 <= reply.status < 300 and isinstance(reply.body, dict):
            return CredentialCheck(
                ok=True,
                display_phone_number=reply.body.get("display_phone_number"),
                verified_name=reply.body.get("verified_name"),
                quality_rating=reply.body.get("quality_rating"),
            )
        error = parse_graph_error(reply)
        verdict = classify_error_code(error.code)
        return CredentialCheck(ok=False, kind=verdict.kind, error=error, note=verdict.meaning)

    async def upload_media(self, *, data: bytes, mime_type: str, filename: str) -> MediaUpload:
        """``POST /{phone_number_id}/media`` (multipart): Meta keeps the file 30 days and answers
        its id, which sends then reference instead of a link."""
        form = aiohttp.FormData()
        form.add_field("messaging_product", "whatsapp")
        form.add_field("type", mime_type)
        form.add_field("file", data, filename=filename or "file", content_type=mime_type)
        url = f"{self._base}/{self.credentials.phone_number_id}/media"
        headers = {"Authorization": self._headers["Authorization"]}
        try:
            async with self._transport.session.post(
                url, data=form, headers=headers, allow_redirects=False
            ) as response:
                raw = await response.read()
                status, content_type = response.status, response.content_type
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            return MediaUpload(ok=False, kind=OutcomeKind.RETRY_LATER, note=type(exc).__name__)
        body: Any = None
        if raw and content_type in ("application/json", "text/javascript"):
            try:
                body = json_loads(raw)
            except ValueError:
                body = None
        if 200 <= status < 300 and isinstance(body, dict) and body.get("id"):
            return MediaUpload(ok=True, media_id=str(body["id"]))
        error = parse_graph_error(HttpReply(status, body, raw, content_type))
        verdict = classify_error_code(error.code)
        return MediaUpload(ok=False, kind=verdict.kind, error=error, note=verdict.meaning)

    # --- message templates (the WABA's, through the same token) ------------------------------

    async def _graph(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        payload: Any = None,
    ) -> Any:
        url = f"{self._base}/{path.lstrip('/')}"
        if params:
            url += "?" + urlencode({k: v for k, v in params.items() if v is not None})
        try:
            reply = await exchange(
                self._transport, method, url, headers=self._headers, payload=payload
            )
        except TransportFailure as failure:
            raise GraphRequestError(ProviderError(code=None, title=failure.note)) from failure
        if not 200 <= reply.status < 300:
            raise GraphRequestError.from_reply(reply)
        return reply.body if isinstance(reply.body, dict) else {}

    async def list_templates(self, waba_id: str, *, page_size: int = 100) -> list[GraphTemplate]:
        """Every template of the WABA, following Meta's cursor paging to the last page
        (``GET /{waba_id}/message_templates``; ``paging.next`` is present while pages remain
        and ``paging.cursors.after`` names the next one)."""
        templates: list[GraphTemplate] = []
        after: str | None = None
        for _page in range(MAX_TEMPLATE_PAGES):
            body = await self._graph(
                "GET",
                f"{quote(waba_id, safe='')}/message_templates",
                params={"fields": ",".join(TEMPLATE_FIELDS), "limit": page_size, "after": after},
            )
            templates.extend(
                parsed for item in _dicts(body.get("data")) if (parsed := _graph_template(item))
            )
            paging = _dict(body.get("paging"))
            after = _str_or_none(_dict(paging.get("cursors")).get("after"))
            if not paging.get("next") or not after:
                return templates
        raise GraphRequestError(
            ProviderError(code=None, title=f"more than {MAX_TEMPLATE_PAGES} pages of templates")
        )

    async def create_template(
        self,
        waba_id: str,
        *,
        name: str,
        language: str,
        category: str,
        components: Sequence[Mapping[str, Any]],
        parameter_format: str = "POSITIONAL",
    ) -> dict[str, Any]:
        """Submit a template for review (``POST /{waba_id}/message_templates``); Meta answers
        ``{"id", "status", "category"}``, usually PENDING."""
        payload: dict[str, Any] = {
            "name": name,
            "language": language,
            "category": category,
            "components": list(components),
        }
        if parameter_format != "POSITIONAL":
            payload["parameter_format"] = parameter_format
        body = await self._graph(
            "POST", f"{quote(waba_id, safe='')}/message_templates", payload=payload
        )
        if not body.get("id"):
            raise GraphRequestError(ProviderError(code=None, title="no template id in the answer"))
        return dict(body)

    async def delete_template(self, waba_id: str, *, name: str, meta_id: str = "") -> None:
        """Delete one language of a template (by ``hsm_id``) or, without its id, every language
        of that name (``DELETE /{waba_id}/message_templates?name=...[&hsm_id=...]``)."""
        await self._graph(
            "DELETE",
            f"{quote(waba_id, safe='')}/message_templates",
            params={"name": name, "hsm_id": meta_id or None},
        )

    async def upload_example(self, data: bytes, *, mime_type: str, file_name: str) -> str:
        """Upload a sample file for a media header with Meta's Resumable Upload API and return
        its handle (``example.header_handle``): ``GET /app`` names the token's app, ``POST
        /{app_id}/uploads`` opens a session, ``POST /{session}`` with ``file_offset: 0`` sends
        the bytes and answers ``{"h": handle}``."""
        app = await self._graph("GET", "app")
        app_id = _str_or_none(app.get("id"))
        if not app_id:
            raise GraphRequestError(ProviderError(code=None, title="no app id for this token"))
        session = await self._graph(
            "POST",
            f"{quote(app_id, safe='')}/uploads",
            params={"file_name": file_name, "file_length": len(data), "file_type": mime_type},
        )
        session_id = _str_or_none(session.get("id"))
        if not session_id:
            raise GraphRequestError(ProviderError(code=None, title="no upload session id"))
        # The session id carries its own query string ("upload:<id>?sig=..."): kept as is.
        url = f"{self._base}/{quote(session_id, safe=':?=&')}"
        headers = {
            "Authorization": f"OAuth {self.credentials.access_token}",
            "file_offset": "0",
            "Content-Type": "application/octet-stream",
        }
        try:
            async with self._transport.session.post(
                url, data=data, headers=headers, allow_redirects=False
            ) as response:
                raw = await response.read()
                reply = HttpReply(response.status, None, raw, response.content_type)
                if response.content_type == "application/json" and raw:
                    reply = HttpReply(response.status, json_loads(raw), raw, response.content_type)
        except (TimeoutError, OSError) as exc:
            raise GraphRequestError(ProviderError(code=None, title=str(exc))) from exc
        if not 200 <= reply.status < 300 or not isinstance(reply.body, dict):
            raise GraphRequestError.from_reply(reply)
        handle = _str_or_none(reply.body.get("h"))
        if not handle:
            raise GraphRequestError(ProviderError(code=None, title="no handle in the answer"))
        return handle

    async def fetch_health(self) -> PhoneNumberHealth:
        """``GET /{phone_number_id}?fields=quality_rating,...``: the number's live quality,
        messaging-limit tier and throughput level. Graph refuses the whole request when one
        field no longer exists (code 100), so the deprecated ``messaging_limit_tier`` is
        dropped and the request made once more in that case."""
        fields: tuple[str, ...] = HEALTH_FIELDS
        while True:
            url = f"{self._base}/{self.credentials.phone_number_id}?fields={','.join(fields)}"
            try:
                reply = await exchange(self._transport, "GET", url, headers=self._headers)
            except TransportFailure as failure:
                return PhoneNumberHealth(ok=False, note=failure.note)
            if 200 <= reply.status < 300 and isinstance(reply.body, dict):
                return _health_from_node(reply.body)
            error = parse_graph_error(reply)
            if error.code == 100 and "messaging_limit_tier" in fields:
                fields = tuple(f for f in fields if f != "messaging_limit_tier")
                continue
            return PhoneNumberHealth(ok=False, error=error, note=error.title)

    @staticmethod
    def _outcome_from_reply(message: OutboundMessage, reply: HttpReply) -> Outcome:
        if 200 <= reply.status < 300:
            messages = reply.body.get("messages") if isinstance(reply.body, dict) else None
            first = messages[0] if isinstance(messages, list) and messages else None
            if isinstance(first, dict) and first.get("id"):
                # held_for_quality_assessment / paused are still "accepted": a later failed
                # webhook (132015) reports a drop.
                return Outcome.accepted(
                    message.public_id, str(first["id"]), note=str(first.get("message_status", ""))
                )
            # A 2xx we cannot read: the provider may well have taken the message.
            return Outcome(message.public_id, OutcomeKind.AMBIGUOUS, note="2xx without message id")
        error = parse_graph_error(reply)
        return Outcome.from_error(message.public_id, error, attempt=message.attempt)


# --------------------------------------------------------------------------------------------
# Webhooks
# --------------------------------------------------------------------------------------------


def verify_webhook_handshake(params: Mapping[str, str], verify_token: str) -> str | None:
    """Meta's GET verification: the challenge to echo (HTTP 200) or ``None`` (answer 403)."""
    if not verify_token:
        return None
    if params.get("hub.mode") != "subscribe":
        return None
    provided = params.get("hub.verify_token") or ""
    if not _constant_time_equals(provided, verify_token):
        return None
    challenge = params.get("hub.challenge")
    return challenge if challenge else None


_STATUS_MAP = {
    "sent": DeliveryStatus.SENT,
    "delivered": DeliveryStatus.DELIVERED,
    "read": DeliveryStatus.READ,
    "played": DeliveryStatus.PLAYED,
    "failed": DeliveryStatus.FAILED,
}

#: account_update events that stop sending, and ban states (research §1.6).
_BAN_STATES = {
    "DISABLE": AccountEffect.BLOCKED,
    "REINSTATE": AccountEffect.RESTORED,
    "SCHEDULE_FOR_DISABLE": AccountEffect.WARNING,
}
_BLOCKING_ACCOUNT_EVENTS = {"ACCOUNT_DELETED", "ACCOUNT_OFFBOARDED"}
_RESTORING_ACCOUNT_EVENTS = {"ACCOUNT_RECONNECTED"}
_WARNING_ACCOUNT_EVENTS = {"ACCOUNT_VIOLATION"}
#: Restrictions that stop bulk sending (business-initiated messages).
_BLOCKING_RESTRICTIONS = {"RESTRICTED_BIZ_INITIATED_MESSAGING"}
#: Account-level fields recorded as informational events.
_INFO_FIELDS = {
    "account_alerts",
    "user_preferences",
}
#: Template fields, parsed into TemplateEvent (research §1.6).
TEMPLATE_FIELDS_WEBHOOK = {
    "message_template_status_update",
    "template_category_update",
    "message_template_quality_update",
}


def parse_webhook(payload: Mapping[str, Any]) -> list[Event]:
    """Every event in a Meta webhook POST, in payload order.

    Walks all ``entry[]`` x ``changes[]`` x ``statuses[]``/``messages[]``/``errors[]`` (pywa reads
    only the first of each, which drops batched updates). Items lacking their ids are skipped
    and logged; unknown fields are ignored.
    """
    events: list[Event] = []
    if not isinstance(payload, Mapping) or payload.get("object") != "whatsapp_business_account":
        return events
    for entry in _dicts(payload.get("entry")):
        account_id = str(entry.get("id", ""))
        entry_time = timestamp_from_unix(entry.get("time"))
        for change in _dicts(entry.get("changes")):
            value = change.get("value")
            if not isinstance(value, dict):
                continue
            field_name = change.get("field")
            if field_name == "messages":
                events.extend(_parse_messages_value(value))
            elif field_name == "account_update":
                events.append(_parse_account_update(account_id, entry_time, value))
            elif field_name in TEMPLATE_FIELDS_WEBHOOK:
                template_event = _parse_template_change(
                    account_id, entry_time, str(field_name), value
                )
                if template_event is not None:
                    events.append(template_event)
            elif field_name == "phone_number_quality_update":
                events.append(_parse_quality_update(account_id, entry_time, value))
            elif field_name == "business_capability_update":
                events.append(_parse_capability_update(account_id, entry_time, value))
            elif field_name in _INFO_FIELDS:
                events.append(
                    AccountEvent(
                        account_id=account_id,
                        event=str(value.get("event") or field_name),
                        effect=AccountEffect.INFO,
                        timestamp=entry_time,
                        detail={"field": field_name, **value},
                    )
                )
    return events


def _parse_messages_value(value: Mapping[str, Any]) -> list[Event]:
    metadata = _dict(value.get("metadata"))
    phone_number_id = str(metadata.get("phone_number_id", ""))
    events: list[Event] = []
    for status in _dicts(value.get("statuses")):
        status_event = _parse_status(phone_number_id, status)
        if status_event is not None:
            events.append(status_event)
    names = {
        str(contact.get("wa_id")): (contact.get("profile") or {}).get("name")
        for contact in _dicts(value.get("contacts"))
    }
    for message in _dicts(value.get("messages")):
        inbound_event = _parse_inbound(phone_number_id, message, names)
        if inbound_event is not None:
            events.append(inbound_event)
    for error in _dicts(value.get("errors")):
        provider_error = _error_from_webhook(error)
        events.append(
            ErrorEvent(phone_number_id, provider_error, classify_error_code(provider_error.code))
        )
    return events


def _parse_status(phone_number_id: str, status: Mapping[str, Any]) -> StatusEvent | None:
    message_id = status.get("id")
    mapped = _STATUS_MAP.get(str(status.get("status")))
    if not message_id or mapped is None:
        logger.warning("skipping a status without id or with unknown status: %r", status)
        return None
    error: ProviderError | None = None
    failure: Classification | None = None
    if mapped is DeliveryStatus.FAILED:
        errors = list(_dicts(status.get("errors")))
        error = _error_from_webhook(errors[0]) if errors else ProviderError(code=None)
        failure = classify_error_code(error.code)
    return StatusEvent(
        account_id=phone_number_id,
        provider_message_id=str(message_id),
        status=mapped,
        recipient=_str_or_none(status.get("recipient_id")),
        timestamp=timestamp_from_unix(status.get("timestamp")),
        public_id=_str_or_none(status.get("biz_opaque_callback_data")),
        error=error,
        failure=failure,
    )


def _parse_inbound(
    phone_number_id: str, message: Mapping[str, Any], names: Mapping[str, Any]
) -> InboundMessageEvent | None:
    message_id, sender = message.get("id"), message.get("from")
    if not message_id or not sender:
        logger.warning("skipping an inbound message without id or sender")
        return None
    kind = str(message.get("type", "unknown"))
    text, payload = "", None
    if kind == "text":
        text = str((message.get("text") or {}).get("body", ""))
    elif kind == "button":
        button = message.get("button") or {}
        text, payload = str(button.get("text", "")), _str_or_none(button.get("payload"))
    elif kind == "interactive":
        interactive = message.get("interactive") or {}
        reply = interactive.get("button_reply") or interactive.get("list_reply") or {}
        text, payload = str(reply.get("title", "")), _str_or_none(reply.get("id"))
    else:
        media = message.get(kind)
        if isinstance(media, dict):
            text = str(media.get("caption", ""))
    context = _dict(message.get("context"))
    return InboundMessageEvent(
        account_id=phone_number_id,
        provider_message_id=str(message_id),
        sender=str(sender),
        timestamp=timestamp_from_unix(message.get("timestamp")),
        kind=kind,
        text=text,
        payload=payload,
        contact_name=_str_or_none(names.get(str(sender))),
        context_message_id=_str_or_none(context.get("id")),
    )


def _parse_account_update(
    account_id: str, entry_time: datetime | None, value: Mapping[str, Any]
) -> AccountEvent:
    event = str(value.get("event", ""))
    effect, until = AccountEffect.INFO, None
    if event == "DISABLED_UPDATE":
        ban_info = value.get("ban_info") or {}
        effect = _BAN_STATES.get(str(ban_info.get("waba_ban_state")), AccountEffect.WARNING)
    elif event == "ACCOUNT_RESTRICTION":
        restrictions = list(_dicts(value.get("restriction_info")))
        blocking = [r for r in restrictions if r.get("restriction_type") in _BLOCKING_RESTRICTIONS]
        effect = AccountEffect.BLOCKED if blocking else AccountEffect.WARNING
        expirations = [timestamp_from_unix(r.get("expiration")) for r in blocking or restrictions]
        known = [moment for moment in expirations if moment is not None]
        until = max(known) if known else None
    elif event in _BLOCKING_ACCOUNT_EVENTS:
        effect = AccountEffect.BLOCKED
    elif event in _RESTORING_ACCOUNT_EVENTS:
        effect = AccountEffect.RESTORED
    elif event in _WARNING_ACCOUNT_EVENTS:
        effect = AccountEffect.WARNING
    return AccountEvent(
        account_id=account_id,
        event=event,
        effect=effect,
        timestamp=entry_time,
        phone_number_id=_str_or_none(value.get("phone_number_id")),
        until=until,
        detail=dict(value),
    )


def _parse_template_change(
    account_id: str, entry_time: datetime | None, field_name: str, value: Mapping[str, Any]
) -> TemplateEvent | None:
    """One template webhook change. Meta names the template by id, name and language in all
    three fields; quality changes carry ``new_quality_score``, category changes
    ``new_category``/``previous_category``, status changes ``event`` and ``reason``."""
    template_id = _str_or_none(value.get("message_template_id"))
    name = _str_or_none(value.get("message_template_name"))
    if not template_id and not name:
        logger.warning("skipping a template change without id or name: %r", value)
        return None
    reason = str(value.get("reason") or "")
    rejection = _dict(value.get("rejection_info"))
    if rejection.get("reason") and reason in ("", "NONE"):
        reason = str(rejection["reason"])
    return TemplateEvent(
        account_id=account_id,
        field=field_name,
        template_id=template_id or "",
        name=name or "",
        language=str(value.get("message_template_language") or ""),
        event=str(value.get("event") or "").upper(),
        reason="" if reason.upper() == "NONE" else reason,
        category=str(value.get("new_category") or value.get("message_template_category") or ""),
        previous_category=str(value.get("previous_category") or ""),
        quality=str(value.get("new_quality_score") or "").upper(),
        previous_quality=str(value.get("previous_quality_score") or "").upper(),
        timestamp=entry_time,
    )


#: The older ``phone_number_quality_update`` events that say the rating changed without saying
#: to what (research §1.6, unverified: FLAGGED worse, UNFLAGGED recovered): the product asks
#: the phone number node for the rating itself.
QUALITY_CHANGE_EVENTS = frozenset({"FLAGGED", "UNFLAGGED"})
_QUALITY_RATINGS = {"GREEN", "YELLOW", "RED", "UNKNOWN", "NA"}
#: Tier names Meta uses for a number of daily unique recipients (capability updates send ints).
_TIER_BY_LIMIT = {
    50: "TIER_50",
    250: "TIER_250",
    1000: "TIER_1K",
    2000: "TIER_2K",
    10_000: "TIER_10K",
    100_000: "TIER_100K",
}


def _tier(value: Any) -> str | None:
    """A ``TIER_*`` string from Meta's string or integer forms (-1/unlimited: TIER_UNLIMITED)."""
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.upper().startswith("TIER_"):
        return value.upper()
    try:
        number = int(value)
    except (TypeError, ValueError):
        return str(value).upper() if str(value).upper() == "UNLIMITED" else None
    if number < 0:
        return "TIER_UNLIMITED"
    return _TIER_BY_LIMIT.get(number)


def _parse_quality_update(
    account_id: str, entry_time: datetime | None, value: Mapping[str, Any]
) -> NumberHealthEvent:
    """``phone_number_quality_update``: the throughput upgrade (``current_limit`` is then the
    throughput level, TIER_UNLIMITED), tier changes (``max_daily_conversations_per_business``,
    or ``current_limit`` on the older UPGRADE/DOWNGRADE/FLAGGED events) and, when given, the
    quality rating."""
    event = str(value.get("event") or "")
    upgrade = event == "THROUGHPUT_UPGRADE"
    tier = _tier(value.get("max_daily_conversations_per_business"))
    if tier is None and not upgrade:
        tier = _tier(value.get("current_limit"))
    quality = str(value.get("quality_rating") or value.get("current_quality_rating") or "")
    quality = quality.upper() if quality.upper() in _QUALITY_RATINGS else ""
    return NumberHealthEvent(
        account_id=account_id,
        event=event or "phone_number_quality_update",
        timestamp=entry_time,
        display_phone_number=_str_or_none(value.get("display_phone_number")),
        quality_rating=quality or None,
        messaging_limit_tier=tier,
        old_limit=_str_or_none(value.get("old_limit")),
        throughput_level="HIGH" if upgrade else None,
    )


def _parse_capability_update(
    account_id: str, entry_time: datetime | None, value: Mapping[str, Any]
) -> NumberHealthEvent:
    """``business_capability_update``: the account's new messaging limit (v24+ names it
    ``max_daily_conversations_per_business``; older versions
    ``max_daily_conversation_per_phone``)."""
    limit = value.get("max_daily_conversations_per_business")
    if limit is None:
        limit = value.get("max_daily_conversation_per_phone")
    return NumberHealthEvent(
        account_id=account_id,
        event="business_capability_update",
        timestamp=entry_time,
        messaging_limit_tier=_tier(limit),
    )


def _error_from_webhook(error: Mapping[str, Any]) -> ProviderError:
    error_data = error.get("error_data")
    details = error_data.get("details", "") if isinstance(error_data, dict) else ""
    return ProviderError(
        code=_int_or_none(error.get("code")),
        title=str(error.get("title") or error.get("message") or ""),
        details=str(details or ""),
    )


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _str_or_none(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _constant_time_equals(left: str, right: str) -> bool:
    return hmac.compare_digest(left.encode(), right.encode())
