"""Reliability fixtures: the engine fixtures, a private Redis server and real Celery workers.

A test here runs the product as it runs in production: a `celery -A isend worker` subprocess
(with its embedded beat, so the periodic engine tick runs) on the test database, a private
`redis-server` on a free port as broker, limiter and cache (never the machine's shared Redis:
tests stop and restart it), and the sandbox gateway over HTTP. The test process only launches
campaigns, injects faults and watches; it never calls tick or drain itself."""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections import Counter
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
    # A killed drainer's in-flight messages wait 3 s (and for their number's stored webhooks).
    "ENGINE_INTERRUPTED_RESEND_AFTER": "3",
    "ENGINE_SEND_TIMEOUT_SECONDS": "1.5",
    # Stored webhook events not applied after 3 s (their task lost in a Redis restart) are
    # queued again by beat's sweep every 3 s (60 s by default).
    "WEBHOOK_EVENT_RETRY_SECONDS": "3",
}

#: For the tests that count statuses over HTTP: the default send timeout and resend delay, so a
#: slow moment on a busy machine does not turn a send into an ambiguous one sent again.
DEFAULT_SEND_ENV = {"ENGINE_SEND_TIMEOUT_SECONDS": "10", "ENGINE_AMBIGUOUS_RESEND_AFTER": "900"}


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
    # Nothing of ours listens there unless a test starts the web process (`procfile`): the
    # sandbox's webhooks never reach whatever serves the default http://127.0.0.1:8000.
    site_url = f"http://127.0.0.1:{free_port()}"
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "isend.settings_test",
            "SITE_URL": site_url,
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
            SITE_URL=site_url,
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


#: The Procfile's Celery processes (started through `scripts/supervise.py`); `web` (gunicorn) is
#: started too by the tests that need the status webhooks to arrive over HTTP.
PROCESSES = ("worker", "dispatch", "beat")
RESTART_LINE = re.compile(r"supervise\[(\w+)\]: exited with code")


def procfile_commands(*, schedule: Path, web_port: int) -> dict[str, list[str]]:
    """The Procfile's command lines, with `.venv/bin/` as this interpreter's bin directory,
    beat's schedule file in the test's directory and the web server on `web_port`."""
    bin_dir = str(Path(sys.executable).parent) + "/"
    commands = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        name, _, command = line.partition(":")
        if name.strip() in (*PROCESSES, "web"):
            command = command.replace(".venv/bin/", bin_dir)
            command = command.replace("var/celerybeat-schedule", str(schedule))
            command = command.replace("${WEB_PORT:-8000}", str(web_port))
            commands[name.strip()] = shlex.split(command)
    assert set(commands) == {*PROCESSES, "web"}, commands
    for name in PROCESSES:
        argv = commands[name]
        assert argv[1].endswith("scripts/supervise.py"), f"{name} is not supervised: {argv}"
    return commands


class Procfile:
    """The Procfile's processes, each in its own process group (as honcho runs them), output to
    a log file per process. `web` is gunicorn on a free port: the sandbox's status webhooks
    reach the product over HTTP exactly as in production (receiver -> Celery -> apply)."""

    def __init__(self, *, env: dict[str, str], workdir: Path) -> None:
        self.web_port = free_port()
        self.web_url = f"http://127.0.0.1:{self.web_port}"
        self.env = {**env, "SITE_URL": self.web_url}
        self.workdir = workdir
        self.commands = procfile_commands(
            schedule=workdir / "celerybeat-schedule", web_port=self.web_port
        )
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, *, web: bool = False) -> None:
        """Start worker, dispatch and beat (and with `web`, gunicorn, waited for)."""
        names = [*PROCESSES, "web"] if web else list(PROCESSES)
        for name in names:
            with self.log_path(name).open("wb") as out:
                self.processes[name] = subprocess.Popen(
                    self.commands[name], cwd=ROOT, env=self.env, stdout=out,
                    stderr=subprocess.STDOUT, start_new_session=True,
                )  # fmt: skip
        if web:
            self._warm_up()

    def _warm_up(self) -> None:
        """Wait until both Celery workers are ready and gunicorn answers; a few requests load
        Django's URLconf and views in its workers (lazily loaded by the first request, which
        can take seconds on a busy machine: webhooks then arrive late)."""
        wait_for(
            lambda: all(" ready." in self.log_text(name) for name in ("worker", "dispatch")),
            timeout=90,
            what="the Celery workers are ready",
            diagnose=self.tails,
        )
        wait_for(self._web_answers, timeout=60, what="gunicorn answers", diagnose=self.tails)
        for _ in range(6):
            with contextlib.suppress(OSError):
                urllib.request.urlopen(self.web_url + "/healthz", timeout=30).close()  # noqa: S310

    def _web_answers(self) -> bool:
        if self.processes["web"].poll() is not None:
            pytest.fail(f"gunicorn exited\n{self.tails()}")
        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", self.web_port)) == 0

    def log_path(self, name: str) -> Path:
        return self.workdir / f"procfile-{name}.log"

    def log_text(self, name: str) -> str:
        return self.log_path(name).read_text(errors="replace")

    def exited(self) -> dict[str, int]:
        """The processes (the supervisors, gunicorn's master) that exited, with their codes."""
        return {name: code for name, p in self.processes.items() if (code := p.poll()) is not None}

    def restarts(self) -> dict[str, int]:
        """How often each supervisor restarted its process (its own log lines)."""
        return {name: len(RESTART_LINE.findall(self.log_text(name))) for name in self.processes}

    def crashes(self, name: str) -> list[str]:
        return [
            line
            for line in self.log_text(name).splitlines()
            if "CRITICAL" in line and "Couldn't ack" not in line
        ]

    def assert_all_alive(self) -> None:
        """Every started process runs, none was restarted by its supervisor, none logged an
        unrecoverable error."""
        assert self.exited() == {}, self.tails()
        assert set(self.restarts().values()) <= {0}, self.tails()
        assert not any(self.crashes(name) for name in self.processes), self.tails()
        for process in self.processes.values():
            os.killpg(process.pid, 0)  # the group is there (raises if not)

    def tails(self, lines: int = 25) -> str:
        return "\n".join(
            f"--- {name} (last lines) ---\n" + "\n".join(self.log_text(name).splitlines()[-lines:])
            for name in self.processes
        )

    def stop(self) -> None:
        for process in self.processes.values():
            _stop_group(process, sig=signal.SIGTERM, timeout=10.0)


@pytest.fixture
def procfile(celery_worker: CeleryWorker, tmp_path: Path) -> Iterator[Procfile]:
    """The Procfile's processes (not started: call `.start()`) with the environment of
    `celery_worker` (test database, private Redis, sandbox, engine knobs), whose own
    all-queues worker is not started. Numbers connected meanwhile give the sandbox the web
    process's URL for their webhooks (`SITE_URL`)."""
    processes = Procfile(env=dict(celery_worker.env), workdir=tmp_path)
    try:
        with override_settings(SITE_URL=processes.web_url):
            yield processes
    finally:
        processes.stop()


# --- what every fault test of issue 14 checks -------------------------------------------------


def sandbox_totals(sandbox_api: Any, numbers: list[Any]) -> dict[str, Any]:
    """What the gateway saw over these numbers: sends accepted, distinct messages (by our id),
    duplicates, the statuses it delivered to our webhook receiver, and the POSTs it gave up."""
    totals: dict[str, Any] = {"accepted": 0, "distinct": 0, "duplicates": 0, "gave_up": 0}
    statuses: Counter[str] = Counter()
    for number in numbers:
        stats = sandbox_api.number_stats(number.phone_number_id)
        for key in ("accepted", "distinct", "duplicates"):
            totals[key] += stats[key]
        totals["gave_up"] += stats["webhooks"]["gave_up"]
        statuses.update(stats["webhooks"]["statuses"])
    totals["statuses"] = {key: n for key, n in statuses.items() if n}
    return totals


def product_statuses(campaign: Any) -> dict[str, int]:
    """The product's side of the gateway's statuses: every message the gateway took got "sent"
    (and then delivered, read, or failed); the product keeps the highest of them."""
    from messaging.campaigns.models import Message

    messages = Message.objects.filter(campaign=campaign)
    counts = {
        "sent": messages.filter(status__in=["sent", "delivered", "read", "failed"]).count(),
        "delivered": messages.filter(delivered_at__isnull=False).count(),
        "read": messages.filter(read_at__isnull=False).count(),
        "failed": messages.filter(status="failed").count(),
    }
    return {key: n for key, n in counts.items() if n}


def wait_statuses_applied(sandbox_api: Any, *, diagnose: Callable[[], str]) -> None:
    """Until the sandbox has delivered every status webhook and the product applied every
    stored event (through the web process, the broker and the worker)."""
    from messaging.numbers.models import WebhookEvent

    wait_for(
        lambda: (
            sandbox_api.stats()["webhooks"]["pending"] == 0
            and not WebhookEvent.objects.filter(state=WebhookEvent.State.RECEIVED).exists()
        ),
        timeout=90,
        interval=0.25,
        what="every status webhook is delivered and applied",
        diagnose=diagnose,
    )


def assert_nothing_lost_nothing_twice(
    *, sandbox_api: Any, numbers: list[Any], campaign: Any, sent: int, procfile: Procfile
) -> dict[str, Any]:
    """Issue 14's list: the sandbox reached `sent` distinct recipients, none twice; every status
    it sent is in the product; credits consumed − refunded equal the messages the gateway
    accepted that did not fail (the reconciliation's figures and the ledger check); no number
    above its daily cap; every process alive. Returns the gateway's figures."""
    from django.core.management import call_command

    from messaging.engine import reconcile

    gateway = sandbox_totals(sandbox_api, numbers)
    assert gateway["distinct"] == sent
    assert gateway["duplicates"] == 0
    assert gateway["gave_up"] == 0  # the receiver took every POST (it answers 200)
    assert product_statuses(campaign) == gateway["statuses"]
    (row,) = [r for r in reconcile.credits_reconcile() if r.campaign_id == campaign.pk]
    accepted_not_failed = gateway["distinct"] - gateway["statuses"].get("failed", 0)
    assert (row.spent, row.accepted, row.difference) == (
        accepted_not_failed,
        accepted_not_failed,
        0,
    )
    call_command("billing_check_ledger")
    for number in numbers:
        number.refresh_from_db()
        assert sandbox_api.number_stats(number.phone_number_id)["accepted"] <= number.daily_cap
    procfile.assert_all_alive()
    return gateway
