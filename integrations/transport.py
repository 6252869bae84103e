"""The HTTP side of webhook deliveries: POST a batch of signed bodies concurrently with
aiohttp, one session per batch, never following redirects, 10 s timeout each.

SSRF (DESIGN.md, Security): every URL is checked with `ensure_public_url` just before the
send, and core's one outgoing client (`core.outgoing`: resolve, check and pin per connection,
never follow redirects) refuses private, loopback, link-local and reserved addresses again at
connect time, so a hostname re-pointed after the check (DNS rebinding) cannot reach our
network. Both checks are off when `ALLOW_PRIVATE_WEBHOOK_URLS` is on."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import aiohttp
from django.conf import settings
from django.core.exceptions import ValidationError

from core.asyncrun import run_sync
from core.outgoing import AddressPolicy, checked_connector, refused_cause
from core.urlsafety import ensure_public_url

USER_AGENT = "iSend-Webhooks/1.0"
BODY_EXCERPT = 500
CONCURRENCY = 20


@dataclass
class Request:
    key: int
    url: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Response:
    key: int
    status_code: int | None = None
    elapsed_ms: int = 0
    body: str = ""
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _refusal(url: str) -> str:
    """Empty when the URL may be called now; else why not."""
    try:
        ensure_public_url(url)
    except ValidationError as exc:
        return ("refused: " + " ".join(exc.messages))[:255]
    return ""


async def _post_all(requests: list[Request], timeout: float, allow_private: bool) -> list[Response]:
    connector = checked_connector(AddressPolicy(allow_private=allow_private), limit=CONCURRENCY)
    gate = asyncio.Semaphore(CONCURRENCY)
    async with aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=timeout),
        headers={"User-Agent": USER_AGENT, "Content-Type": "application/json"},
        trust_env=False,
    ) as session:

        async def one(request: Request) -> Response:
            answer = Response(key=request.key)
            async with gate:
                started = time.monotonic()
                try:
                    async with session.post(
                        request.url,
                        data=request.body,
                        headers=request.headers,
                        allow_redirects=False,
                    ) as response:
                        raw = await response.content.read(BODY_EXCERPT * 4)
                        answer.status_code = response.status
                        answer.body = raw.decode("utf-8", errors="replace")[:BODY_EXCERPT]
                except TimeoutError:
                    answer.error = f"timeout after {timeout:g} s"
                except (aiohttp.ClientError, OSError) as exc:
                    refused = refused_cause(exc)
                    cause: BaseException = refused or exc
                    prefix = "refused: " if refused is not None else ""
                    answer.error = f"{prefix}{type(cause).__name__}: {cause}"[:255]
                answer.elapsed_ms = int((time.monotonic() - started) * 1000)
            return answer

        return list(await asyncio.gather(*(one(r) for r in requests)))


def post_all(requests: list[Request]) -> list[Response]:
    """Send every request; returns one response per request, in order. Never raises for a
    network error or a refused URL: those are failed attempts like any other."""
    allow_private = bool(settings.ALLOW_PRIVATE_WEBHOOK_URLS)
    refused = {r.key: _refusal(r.url) for r in requests}
    to_send = [r for r in requests if not refused[r.key]]
    sent: dict[int, Response] = {}
    if to_send:
        timeout = float(settings.WEBHOOK_TIMEOUT_SECONDS)
        answers = run_sync(lambda: _post_all(to_send, timeout, allow_private))
        sent = {a.key: a for a in answers}
    return [sent.get(r.key) or Response(key=r.key, error=refused[r.key]) for r in requests]
