"""Fixtures for gateway and sandbox tests: the sandbox as a real subprocess, a webhook receiver.

No database is used here. Everything listens on loopback only.
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

ROOT = Path(__file__).resolve().parents[2]
PAYLOADS = Path(__file__).resolve().parent / "payloads"
LOOPBACK = "127.0.0.1"
WAIT_SECONDS = 15.0

#: The sandbox's start-up flags for tests: fixed seed, fast status webhooks.
SANDBOX_TEST_FLAGS = [
    "--seed", "1234",
    "--sent-delay", "0",
    "--delivered-delay", "0.05",
    "--read-delay", "0.1",
    "--read-ratio", "1",
    "--webhook-batch-interval", "0.02",
    "--webhook-retry-base-seconds", "0.05",
    "--webhook-timeout-seconds", "3",
]  # fmt: skip


def load_payload(name: str) -> dict[str, Any]:
    """A recorded payload from ``tests/messaging/payloads`` (copied from the research file)."""
    return json.loads((PAYLOADS / name).read_text())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def wait_until(predicate: Callable[[], Any], *, timeout: float = WAIT_SECONDS) -> Any:
    """Poll until ``predicate()`` is truthy; fail the test (not hang) when it never is."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout} s")
        time.sleep(0.02)


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    body: Any
    raw: bytes
    headers: dict[str, str]


def http(
    method: str,
    url: str,
    payload: Any = None,
    *,
    headers: dict[str, str] | None = None,
    data: bytes | None = None,
) -> HttpAnswer:
    """A small synchronous HTTP client for control calls (loopback only)."""
    if payload is not None:
        data = json.dumps(payload).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if payload is not None:
        request.add_header("Content-Type", "application/json")
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=10) as response:
            raw, status, answer_headers = response.read(), response.status, dict(response.headers)
    except urllib.error.HTTPError as error:
        raw, status, answer_headers = error.read(), error.code, dict(error.headers)
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        body = None
    return HttpAnswer(status, body, raw, answer_headers)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class SandboxClient:
    """The control API of a running sandbox."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def call(self, method: str, path: str, payload: Any = None, **kwargs: Any) -> HttpAnswer:
        return http(method, self.base_url + path, payload, **kwargs)

    def reset(self) -> None:
        answer = self.call("POST", "/_sandbox/reset", {"numbers": True, "config": True})
        assert answer.status == 200, answer.raw

    def configure(self, **changes: Any) -> dict[str, Any]:
        answer = self.call("POST", "/_sandbox/config", changes)
        assert answer.status == 200, answer.raw
        return answer.body

    def stats(self) -> dict[str, Any]:
        return self.call("GET", "/_sandbox/stats").body

    def number_stats(self, phone_number_id: str) -> dict[str, Any]:
        return self.stats()["numbers"][phone_number_id]

    def register(self, phone_number_id: str = "1065", **fields: Any) -> dict[str, Any]:
        payload = {
            "phone_number_id": phone_number_id,
            "display_phone_number": "15550001065",
            "access_token": "sandbox-token",
            "app_secret": "sandbox-secret",
            **fields,
        }
        answer = self.call("POST", "/_sandbox/numbers", payload)
        assert answer.status in (200, 201), answer.raw
        return answer.body

    def add_template(
        self,
        phone_number_id: str = "1065",
        *,
        name: str,
        language: str = "en",
        body: str,
        examples: list[str] | None = None,
        status: str = "APPROVED",
        category: str = "MARKETING",
        components: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """Register a template straight into the number's WABA (``POST /_sandbox/templates``)."""
        body_component: dict[str, Any] = {"type": "BODY", "text": body}
        if examples:
            body_component["example"] = {"body_text": [examples]}
        payload = {
            "phone_number_id": phone_number_id,
            "name": name,
            "language": language,
            "category": category,
            "status": status,
            "components": [*(components or []), body_component],
        }
        answer = self.call("POST", "/_sandbox/templates", payload)
        assert answer.status == 201, answer.raw
        return answer.body

    def wait_idle(self) -> None:
        """Wait until every queued webhook has been delivered (or given up)."""
        wait_until(lambda: self.stats()["webhooks"]["pending"] == 0)


@pytest.fixture(scope="session")
def sandbox_gateway() -> Iterator[str]:
    """The sandbox as a subprocess on a free loopback port; yields its base URL."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "messaging.sandbox", "--host", LOOPBACK, "--port", str(port),
         "--log-level", "WARNING", *SANDBOX_TEST_FLAGS],
        cwd=ROOT,
    )  # fmt: skip
    base_url = f"http://{LOOPBACK}:{port}"

    def answers() -> bool:
        if process.poll() is not None:
            pytest.fail(f"the sandbox exited with code {process.returncode}")
        try:
            return http("GET", base_url + "/_sandbox/health").status == 200
        except OSError:
            return False

    try:
        wait_until(answers)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def sandbox(sandbox_gateway: str) -> SandboxClient:
    """A freshly reset sandbox (no numbers, no sessions, start-up config)."""
    client = SandboxClient(sandbox_gateway)
    client.reset()
    return client


@dataclass(frozen=True)
class ReceivedWebhook:
    path: str
    headers: dict[str, str]
    raw: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.raw)


class WebhookReceiver:
    """An aiohttp server in a thread that records every POST (the product's webhook endpoint).

    ``fail_next(n)`` answers the next ``n`` POSTs with HTTP 500 to exercise the sandbox retries.
    """

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://{LOOPBACK}:{self.port}/hooks"
        self._received: list[ReceivedWebhook] = []
        self._lock = threading.Lock()
        self._failures_left = 0
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=10)

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_post("/hooks", self._handle)
        app.router.add_post("/hooks/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, LOOPBACK, self.port).start()

    async def _handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        with self._lock:
            if self._failures_left > 0:
                self._failures_left -= 1
                return web.Response(status=500)
            self._received.append(ReceivedWebhook(request.path, dict(request.headers), raw))
        return web.Response(text="ok")

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    def clear(self) -> None:
        with self._lock:
            self._received.clear()
            self._failures_left = 0

    def fail_next(self, count: int) -> None:
        with self._lock:
            self._failures_left = count

    @property
    def received(self) -> list[ReceivedWebhook]:
        with self._lock:
            return list(self._received)


@pytest.fixture(scope="session")
def _webhook_receiver_server() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    receiver.start()
    try:
        yield receiver
    finally:
        receiver.stop()


@pytest.fixture
def webhook_receiver(
    sandbox: SandboxClient, _webhook_receiver_server: WebhookReceiver
) -> WebhookReceiver:
    """The receiver, emptied after the sandbox reset (so no earlier test's webhook lands here)."""
    _webhook_receiver_server.clear()
    return _webhook_receiver_server
