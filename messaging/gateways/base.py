"""The gateway adapter protocol, the closed outcome taxonomy and the shared webhook events.

Every adapter (Cloud API, WhatsApp-Web gateway, the sandbox through the Cloud API adapter) takes
plain data and returns one :class:`Outcome` per message, so the engine records results without
knowing which provider sent them. Nothing here imports Django: configuration is passed in.

Classification follows Meta's advice: decide by the Graph error ``code``, never by the HTTP status
or the message text (BSPs re-wrap statuses; titles change). Every code named in
``shared/research/whatsapp-gateways.md`` §1.4 is listed once, in :data:`ERROR_RULES`.
"""

from __future__ import annotations

import asyncio
import enum
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, TypeAlias, runtime_checkable

import aiohttp
import orjson

from core.outgoing import AddressPolicy, checked_connector, is_redirect, refused_cause
from messaging.gateways.freeform import FreeFormContent

_NON_DIGITS = re.compile(r"\D")

# --------------------------------------------------------------------------------------------
# Plain input data
# --------------------------------------------------------------------------------------------


#: Header media kinds a template or a free-form message can carry (Meta's names).
MEDIA_KINDS = ("image", "video", "document")


@dataclass(frozen=True, slots=True)
class MediaAttachment:
    """An image, video or document, as plain data.

    Exactly one source: ``media_id`` (uploaded to Meta's ``/{phone_number_id}/media``),
    ``link`` (a public https URL the provider fetches) or ``data`` (the bytes, for gateways
    that take the file inline, such as WAHA). ``caption`` is only used on free-form sends.
    """

    kind: str
    link: str | None = None
    media_id: str | None = None
    data: bytes | None = None
    mime_type: str = ""
    filename: str = ""
    caption: str = ""

    def __post_init__(self) -> None:
        if self.kind not in MEDIA_KINDS:
            raise ValueError(f"media kind must be one of {MEDIA_KINDS}, not {self.kind!r}")
        sources = [s for s in (self.link, self.media_id, self.data) if s]
        if len(sources) != 1:
            raise ValueError("a media attachment needs exactly one of link, media_id and data")

    def __repr__(self) -> str:  # never dump the bytes into logs
        source = "data" if self.data else ("id" if self.media_id else "link")
        return f"MediaAttachment(kind={self.kind!r}, source={source})"


@dataclass(frozen=True, slots=True)
class TemplateParameter:
    """One text parameter of a template; ``name`` is set for NAMED-format templates."""

    text: str
    name: str | None = None


@dataclass(frozen=True, slots=True)
class ButtonParameter:
    """The dynamic part of a template button: a URL button's suffix (``sub_type: url``) or a
    copy-code button's coupon code (``sub_type: copy_code``)."""

    index: int
    text: str
    sub_type: str = "url"


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """One message to send, as plain data (never an ORM object).

    ``public_id`` is our message's public id; Cloud API sends echo it back as
    ``biz_opaque_callback_data`` so an ambiguous send can be reconciled before any resend.
    ``attempt`` counts earlier attempts (0 for the first) and sizes the backoff in the outcome.
    Exactly one of ``text``, ``template_name`` and ``content`` (media or an interactive
    message of a single send inside the 24-hour window, :mod:`messaging.gateways.freeform`) is
    set, except that a free-form message may carry ``media`` (``text`` is then its caption).
    A template message carries its rendered components: ``header_parameters`` (a text header's
    variables) or ``header_media``, ``body_parameters`` (plain strings, or
    :class:`TemplateParameter` with a name for NAMED templates) and ``button_parameters`` (URL
    suffixes).
    """

    public_id: str
    to: str
    text: str | None = None
    template_name: str | None = None
    template_language: str | None = None
    body_parameters: tuple[str | TemplateParameter, ...] = ()
    header_parameters: tuple[TemplateParameter, ...] = ()
    header_media: MediaAttachment | None = None
    button_parameters: tuple[ButtonParameter, ...] = ()
    media: MediaAttachment | None = None
    attempt: int = 0
    content: FreeFormContent | None = None

    def __post_init__(self) -> None:
        given = [v is not None for v in (self.text, self.template_name, self.content)]
        if sum(given) != 1:
            raise ValueError("OutboundMessage needs exactly one of text, template_name and content")
        if self.template_name is not None and not self.template_language:
            raise ValueError("a template message needs template_language (e.g. 'en_US')")
        if self.template_name is None and (
            self.body_parameters
            or self.header_parameters
            or self.header_media
            or self.button_parameters
        ):
            raise ValueError("template components need a template_name")
        if self.template_name is not None and self.media is not None:
            raise ValueError("a template's media goes in header_media")
        if self.header_parameters and self.header_media is not None:
            raise ValueError("a template header is text or media, not both")
        if self.attempt < 0:
            raise ValueError("attempt must be >= 0")

    @property
    def is_template(self) -> bool:
        return self.template_name is not None

    @property
    def recipient_digits(self) -> str:
        """The recipient as digits only: Meta's ``wa_id`` and WAHA's chat id use this form."""
        return _NON_DIGITS.sub("", self.to)


@dataclass(frozen=True, slots=True)
class CloudApiCredentials:
    """A Cloud API (or sandbox) number: Graph ids and secrets, decrypted by the caller."""

    phone_number_id: str
    access_token: str
    app_secret: str = ""

    def __repr__(self) -> str:  # secrets never reach logs through repr()
        return f"CloudApiCredentials(phone_number_id={self.phone_number_id!r})"


@dataclass(frozen=True, slots=True)
class WebGatewayCredentials:
    """What a WAHA-compatible WhatsApp-Web gateway number needs."""

    base_url: str
    api_key: str
    session: str

    def __repr__(self) -> str:
        return f"WebGatewayCredentials(base_url={self.base_url!r}, session={self.session!r})"


@dataclass(frozen=True, slots=True)
class Timeouts:
    """HTTP timeouts in seconds.

    ``connect`` bounds getting a connection (a failure there means nothing left: retry_later);
    ``total`` bounds the whole exchange (a timeout after the request was written is ambiguous).
    """

    connect: float = 5.0
    total: float = 20.0


# --------------------------------------------------------------------------------------------
# The closed outcome taxonomy
# --------------------------------------------------------------------------------------------


class OutcomeKind(enum.StrEnum):
    """What happened to one send. Closed: the engine handles every member and nothing else."""

    ACCEPTED = "accepted"  # the provider took it (provider_message_id set)
    RATE_LIMITED = "rate_limited"  # the number's throughput is exhausted: retry after retry_after
    RETRY_LATER = "retry_later"  # temporary failure: bounded backoff, same message
    RECIPIENT_WAIT = "recipient_wait"  # this recipient only must wait (pair / engagement limits)
    RECIPIENT_PERMANENT = "recipient_permanent"  # never retry this recipient (opt_out may be set)
    FIX_REQUEST = "fix_request"  # the request/template is wrong: retrying the same will fail
    SENDER_BLOCKED = "sender_blocked"  # the number/account is banned, restricted or logged out
    CREDENTIALS_INVALID = "credentials_invalid"  # token expired/invalid or permission missing
    AMBIGUOUS = "ambiguous"  # the request left and no answer came: it may have been sent


#: Attempts after which the engine should stop retrying a ``retry_later`` message.
RETRY_LATER_MAX_ATTEMPTS = 6
#: Backoff for ``retry_later``: ``base * 2**attempt`` seconds, capped.
RETRY_LATER_BASE_SECONDS = 5.0
RETRY_LATER_CAP_SECONDS = 15 * 60.0
#: Meta's pair-rate advice (131056): wait 4**X seconds after the X-th failure; capped.
PAIR_RATE_CAP_SECONDS = 4.0**6
#: 131049 (per-user marketing limit): wait at least 24 hours.
ENGAGEMENT_WAIT_SECONDS = 24 * 3600.0


def retry_later_backoff(attempt: int) -> float:
    """Exponential backoff for temporary failures; bounded so no wait exceeds the cap."""
    return min(RETRY_LATER_CAP_SECONDS, RETRY_LATER_BASE_SECONDS * 2 ** max(0, attempt))


def pair_rate_backoff(attempt: int) -> float:
    """Meta's recommended 131056 wait: 4**X seconds (X = 0, 1, 2, ...), capped."""
    return min(PAIR_RATE_CAP_SECONDS, 4.0 ** max(0, attempt))


@dataclass(frozen=True, slots=True)
class ErrorRule:
    """How one provider error code is handled.

    ``wait_seconds`` is a fixed minimum wait; ``None`` means the kind's default backoff applies.
    ``opt_out`` marks codes that mean "the recipient asked us to stop" (131050).
    """

    kind: OutcomeKind
    meaning: str
    wait_seconds: float | None = None
    opt_out: bool = False


_R, _W, _X = OutcomeKind.RETRY_LATER, OutcomeKind.RECIPIENT_WAIT, OutcomeKind.RECIPIENT_PERMANENT
_F, _P, _A = OutcomeKind.FIX_REQUEST, OutcomeKind.SENDER_BLOCKED, OutcomeKind.CREDENTIALS_INVALID
_L = OutcomeKind.RATE_LIMITED

#: Every Graph error code in the research file (§1.4), in one place. 200-299 is a range and is
#: handled by :func:`rule_for_code`. Unknown codes fall to :data:`UNKNOWN_CODE_RULE`.
ERROR_RULES: Mapping[int, ErrorRule] = {
    # Throughput and call limits: slow down, same message.
    130429: ErrorRule(_L, "Cloud API message throughput reached", wait_seconds=1.0),
    4: ErrorRule(_L, "application API-call rate limit", wait_seconds=60.0),
    80007: ErrorRule(_L, "WhatsApp Business Account rate limit", wait_seconds=60.0),
    # Per-recipient waits.
    131056: ErrorRule(_W, "pair rate limit: too many messages to the same recipient"),
    131049: ErrorRule(
        _W,
        "not delivered to maintain healthy ecosystem engagement",
        wait_seconds=ENGAGEMENT_WAIT_SECONDS,
    ),
    # Permanent for this recipient or message.
    131026: ErrorRule(_X, "message undeliverable: not on WhatsApp, ToS not accepted or old app"),
    131050: ErrorRule(_X, "recipient stopped marketing messages from this business", opt_out=True),
    130403: ErrorRule(_X, "the business has blocked this user"),
    130472: ErrorRule(_X, "recipient is part of a marketing experiment"),
    131021: ErrorRule(_X, "sender and recipient are the same number"),
    131030: ErrorRule(_X, "recipient not in the allowed list"),
    130497: ErrorRule(_X, "business restricted from messaging users in this country"),
    # The request or template must change.
    131047: ErrorRule(_F, "more than 24 hours since the recipient last replied: use a template"),
    100: ErrorRule(_F, "invalid or missing parameter"),
    131008: ErrorRule(_F, "required parameter is missing"),
    131009: ErrorRule(_F, "parameter value is not valid"),
    131051: ErrorRule(_F, "unsupported message type"),
    131053: ErrorRule(_F, "media upload error"),
    132000: ErrorRule(_F, "template parameter count mismatch"),
    132001: ErrorRule(_F, "template does not exist in this language or is not approved"),
    132005: ErrorRule(_F, "translated template text too long"),
    132007: ErrorRule(_F, "template content violates a policy"),
    132012: ErrorRule(_F, "template parameter format mismatch"),
    132015: ErrorRule(_F, "template paused for low quality"),
    132016: ErrorRule(_F, "template permanently disabled"),
    131063: ErrorRule(_F, "marketing templates disabled for Cloud API on this account"),
    # The number or account must stop.
    131048: ErrorRule(_P, "spam rate limit: too many messages blocked or flagged as spam"),
    131064: ErrorRule(_P, "messaging limit reached for template-classification violations"),
    368: ErrorRule(_P, "account restricted or disabled for a platform policy violation"),
    131031: ErrorRule(_P, "account restricted/disabled or request data could not be verified"),
    131042: ErrorRule(_P, "payment method problem on the business account"),
    131037: ErrorRule(_P, "555 number without an approved display name"),
    133016: ErrorRule(_P, "register/deregister attempt limit reached"),
    # Credentials and permissions.
    0: ErrorRule(_A, "authentication exception"),
    190: ErrorRule(_A, "access token expired or invalid"),
    10: ErrorRule(_A, "permission denied"),
    131005: ErrorRule(_A, "access denied"),
    3: ErrorRule(_A, "capability or permission issue"),
    # Temporary provider trouble: bounded backoff.
    131057: ErrorRule(_R, "business account in maintenance mode", wait_seconds=120.0),
    131000: ErrorRule(_R, "unknown error: try again"),
    131016: ErrorRule(_R, "service temporarily unavailable"),
    2: ErrorRule(_R, "service temporarily overloaded"),
    1: ErrorRule(_R, "invalid request or possible server error"),
}

#: Graph permission errors occupy the 200-299 range.
PERMISSION_CODE_RANGE = range(200, 300)
_PERMISSION_RULE = ErrorRule(_A, "API permission error (200-299)")

#: The documented default: an unknown code is treated as temporary, with the bounded backoff.
UNKNOWN_CODE_RULE = ErrorRule(_R, "unknown provider error")


def rule_for_code(code: int | None) -> ErrorRule:
    """The rule for a Graph error code; unknown or missing codes get :data:`UNKNOWN_CODE_RULE`."""
    if code is None:
        return UNKNOWN_CODE_RULE
    rule = ERROR_RULES.get(code)
    if rule is not None:
        return rule
    if code in PERMISSION_CODE_RANGE:
        return _PERMISSION_RULE
    return UNKNOWN_CODE_RULE


@dataclass(frozen=True, slots=True)
class ProviderError:
    """A provider's error as reported (Graph error object or gateway error), kept for the record."""

    code: int | None
    title: str = ""
    details: str = ""
    subcode: int | None = None
    http_status: int | None = None
    trace_id: str | None = None


@dataclass(frozen=True, slots=True)
class Classification:
    """The taxonomy's verdict on one error: kind, how long to wait, whether it is an opt-out."""

    kind: OutcomeKind
    retry_after: float | None
    opt_out: bool
    meaning: str


def classify_error_code(code: int | None, *, attempt: int = 0) -> Classification:
    """Classify a provider error code; ``attempt`` (earlier attempts) sizes the backoff."""
    rule = rule_for_code(code)
    retry_after: float | None
    if rule.kind is OutcomeKind.RATE_LIMITED:
        retry_after = rule.wait_seconds if rule.wait_seconds is not None else 1.0
    elif rule.kind is OutcomeKind.RECIPIENT_WAIT:
        retry_after = (
            rule.wait_seconds if rule.wait_seconds is not None else pair_rate_backoff(attempt)
        )
    elif rule.kind is OutcomeKind.RETRY_LATER:
        retry_after = max(rule.wait_seconds or 0.0, retry_later_backoff(attempt))
    else:
        retry_after = None
    return Classification(rule.kind, retry_after, rule.opt_out, rule.meaning)


@dataclass(frozen=True, slots=True)
class Outcome:
    """The result of sending one message: exactly one :class:`OutcomeKind` plus its data."""

    public_id: str
    kind: OutcomeKind
    provider_message_id: str | None = None
    retry_after: float | None = None
    opt_out: bool = False
    error: ProviderError | None = None
    note: str = ""

    @classmethod
    def accepted(cls, public_id: str, provider_message_id: str, note: str = "") -> Outcome:
        return cls(
            public_id, OutcomeKind.ACCEPTED, provider_message_id=provider_message_id, note=note
        )

    @classmethod
    def from_error(cls, public_id: str, error: ProviderError, *, attempt: int) -> Outcome:
        """Classify a provider error by its code (never by HTTP status or text)."""
        verdict = classify_error_code(error.code, attempt=attempt)
        return cls(
            public_id,
            verdict.kind,
            retry_after=verdict.retry_after,
            opt_out=verdict.opt_out,
            error=error,
            note=verdict.meaning,
        )

    @classmethod
    def transport_failure(
        cls, public_id: str, *, request_sent: bool, attempt: int, note: str
    ) -> Outcome:
        """A network failure: ambiguous once the request left, otherwise safe to retry."""
        if request_sent:
            return cls(public_id, OutcomeKind.AMBIGUOUS, note=note)
        return cls(
            public_id, OutcomeKind.RETRY_LATER, retry_after=retry_later_backoff(attempt), note=note
        )

    @classmethod
    def local(cls, public_id: str, kind: OutcomeKind, note: str, *, attempt: int = 0) -> Outcome:
        """An outcome decided without a provider error code (e.g. a session that is not ready)."""
        retry_after = retry_later_backoff(attempt) if kind is OutcomeKind.RETRY_LATER else None
        return cls(public_id, kind, retry_after=retry_after, note=note)


# --------------------------------------------------------------------------------------------
# Webhook events (shared by every provider)
# --------------------------------------------------------------------------------------------


class DeliveryStatus(enum.StrEnum):
    """A provider status normalised (research §6). Apply monotonically: sent < delivered < read."""

    PENDING = "pending"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    PLAYED = "played"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class StatusEvent:
    """A delivery status for one message we sent.

    ``account_id`` is the sending number (Cloud API ``metadata.phone_number_id`` or the WAHA
    session name); ``public_id`` is the echoed ``biz_opaque_callback_data`` when present.
    A ``failed`` status carries ``error`` and the same taxonomy's verdict in ``failure``.
    """

    account_id: str
    provider_message_id: str
    status: DeliveryStatus
    recipient: str | None
    timestamp: datetime | None
    public_id: str | None = None
    error: ProviderError | None = None
    failure: Classification | None = None


@dataclass(frozen=True, slots=True)
class InboundMessageEvent:
    """A message a contact sent to one of our numbers (text, button or interactive reply).

    ``text`` is the body, the button's text or the reply's title; ``payload`` is the button
    payload or interactive reply id (e.g. ``"STOP"`` from a quick-reply button).
    """

    account_id: str
    provider_message_id: str
    sender: str
    timestamp: datetime | None
    kind: str
    text: str = ""
    payload: str | None = None
    contact_name: str | None = None
    context_message_id: str | None = None


class AccountEffect(enum.StrEnum):
    """What an account-level event means for sending from that number/account."""

    BLOCKED = "blocked"  # stop sending: banned, disabled, restricted, logged out
    RESTORED = "restored"  # reinstated / paired again: sending may resume
    WARNING = "warning"  # a violation or a scheduled disable: tell the user
    INFO = "info"  # anything else worth recording (quality, limits, alerts)


@dataclass(frozen=True, slots=True)
class AccountEvent:
    """An account or session event: bans, restrictions, session status changes.

    For the Cloud API ``account_id`` is the WABA id (restrictions apply to the whole account) and
    ``phone_number_id`` is usually ``None``; for WAHA both name the session.
    """

    account_id: str
    event: str
    effect: AccountEffect
    timestamp: datetime | None
    phone_number_id: str | None = None
    until: datetime | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class NumberHealthEvent:
    """A change of a number's health that Meta reports (``phone_number_quality_update``,
    ``business_capability_update``): quality rating, messaging-limit tier, throughput.

    ``account_id`` is the WABA id; Meta names the number by ``display_phone_number`` only (or
    not at all: a capability update concerns every number of the account). Fields Meta did not
    send are ``None``. ``quality_rating`` is GREEN/YELLOW/RED; ``messaging_limit_tier`` is a
    ``TIER_*`` string (shared by the account's numbers); ``throughput_level`` is STANDARD or
    HIGH (``THROUGHPUT_UPGRADE`` means HIGH: up to 1,000 messages per second).
    """

    account_id: str
    event: str
    timestamp: datetime | None
    display_phone_number: str | None = None
    quality_rating: str | None = None
    messaging_limit_tier: str | None = None
    old_limit: str | None = None
    throughput_level: str | None = None


@dataclass(frozen=True, slots=True)
class ErrorEvent:
    """A system- or app-level error webhook not tied to one message (research §1.3)."""

    account_id: str
    error: ProviderError
    classification: Classification
    timestamp: datetime | None = None


@dataclass(frozen=True, slots=True)
class TemplateEvent:
    """A change to one of a WABA's message templates, from the ``message_template_status_update``,
    ``template_category_update`` or ``message_template_quality_update`` webhook field.

    ``event`` is Meta's status event (APPROVED, REJECTED, PAUSED, DISABLED, FLAGGED, REINSTATED,
    PENDING_DELETION, ...), empty for category and quality changes; ``reason`` Meta's reason
    (a rejection reason such as INVALID_FORMAT, or the pause's), "" for NONE."""

    account_id: str  # the WABA id (the entry's id)
    field: str
    template_id: str
    name: str
    language: str
    event: str = ""
    reason: str = ""
    category: str = ""
    previous_category: str = ""
    quality: str = ""
    previous_quality: str = ""
    timestamp: datetime | None = None


Event: TypeAlias = (
    StatusEvent
    | InboundMessageEvent
    | AccountEvent
    | ErrorEvent
    | TemplateEvent
    | NumberHealthEvent
)


def timestamp_from_unix(value: Any) -> datetime | None:
    """Meta sends Unix seconds as strings (WAHA as numbers): parse either, ``None`` if absent."""
    if value is None or value == "":
        return None
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    if seconds > 1e11:  # milliseconds (WAHA envelopes)
        seconds /= 1000.0
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):  # 1e30, NaN: no moment at all
        return None


# --------------------------------------------------------------------------------------------
# The adapter protocol and the shared HTTP transport
# --------------------------------------------------------------------------------------------


@runtime_checkable
class GatewayAdapter(Protocol):
    """What the engine needs from any gateway: concurrent sends and cleanup."""

    async def send(self, message: OutboundMessage) -> Outcome: ...

    async def send_many(self, messages: Sequence[OutboundMessage]) -> list[Outcome]: ...

    async def aclose(self) -> None: ...


class HttpTransport:
    """One reused :class:`aiohttp.ClientSession` with the timeouts and the sent-marker trace.

    Create it inside the event loop that uses it (the session binds to that loop) and close it
    with :meth:`aclose`. Several adapters on one loop may share a transport.

    Every connection goes through core's checked connector (resolve, check against
    ``address_policy``, pin) and :func:`exchange` never follows redirects (issue 17, F3). The
    default policy refuses every private and loopback address; the engine passes the one
    built from settings.
    """

    def __init__(
        self,
        *,
        timeouts: Timeouts | None = None,
        max_connections: int = 100,
        address_policy: AddressPolicy | None = None,
    ) -> None:
        self.timeouts = timeouts or Timeouts()
        self.address_policy = address_policy or AddressPolicy()
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(
                    total=self.timeouts.total,
                    connect=self.timeouts.connect,
                    sock_connect=self.timeouts.connect,
                ),
                connector=checked_connector(self.address_policy, limit=self._max_connections),
                request_class=_ProgressMarkingRequest,
            )
            self._loop = loop
        elif self._loop is not loop:
            raise RuntimeError("an HttpTransport is bound to the event loop that created it")
        return self._session

    async def aclose(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None


@dataclass(slots=True)
class RequestProgress:
    """Records whether the request reached a connection and began to be written."""

    sent: bool = False


_request_progress: ContextVar[RequestProgress | None] = ContextVar(
    "isend_request_progress", default=None
)


class _ProgressMarkingRequest(aiohttp.ClientRequest):
    """Marks the calling task's :class:`RequestProgress` once a connection is held and the
    request is being written: from then on a failure is ambiguous (it may have left).

    The same moment aiohttp's ``on_request_headers_sent`` trace reports, without a trace
    config: with one, aiohttp builds and awaits a trace object at every step of every request
    (a tenth of the drainer's CPU)."""

    async def send(self, conn: Any) -> aiohttp.ClientResponse:
        progress = _request_progress.get()
        if progress is not None:
            progress.sent = True
        return await super().send(conn)


async def gather_bounded(
    items: Sequence[OutboundMessage],
    send_one: Callable[[OutboundMessage], Awaitable[Outcome]],
    concurrency: int,
) -> list[Outcome]:
    """Run ``send_one`` over ``items`` with at most ``concurrency`` in flight; keep the order."""
    semaphore = asyncio.Semaphore(max(1, concurrency))

    async def bounded(message: OutboundMessage) -> Outcome:
        async with semaphore:
            return await send_one(message)

    return list(await asyncio.gather(*(bounded(message) for message in items)))


@dataclass(frozen=True, slots=True)
class HttpReply:
    """A provider's HTTP answer: status, raw bytes and the JSON body when it parsed."""

    status: int
    body: Any
    raw: bytes
    content_type: str = ""
    location: str = ""

    @property
    def is_redirect(self) -> bool:
        """A 3xx: never followed (the target could be internal); callers report it."""
        return is_redirect(self.status)


class TransportFailure(Exception):
    """No HTTP answer. ``request_sent`` tells ambiguous (it left) from safe-to-retry."""

    def __init__(self, note: str, *, request_sent: bool) -> None:
        super().__init__(note)
        self.note = note
        self.request_sent = request_sent


async def exchange(
    transport: HttpTransport,
    method: str,
    url: str,
    *,
    headers: Mapping[str, str],
    payload: Any = None,
) -> HttpReply:
    """Make one HTTP request; raise :class:`TransportFailure` when no answer came back.
    Redirects are not followed: a 3xx comes back as a reply with its ``location``."""
    request_headers = dict(headers)
    body_bytes = None
    if payload is not None:
        body_bytes = json_dumps(payload)
        request_headers.setdefault("Content-Type", "application/json")
    progress = RequestProgress()
    marker = _request_progress.set(progress)
    try:
        async with transport.session.request(
            method,
            url,
            data=body_bytes,
            headers=request_headers,
            allow_redirects=False,
        ) as response:
            raw = await response.read()
            content_type = response.content_type
            status = response.status
            location = response.headers.get("Location", "")
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        refused = refused_cause(exc)
        if refused is not None:
            raise TransportFailure(f"refused: {refused}", request_sent=False) from exc
        kind = "timeout" if isinstance(exc, TimeoutError) else type(exc).__name__
        raise TransportFailure(f"{kind} on {method} {url}", request_sent=progress.sent) from exc
    finally:
        _request_progress.reset(marker)
    body: Any = None
    if raw and content_type in ("application/json", "text/javascript"):
        try:
            body = json_loads(raw)
        except ValueError:
            body = None
    return HttpReply(status, body, raw, content_type, location)


def json_loads(raw: bytes) -> Any:
    """Decode JSON bytes (orjson: the drainer decodes every gateway answer)."""
    return orjson.loads(raw)


def json_dumps(payload: Any) -> bytes:
    """Encode a request body as compact UTF-8 JSON bytes (orjson, several times faster than
    the standard library; the drainer encodes one body per message). Keys that are not
    strings become strings, as `json.dumps` does."""
    return orjson.dumps(payload, option=orjson.OPT_NON_STR_KEYS)
