"""WAHA-compatible WhatsApp-Web HTTP gateway adapter (a number paired by scanning a QR code).

The gateway drives a WhatsApp Web session; we create and start the session, show its QR code,
watch its status (STOPPED / STARTING / SCAN_QR_CODE / WORKING / FAILED) and send text with
``POST /api/sendText``. WAHA has no error codes of its own, so send failures are classified by
the session state it reports (a 422 names the status) and, only where nothing else exists, the
HTTP status. Templates are a Cloud API concept: the engine renders text for these numbers;
a message with media goes by ``/api/sendImage`` or ``/api/sendFile`` with the text as caption.
"""

from __future__ import annotations

import base64
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from core.outgoing import AddressPolicy
from messaging.gateways.base import (
    AccountEffect,
    AccountEvent,
    Classification,
    DeliveryStatus,
    Event,
    HttpReply,
    HttpTransport,
    InboundMessageEvent,
    OutboundMessage,
    Outcome,
    OutcomeKind,
    ProviderError,
    StatusEvent,
    Timeouts,
    TransportFailure,
    WebGatewayCredentials,
    exchange,
    gather_bounded,
    retry_later_backoff,
    timestamp_from_unix,
)
from messaging.gateways.signatures import WAHA_HMAC_HEADER, verify_waha_hmac

__all__ = [
    "DEFAULT_WEBHOOK_EVENTS",
    "MAX_SEND_GAP_SECONDS",
    "MIN_SEND_GAP_SECONDS",
    "NEW_NUMBER_DAILY_CAP",
    "WAHA_HMAC_HEADER",
    "WEB_DAILY_CAP",
    "SessionInfo",
    "SessionStatus",
    "WebGatewayAdapter",
    "WebGatewayError",
    "chat_id_for",
    "parse_webhook",
    "random_send_gap",
    "send_request",
    "verify_waha_hmac",
]

# --------------------------------------------------------------------------------------------
# Safe pacing for WhatsApp-Web numbers
# --------------------------------------------------------------------------------------------

#: Random gap between two sends from one WhatsApp-Web number, in seconds.
#:
#: Such numbers are ordinary WhatsApp accounts driven by automation, which WhatsApp's terms do
#: not allow for bulk sending; they get banned fast. WAHA's own guidance is a *random* 30-60 s gap
#: (never a fixed interval), varied text, and sending in packages with breaks. Reports on the
#: Evolution API tracker (2025) show numbers banned at 40-50 messages/day, and the 2026 "463
#: reach-out timelock" hits cold outreach on every WhatsApp-Web stack. These are floors for
#: the limiter, not targets.
MIN_SEND_GAP_SECONDS = 30.0
MAX_SEND_GAP_SECONDS = 60.0
#: Hard daily ceiling per WhatsApp-Web number (a low cap keeps a ban from burning a campaign).
WEB_DAILY_CAP = 200
#: Ceiling for a new or freshly re-linked number: volume on day one is a known ban trigger.
NEW_NUMBER_DAILY_CAP = 40
#: WAHA's advice for contacts who replied: at most 4 messages per contact per hour.
MAX_MESSAGES_PER_CONTACT_PER_HOUR = 4


def random_send_gap(rng: random.Random | None = None) -> float:
    """A human-like gap before the next send: uniform in [30, 60] seconds."""
    return (rng or random).uniform(MIN_SEND_GAP_SECONDS, MAX_SEND_GAP_SECONDS)  # noqa: S311


# --------------------------------------------------------------------------------------------
# Sessions
# --------------------------------------------------------------------------------------------


class SessionStatus:
    """WAHA session states (there is no BANNED state: a ban or unlink shows as FAILED)."""

    STOPPED = "STOPPED"
    STARTING = "STARTING"
    SCAN_QR_CODE = "SCAN_QR_CODE"
    WORKING = "WORKING"
    FAILED = "FAILED"
    ALL = frozenset({STOPPED, STARTING, SCAN_QR_CODE, WORKING, FAILED})


#: The events iSend needs from a session.
DEFAULT_WEBHOOK_EVENTS = ("message", "message.ack", "session.status")


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """A session as the gateway reports it; ``me_id`` (``<digits>@c.us``) once paired."""

    name: str
    status: str
    me_id: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)

    @property
    def phone_number(self) -> str | None:
        return self.me_id.split("@", 1)[0] if self.me_id else None


class WebGatewayError(Exception):
    """A session-management call failed (sends never raise: they return outcomes)."""

    def __init__(self, message: str, *, http_status: int | None = None) -> None:
        super().__init__(message)
        self.http_status = http_status


def chat_id_for(phone: str) -> str:
    """WAHA's chat id for a person: the international number in digits, then ``@c.us``."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    if not digits:
        raise ValueError(f"not a phone number: {phone!r}")
    return f"{digits}@c.us"


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class WebGatewayAdapter:
    """One WhatsApp-Web session on a WAHA-compatible gateway (``X-Api-Key`` auth)."""

    def __init__(
        self,
        credentials: WebGatewayCredentials,
        *,
        concurrency: int = 4,
        timeouts: Timeouts | None = None,
        transport: HttpTransport | None = None,
        address_policy: AddressPolicy | None = None,
    ) -> None:
        self.credentials = credentials
        self.concurrency = concurrency
        self._base = credentials.base_url.rstrip("/")
        self._owns_transport = transport is None
        # The base URL is the user's: every connection is checked against the policy (by
        # default no private or loopback address) and redirects are never followed.
        self._transport = transport or HttpTransport(
            timeouts=timeouts, max_connections=max(concurrency, 1), address_policy=address_policy
        )
        self._headers = {"X-Api-Key": credentials.api_key, "Accept": "application/json"}

    async def __aenter__(self) -> WebGatewayAdapter:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._owns_transport:
            await self._transport.aclose()

    # Session management --------------------------------------------------------------------

    async def create_session(
        self,
        *,
        webhook_url: str | None,
        events: Sequence[str] = DEFAULT_WEBHOOK_EVENTS,
        hmac_key: str | None = None,
        metadata: Mapping[str, str] | None = None,
        start: bool = True,
    ) -> SessionInfo:
        """Create (and start) the session; an existing session is returned as it is."""
        config: dict[str, Any] = {"metadata": dict(metadata or {})}
        if webhook_url:
            webhook: dict[str, Any] = {"url": webhook_url, "events": list(events)}
            if hmac_key:
                webhook["hmac"] = {"key": hmac_key}
            config["webhooks"] = [webhook]
        payload = {"name": self.credentials.session, "start": start, "config": config}
        reply = await self._call("POST", "/api/sessions", payload=payload)
        if reply.status == 422:  # "Session already exists. Use PUT to update it."
            return await self.get_session()
        return self._session_from(reply)

    async def start_session(self) -> SessionInfo:
        reply = await self._call("POST", f"/api/sessions/{self.credentials.session}/start")
        return self._session_from(reply)

    async def get_session(self) -> SessionInfo:
        reply = await self._call("GET", f"/api/sessions/{self.credentials.session}")
        return self._session_from(reply)

    async def fetch_qr_png(self) -> bytes:
        """The current pairing QR code as PNG bytes (only while the status is SCAN_QR_CODE)."""
        reply = await self._call(
            "GET",
            f"/api/{self.credentials.session}/auth/qr",
            headers={"Accept": "image/png"},
        )
        if reply.status != 200 or not reply.raw.startswith(_PNG_SIGNATURE):
            raise WebGatewayError(
                f"no QR code for session {self.credentials.session!r} (HTTP {reply.status})",
                http_status=reply.status,
            )
        return reply.raw

    # Sending --------------------------------------------------------------------------------

    async def send(self, message: OutboundMessage) -> Outcome:
        """Send one text, or one image/file with the text as its caption (``sendImage`` /
        ``sendFile``); never raises for gateway or network errors."""
        if message.text is None:
            return Outcome.local(
                message.public_id,
                OutcomeKind.FIX_REQUEST,
                "WhatsApp-Web numbers send text: render the template before sending",
            )
        try:
            chat_id = chat_id_for(message.to)
        except ValueError:
            return Outcome.local(message.public_id, OutcomeKind.FIX_REQUEST, "no phone number")
        path, payload = send_request(self.credentials.session, chat_id, message)
        try:
            reply = await exchange(
                self._transport,
                "POST",
                f"{self._base}{path}",
                headers=self._headers,
                payload=payload,
            )
        except TransportFailure as failure:
            return Outcome.transport_failure(
                message.public_id,
                request_sent=failure.request_sent,
                attempt=message.attempt,
                note=failure.note,
            )
        return _send_outcome(message, chat_id, reply)

    async def send_many(self, messages: Sequence[OutboundMessage]) -> list[Outcome]:
        """Send concurrently (bounded); the limiter, not this method, paces these numbers."""
        return await gather_bounded(messages, self.send, self.concurrency)

    # Internals ------------------------------------------------------------------------------

    async def _call(
        self,
        method: str,
        path: str,
        *,
        payload: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> HttpReply:
        try:
            reply = await exchange(
                self._transport,
                method,
                f"{self._base}{path}",
                headers={**self._headers, **(headers or {})},
                payload=payload,
            )
        except TransportFailure as failure:
            raise WebGatewayError(failure.note) from failure
        if reply.is_redirect:
            raise WebGatewayError(_redirect_note(reply), http_status=reply.status)
        if reply.status in (401, 403):
            raise WebGatewayError("the gateway refused the API key", http_status=reply.status)
        return reply

    def _session_from(self, reply: HttpReply) -> SessionInfo:
        if not (200 <= reply.status < 300) or not isinstance(reply.body, dict):
            raise WebGatewayError(
                f"session call failed for {self.credentials.session!r} (HTTP {reply.status})",
                http_status=reply.status,
            )
        me = reply.body.get("me")
        return SessionInfo(
            name=str(reply.body.get("name", self.credentials.session)),
            status=str(reply.body.get("status", "")),
            me_id=me.get("id") if isinstance(me, dict) else None,
            raw=reply.body,
        )


def send_request(
    session: str, chat_id: str, message: OutboundMessage
) -> tuple[str, dict[str, Any]]:
    """WAHA's endpoint and body for a free-form message: ``/api/sendText``, or for media
    ``/api/sendImage`` (images) and ``/api/sendFile`` (documents, videos) with the text as
    the caption. The file goes by URL, or inline as base64 when the product keeps it."""
    media = message.media
    if media is None:
        return "/api/sendText", {
            "session": session,
            "chatId": chat_id,
            "text": message.text,
            "reply_to": None,
        }
    file: dict[str, Any] = {"mimetype": media.mime_type or _DEFAULT_MIME[media.kind]}
    if media.filename:
        file["filename"] = media.filename
    if media.link:
        file["url"] = media.link
    elif media.data:
        file["data"] = base64.b64encode(media.data).decode("ascii")
    else:
        raise ValueError("WAHA takes media by URL or inline bytes, not a Meta media id")
    path = "/api/sendImage" if media.kind == "image" else "/api/sendFile"
    return path, {
        "session": session,
        "chatId": chat_id,
        "file": file,
        "caption": media.caption or message.text or "",
        "reply_to": None,
    }


_DEFAULT_MIME = {"image": "image/jpeg", "video": "video/mp4", "document": "application/pdf"}


def _redirect_note(reply: HttpReply) -> str:
    return (
        f"the gateway answered with a redirect (HTTP {reply.status}"
        f"{' to ' + reply.location[:200] if reply.location else ''}); redirects are not "
        "followed: enter the gateway's final address"
    )


def _send_outcome(message: OutboundMessage, chat_id: str, reply: HttpReply) -> Outcome:
    body = reply.body if isinstance(reply.body, dict) else {}
    if 200 <= reply.status < 300:
        message_id = _serialized_message_id(body, chat_id)
        if message_id:
            return Outcome.accepted(message.public_id, message_id)
        return Outcome(message.public_id, OutcomeKind.AMBIGUOUS, note="2xx without message id")
    error = ProviderError(
        code=None,
        title=str(body.get("error") or body.get("message") or reply.raw[:200]),
        details=str(body.get("status", "")),
        http_status=reply.status,
    )
    session_status = body.get("status")
    if reply.status == 422 and session_status in SessionStatus.ALL:
        # "Session status is not as expected": the number cannot send until a human acts,
        # except while it is still starting.
        if session_status == SessionStatus.STARTING:
            kind = OutcomeKind.RETRY_LATER
        else:
            kind = OutcomeKind.SENDER_BLOCKED
        note = f"session is {session_status}"
    elif reply.is_redirect:
        # Never followed (it could point inside our network); a person fixes the address.
        kind, note = OutcomeKind.SENDER_BLOCKED, _redirect_note(reply)
    elif reply.status in (401, 403):
        kind, note = OutcomeKind.CREDENTIALS_INVALID, "the gateway refused the API key"
    elif reply.status == 404:
        kind, note = OutcomeKind.SENDER_BLOCKED, "the session does not exist on the gateway"
    elif reply.status in (400, 422):
        kind, note = OutcomeKind.FIX_REQUEST, "the gateway rejected the request"
    else:
        kind, note = OutcomeKind.RETRY_LATER, "gateway error"
    retry_after = retry_later_backoff(message.attempt) if kind is OutcomeKind.RETRY_LATER else None
    return Outcome(message.public_id, kind, retry_after=retry_after, error=error, note=note)


def _serialized_message_id(body: Mapping[str, Any], chat_id: str) -> str | None:
    """The id ``message.ack`` will carry: ``true_<chatId>_<ID>`` (WEBJS ``id._serialized``)."""
    message_id = body.get("id")
    if isinstance(message_id, dict) and message_id.get("_serialized"):
        return str(message_id["_serialized"])
    if isinstance(message_id, str) and message_id:
        return message_id
    key = body.get("key")  # NOWEB returns a Baileys key
    if isinstance(key, dict) and key.get("id"):
        return f"{'true' if key.get('fromMe', True) else 'false'}_{chat_id}_{key['id']}"
    return None


# --------------------------------------------------------------------------------------------
# Webhooks
# --------------------------------------------------------------------------------------------

#: WAHA ``message.ack`` levels -> our statuses (research §2 and §6).
ACK_STATUS: Mapping[int, DeliveryStatus] = {
    -1: DeliveryStatus.FAILED,
    0: DeliveryStatus.PENDING,
    1: DeliveryStatus.SENT,
    2: DeliveryStatus.DELIVERED,
    3: DeliveryStatus.READ,
    4: DeliveryStatus.PLAYED,
}

#: An ERROR ack carries no reason: it falls to the taxonomy's documented default.
_ACK_ERROR = ProviderError(code=None, title="message.ack ERROR (-1)")
_ACK_ERROR_VERDICT = Classification(
    OutcomeKind.RETRY_LATER, None, False, "WhatsApp Web reported an error without a reason"
)

_SESSION_EFFECT = {
    SessionStatus.FAILED: AccountEffect.BLOCKED,
    SessionStatus.WORKING: AccountEffect.RESTORED,
}


def parse_webhook(payload: Mapping[str, Any]) -> list[Event]:
    """Events in one WAHA webhook POST (WAHA sends one event per POST)."""
    if not isinstance(payload, Mapping):
        return []
    event = payload.get("event")
    session = str(payload.get("session", ""))
    body = payload.get("payload")
    if not isinstance(body, dict):
        return []
    timestamp = timestamp_from_unix(payload.get("timestamp") or body.get("timestamp"))
    if event == "message.ack":
        try:
            status = ACK_STATUS.get(int(body.get("ack")))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            status = None
        if status is None or not body.get("id") or body.get("fromMe") is False:
            return []
        failed = status is DeliveryStatus.FAILED
        return [
            StatusEvent(
                account_id=session,
                provider_message_id=str(body["id"]),
                status=status,
                recipient=_digits(body.get("to")),
                timestamp=timestamp,
                error=_ACK_ERROR if failed else None,
                failure=_ACK_ERROR_VERDICT if failed else None,
            )
        ]
    if event == "session.status":
        status_name = str(body.get("status", ""))
        return [
            AccountEvent(
                account_id=session,
                event="session.status",
                effect=_SESSION_EFFECT.get(status_name, AccountEffect.INFO),
                timestamp=timestamp,
                phone_number_id=session,
                detail={"status": status_name, "me": payload.get("me")},
            )
        ]
    if event == "message" and not body.get("fromMe") and body.get("id") and body.get("from"):
        return [
            InboundMessageEvent(
                account_id=session,
                provider_message_id=str(body["id"]),
                sender=_digits(body.get("from")) or str(body["from"]),
                timestamp=timestamp,
                kind="text",
                text=str(body.get("body") or ""),
                contact_name=_str_or_none((body.get("_data") or {}).get("notifyName")),
            )
        ]
    return []


def _digits(chat_id: Any) -> str | None:
    if not chat_id:
        return None
    return "".join(ch for ch in str(chat_id).split("@", 1)[0] if ch.isdigit()) or None


def _str_or_none(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)
