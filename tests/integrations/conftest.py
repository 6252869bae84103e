"""Fixtures for outgoing webhooks: a real HTTP receiver on a free loopback port that records
what it gets and answers as told (a status code, or a delay to force a timeout)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from accounts.models import Workspace
from integrations import services
from integrations.models import WebhookEndpoint

# The engine's fixtures (sandbox numbers, contacts, credits, launch) for end-to-end tests.
from ..messaging.conftest import sandbox, sandbox_gateway  # noqa: F401
from ..messaging.engine.conftest import (  # noqa: F401
    contacts,
    credits,
    engine_sandbox,
    launch,
    sandbox_number,
    template,
)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    url: str
    status: int = 200
    delay: float = 0.0
    body: bytes = b'{"ok":true}'
    requests: list[Received] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            state.requests.append(
                Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            )
            if state.delay:
                time.sleep(state.delay)
            body = b"" if state.status in (204, 304) else state.body
            try:
                self.send_response(state.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def make_endpoint(workspace: Workspace) -> Callable[..., tuple[WebhookEndpoint, str]]:
    def make(url: str, event_types: list[str] | None = None) -> tuple[WebhookEndpoint, str]:
        return services.webhook_endpoint_create(
            workspace=workspace, url=url, event_types=["*"] if event_types is None else event_types
        )

    return make
