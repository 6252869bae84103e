"""Shared set-up for benchmarks: a dedicated database (never the dev data), Django, the sandbox
gateway as a subprocess, a receiver for the sandbox's status webhooks, and figures printed as
one JSON object."""

from __future__ import annotations

import json
import os
import resource
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


class WebhookReceiver:
    """A tiny HTTP server that answers 200 to everything and counts what it got.

    The sandbox posts status webhooks to the callback URL a number was registered with, which
    is built from SITE_URL. Left alone that is the dev server's port (8000), whose log a bench
    run would flood with 404s; the bench points SITE_URL here instead."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        counts, lock = self.counts, threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with lock:
                    counts["requests"] += 1
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST  # noqa: N815 - http.server's naming

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def received(self) -> int:
        return self.counts["requests"]


RECEIVER: WebhookReceiver | None = None


def webhook_receiver() -> WebhookReceiver:
    global RECEIVER  # noqa: PLW0603 - one receiver per bench process
    if RECEIVER is None:
        RECEIVER = WebhookReceiver()
    return RECEIVER


def django_setup(*, migrate: bool = True) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "isend.settings")
    # Callback URLs (sandbox status webhooks) point at the bench's own receiver, never at the
    # dev server; drainer subprocesses inherit the parent's receiver and register no numbers.
    if "BENCH_WEBHOOK_RECEIVER" not in os.environ:
        os.environ["BENCH_WEBHOOK_RECEIVER"] = webhook_receiver().url
    os.environ["SITE_URL"] = os.environ["BENCH_WEBHOOK_RECEIVER"]
    os.environ["DATABASE_URL"] = os.environ.get(
        "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/isend_bench"
    )
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/14")
    os.environ.setdefault("ENGINE_KICK_DRAINERS", "0")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    # Production-like: DEBUG off (no query logging wrapper on every cursor), plain HTTP.
    os.environ.setdefault("DEBUG", "0")
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key")
    os.environ.setdefault("ALLOWED_HOSTS", "*")
    os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
    os.environ.setdefault("FIELD_ENCRYPTION_KEY", "aXNlbmQtYmVuY2gtZmllbGQta2V5LTMyLWJ5dGVzISE=")
    subprocess.run(
        ["bash", str(ROOT / "scripts" / "ensure_services.sh")],
        env={**os.environ, "PY": sys.executable},
        check=True,
        capture_output=True,
    )
    import django

    django.setup()
    from django.core.management import call_command

    if migrate:
        call_command("migrate", verbosity=0)


def vacuum_analyze() -> None:
    """Leave the database as autovacuum keeps a production server's: this machine's Postgres
    runs with autovacuum off (its CI configuration), so dead rows and index entries of earlier
    runs pile up (20% fewer messages a second measured on a bench database with 275,000 dead
    message rows). Call it after seeding, before measuring."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Sandbox:
    """The sandbox gateway in its own process, on a free loopback port."""

    def __init__(self, *flags: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "messaging.sandbox",
                "--port",
                str(self.port),
                "--log-level",
                "WARNING",
                *flags,
            ],
            cwd=ROOT,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.url + "/_sandbox/health", timeout=1).read()  # noqa: S310
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("sandbox did not start")

    def stats(self) -> dict[str, Any]:
        with urllib.request.urlopen(self.url + "/_sandbox/stats", timeout=10) as r:  # noqa: S310
            return json.loads(r.read())

    def accept_times(self, phone_number_id: str) -> list[float]:
        """When the gateway accepted each request of this number (epoch seconds, sorted)."""
        url = f"{self.url}/_sandbox/numbers/{phone_number_id}/messages"
        with urllib.request.urlopen(url, timeout=10) as r:  # noqa: S310
            return sorted(entry["at"] for entry in json.loads(r.read())["data"])

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def machine() -> dict[str, Any]:
    return {"cpus": os.cpu_count(), "python": sys.version.split()[0]}


def emit(figures: dict[str, Any]) -> None:
    print(json.dumps({**figures, "machine": machine()}, indent=2))  # noqa: T201


def seed_contacts(workspace_id: int, n: int) -> None:
    """n contacts written server-side in one statement, then ANALYZE (as autovacuum would)."""
    from django.db import connection

    from messaging.contacts.models import Contact

    table = Contact._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (public_id, workspace_id, phone, first_name, last_name,"  # noqa: S608
            " language, country, time_zone, attributes, tags, consent_source, consent_proof,"
            " opt_out_source, opt_out_reason, whatsapp_status, whatsapp_error, created_via,"
            " created_at, updated_at)"
            " SELECT gen_random_uuid(), %s, '+99450' || lpad(g::text, 7, '0'), 'N' || g, '',"
            " '', 'AZ', '', '{}'::jsonb, '{}', '', '{}'::jsonb, '', '', 'unknown', '',"
            " 'import', now(), now() FROM generate_series(1, %s) g",
            [workspace_id, n],
        )
        cursor.execute(f"ANALYZE {table}")  # noqa: S608
