"""Reliability fixtures: the engine fixtures, a private Redis server and real Celery workers.

A test here runs the product as it runs in production: a `celery -A isend worker` subprocess
(with its embedded beat, so the periodic engine tick runs) on the test database, a private
`redis-server` on a free port as broker, limiter and cache (never the machine's shared Redis:
tests stop and restart it), and the sandbox gateway over HTTP. The test process only launches
campaigns, injects faults and watches; it never calls tick or drain itself."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from django.db import connection
from django.test import override_settings

from tests.messaging.conftest import free_port, sandbox, sandbox_gateway  # noqa: F401  (fixtures)
from tests.messaging.engine.conftest import (  # noqa: F401  (fixtures)
    contacts,
    credits,
    engine_sandbox,
    launch,
    sandbox_number,
    template,
)

ROOT = Path(__file__).resolve().parents[2]
REDIS_SERVER = "/usr/bin/redis-server"

#: Engine knobs for the worker: a 1 s tick (so "completes by itself" is quick to observe),
#: leases and drain locks short enough that a killed worker's messages come back within
#: seconds (a living drainer renews them every 2 s), and unconfirmed sends resent after 2 s.
WORKER_ENGINE_ENV = {
    "ENGINE_TICK_SECONDS": "1",
    "ENGINE_LEASE_SECONDS": "8",
    "ENGINE_DRAIN_LOCK_SECONDS": "6",
    "ENGINE_HEARTBEAT_SECONDS": "2",
    "ENGINE_AMBIGUOUS_RESEND_AFTER": "2",
    "ENGINE_SEND_TIMEOUT_SECONDS": "1.5",
}


def wait_for(
    predicate: Callable[[], Any],
    *,
    timeout: float,
    what: str,
    interval: float = 0.1,
    diagnose: Callable[[], str] | None = None,
) -> Any:
    """Poll until `predicate()` is truthy; fail with `what` (and a diagnosis) when it never is."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            detail = diagnose() if diagnose else ""
            pytest.fail(f"{what}: not within {timeout:.0f} s\n{detail}")
        time.sleep(interval)


def _stop_group(process: subprocess.Popen[bytes], *, sig: int, timeout: float = 15.0) -> None:
    """Signal a process started with `start_new_session=True` and all of its children."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=timeout)
    # Children (the embedded beat, pool processes) may outlive the leader: end the group.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


class PrivateRedis:
    """A throw-away `redis-server` (no persistence) on a free loopback port."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        assert self.process is None or self.process.poll() is not None
        log = (self.workdir / f"redis-{self.port}.log").open("ab")
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        log.close()
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5)
        wait_for(lambda: self._ping(client), timeout=15, what="the private redis-server starts")

    def _ping(self, client: redis.Redis) -> bool:
        if self.process is not None and self.process.poll() is not None:
            pytest.fail(f"redis-server exited with code {self.process.returncode}")
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False

    def stop(self) -> None:
        """SIGTERM (what a restart does); everything in it is gone (no persistence)."""
        if self.process is not None:
            _stop_group(self.process, sig=signal.SIGTERM)
        # The port must be free again before a restart binds it.
        wait_for(self._port_closed, timeout=15, what="redis-server releases its port")

    def _port_closed(self) -> bool:
        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", self.port)) != 0


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


class CeleryWorker:
    """`celery -A isend worker -B` on every queue, as a subprocess in its own process group
    (SIGKILL reaches the worker and its embedded beat at once)."""

    def __init__(self, *, env: dict[str, str], workdir: Path) -> None:
        self.env = env
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.crashes: list[str] = []  # log tails of exits `supervise` restarted after
        self.logs: list[Path] = []

    def start(self, *, pool: str = "threads") -> None:
        """`pool`: "threads" (the dispatch worker's) or "prefork" (the imports worker's)."""
        assert self.process is None or self.process.poll() is not None, "already running"
        self.starts += 1
        log_path = self.workdir / f"worker-{self.starts}.log"
        self.logs.append(log_path)
        name = f"reliability-{uuid.uuid4().hex[:8]}@%h"
        with log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "isend", "worker", "-B",
                 "-s", str(self.workdir / f"beat-schedule-{self.starts}"),
                 "-Q", "default,dispatch,webhooks,imports", "--pool", pool, "-c", "4",
                 "-n", name, "-l", "INFO", "--without-gossip", "--without-mingle"],
                cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL the worker and its beat: no shutdown, no acks, leases left behind."""
        assert self.process is not None
        _stop_group(self.process, sig=signal.SIGKILL)

    def stop(self) -> None:
        if self.process is not None:
            _stop_group(self.process, sig=signal.SIGTERM, timeout=5.0)

    def supervise(self) -> bool:
        """Do what the deployment's supervisor does (docker compose: `restart: unless-stopped`):
        start the worker again if it exited. Returns True when it had to."""
        if self.process is None or self.alive:
            return False
        _stop_group(self.process, sig=signal.SIGKILL)  # leftovers of its group (beat)
        self.crashes.append(self.log_tail(5))
        self.start()
        return True

    def log_tail(self, lines: int = 40) -> str:
        if not self.logs:
            return ""
        text = self.logs[-1].read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])


@pytest.fixture
def celery_worker(
    transactional_db: None,
    private_redis: PrivateRedis,
    engine_sandbox: Any,  # noqa: F811 - the fixture imported above
    tmp_path: Path,
) -> Iterator[CeleryWorker]:
    """A real worker (not started yet: call `.start()`) on the test database, the private Redis
    and the sandbox. The test process's Celery producer, limiter client and engine settings
    point at the same Redis, so a launch here enqueues to the broker the worker consumes."""
    from isend.celery import app
    from messaging.engine import runtime

    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"REDIS_URL", "CELERY_BROKER_URL", "CACHE_URL", "DATABASE_URL"}
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "isend.settings_test",
            "DATABASE_URL": (
                f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:"
                f"{db['PORT'] or 5432}/{db['NAME']}"
            ),
            "TEST_REDIS_URL": private_redis.url,
            "CELERY_BROKER_URL": private_redis.url,
            "CACHE_URL": private_redis.url,
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "ENGINE_KICK_DRAINERS": "1",
            "SANDBOX_GATEWAY_URL": engine_sandbox.base_url,
            "PYTHONUNBUFFERED": "1",
            **WORKER_ENGINE_ENV,
        }
    )
    worker = CeleryWorker(env=env, workdir=tmp_path)

    saved = {
        "broker_url": app.conf.broker_url,
        "task_always_eager": app.conf.task_always_eager,
    }
    saved_redis = runtime._redis
    _reset_producer(app)
    app.conf.broker_url = private_redis.url
    app.conf.task_always_eager = False
    runtime._redis = redis.Redis.from_url(private_redis.url)
    try:
        with override_settings(
            REDIS_URL=private_redis.url,
            CELERY_BROKER_URL=private_redis.url,
            CELERY_TASK_ALWAYS_EAGER=False,
            ENGINE_KICK_DRAINERS=True,
            **{key: _number(value) for key, value in WORKER_ENGINE_ENV.items()},
        ):
            yield worker
    finally:
        worker.stop()
        _reset_producer(app)
        app.conf.broker_url = saved["broker_url"]
        app.conf.task_always_eager = saved["task_always_eager"]
        runtime._redis = saved_redis


def _number(raw: str) -> float | int:
    return float(raw) if "." in raw else int(raw)


def _reset_producer(app: Any) -> None:
    """Forget the Celery app's connection and producer pools (they are bound to a broker),
    including kombu's process-wide registries: the app's producer pool comes from
    `kombu.pools.producers[connection]`, which would hand back a pool over the closed
    connections to later tests."""
    from kombu import pools

    if app._pool is not None:
        app._pool.force_close_all()
    app._pool = None
    amqp = app.__dict__.get("amqp")
    if amqp is not None:
        amqp._producer_pool = None
    pools.reset()
