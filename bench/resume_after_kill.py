"""How long sending stops when the worker and the dispatch worker are SIGKILLed mid-campaign,
with the DEFAULT engine settings (issue 14: a dead drainer is replaced within 60 s).

Everything runs as in production: the Procfile's processes (web on gunicorn, worker, dispatch
and beat, each Celery process under scripts/supervise.py) on a private redis-server, the
sandbox gateway with its status webhooks posted to the web process. A campaign is launched
through the product; once a third of it is accepted, every process of the worker's and the
dispatch worker's groups except their supervisors is SIGKILLed (no shutdown, no acks, drain
locks and leases left behind). The supervisors restart them; nobody touches anything else.

Figures per run: seconds from the kill until the gateway accepts a new message (`resumed`),
until both Celery processes are back (`ready`), until the campaign completes, and the
gateway's distinct/duplicate counts (a duplicate is a send in flight at the kill whose status
webhook was still unapplied, e.g. held by the killed worker, when its lease expired).
No ENGINE_* variable is passed on: the defaults apply (ENGINE_LEASE_SECONDS 30,
ENGINE_DRAIN_LOCK_SECONDS 15, ENGINE_HEARTBEAT_SECONDS 5, ENGINE_TICK_SECONDS 10).

Usage: .venv/bin/python bench/resume_after_kill.py [recipients] [numbers] [rate] [runs]
(defaults 6000 3 80 3; the database is BENCH_DATABASE_URL, default isend_bench)."""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _setup import ROOT, Sandbox, emit, free_port, seed_contacts

ENGINE_DEFAULTS_UNSET = (
    "ENGINE_LEASE_SECONDS",
    "ENGINE_DRAIN_LOCK_SECONDS",
    "ENGINE_HEARTBEAT_SECONDS",
    "ENGINE_TICK_SECONDS",
    "ENGINE_SEND_TIMEOUT_SECONDS",
    "ENGINE_AMBIGUOUS_RESEND_AFTER",
    "WEBHOOK_EVENT_RETRY_SECONDS",
)
KILLED = ("worker", "dispatch")


def wait(predicate: Any, *, timeout: float, what: str, interval: float = 0.05) -> float:
    """Poll until truthy; returns the time.monotonic() it became so."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"{what}: not within {timeout:.0f} s")
        time.sleep(interval)
    return time.monotonic()


class RedisServer:
    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(workdir)],
            stdout=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        wait(self._answers, timeout=15, what="redis-server starts")

    def _answers(self) -> bool:
        import socket

        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", self.port)) == 0

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


class Procfile:
    """The Procfile's web, worker, dispatch and beat, each in its own process group."""

    def __init__(self, *, env: dict[str, str], workdir: Path, web_port: int) -> None:
        self.env, self.workdir = env, workdir
        bin_dir = str(Path(sys.executable).parent) + "/"
        self.commands: dict[str, list[str]] = {}
        for line in (ROOT / "Procfile").read_text().splitlines():
            name, _, command = line.partition(":")
            if name.strip() in ("web", "worker", "dispatch", "beat"):
                command = command.replace(".venv/bin/", bin_dir)
                command = command.replace("${WEB_PORT:-8000}", str(web_port))
                command = command.replace(
                    "var/celerybeat-schedule", str(workdir / "celerybeat-schedule")
                )
                self.commands[name.strip()] = shlex.split(command)
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def log(self, name: str) -> Path:
        return self.workdir / f"{name}.log"

    def start(self) -> None:
        for name, argv in self.commands.items():
            with self.log(name).open("ab") as out:
                self.processes[name] = subprocess.Popen(
                    argv, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                    start_new_session=True,
                )  # fmt: skip

    def ready_lines(self, name: str) -> int:
        """Celery prints "celery@host ready." once per start."""
        return self.log(name).read_text(errors="replace").count(" ready.")

    def kill_children(self, name: str) -> int:
        """SIGKILL every process of the group but its supervisor; returns how many."""
        group = self.processes[name].pid
        killed = 0
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == group:
                continue
            with contextlib.suppress(OSError, ValueError, IndexError):
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(fields[2]) == group:  # the process group id
                    os.kill(int(entry.name), signal.SIGKILL)
                    killed += 1
        return killed

    def stop(self) -> None:
        for process in self.processes.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)


def one_run(*, env: dict[str, str], sandbox: Sandbox, recipients: int, numbers: int, rate: int,
            web_url: str, workdir: Path) -> dict[str, Any]:  # fmt: skip
    from django.test import override_settings

    from accounts.models import User, Workspace
    from billing import services as billing
    from messaging.campaigns import services as campaigns
    from messaging.campaigns.models import Campaign
    from messaging.content.models import MessageTemplate
    from messaging.numbers import services as senders

    procfile = Procfile(env=env, workdir=workdir, web_port=int(web_url.rsplit(":", 1)[1]))
    procfile.start()
    try:
        wait(
            lambda: all(procfile.ready_lines(name) >= 1 for name in KILLED),
            timeout=90,
            what="the Celery workers start",
            interval=0.2,
        )
        tag = str(time.time_ns())[-10:]
        owner = User.objects.create_user(email=f"resume-{tag}@example.com", password=None)
        workspace = Workspace.objects.create(name=f"Resume {tag}", slug=f"resume-{tag}")
        seed_contacts(workspace.pk, recipients)
        template = MessageTemplate.objects.create(
            workspace=workspace, name="R", variants=["Hi {{first_name}}"]
        )
        billing.credits_adjust(workspace=workspace, amount=recipients, reason="bench", actor=owner)
        with override_settings(SANDBOX_GATEWAY_URL=sandbox.url, SITE_URL=web_url):
            numbers_list = []
            for _ in range(numbers):
                sender = senders.sender_connect_sandbox(workspace=workspace, actor=owner)
                sender.throughput_per_second = rate
                sender.daily_cap = 10_000_000
                sender.save(update_fields=["throughput_per_second", "daily_cap"])
                senders._sandbox_register(sender)
                numbers_list.append(sender)
        ids = [s.phone_number_id for s in numbers_list]

        def gateway() -> dict[str, int]:
            stats = sandbox.stats()["numbers"]
            return {
                key: sum(stats[i][key] for i in ids)
                for key in ("accepted", "distinct", "duplicates")
            }

        campaign = campaigns.campaign_create(
            workspace=workspace, actor=owner, name="Resume", template=template,
            senders=numbers_list, audience={},
        )  # fmt: skip
        launched = time.monotonic()
        campaigns.campaign_launch(workspace=workspace, campaign=campaign, actor=owner)
        wait(
            lambda: gateway()["accepted"] >= recipients // 3,
            timeout=180,
            what="a third is accepted",
        )
        ready_before = {name: procfile.ready_lines(name) for name in KILLED}
        killed_at = time.monotonic()
        killed = {name: procfile.kill_children(name) for name in KILLED}
        at_kill = gateway()["accepted"]
        # Both watched in one loop: each time is when its condition was first seen true.
        resumed_at = ready_at = None
        deadline = killed_at + 300
        while resumed_at is None or ready_at is None:
            now = time.monotonic()
            if now > deadline:
                raise SystemExit(f"no resume ({resumed_at}) or restart ({ready_at}) in 300 s")
            if resumed_at is None and gateway()["accepted"] > at_kill:
                resumed_at = now
            if ready_at is None and all(procfile.ready_lines(n) > ready_before[n] for n in KILLED):
                ready_at = now
            time.sleep(0.05)
        completed_at = wait(
            lambda: Campaign.objects.filter(pk=campaign.pk, status="completed").exists(),
            timeout=600,
            what="the campaign completes",
            interval=0.5,
        )
        figures = gateway()
        return {
            "accepted_at_kill": at_kill,
            "processes_killed": killed,
            "killed_after_launch_seconds": round(killed_at - launched, 1),
            "celery_ready_after_kill_seconds": round(ready_at - killed_at, 1),
            "resumed_after_kill_seconds": round(resumed_at - killed_at, 1),
            "completed_after_kill_seconds": round(completed_at - killed_at, 1),
            **figures,
            "recipients": recipients,
            "load_average_1m_at_end": round(os.getloadavg()[0], 2),
        }
    finally:
        procfile.stop()


def main(recipients: int = 6000, numbers: int = 3, rate: int = 80, runs: int = 3) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="isend-resume-"))
    redis_server = RedisServer(workdir)
    web_port = free_port()
    web_url = f"http://127.0.0.1:{web_port}"
    for name in ENGINE_DEFAULTS_UNSET:
        os.environ.pop(name, None)
    os.environ.update(
        {
            "REDIS_URL": redis_server.url,
            "ENGINE_KICK_DRAINERS": "1",  # as in production (bench/_setup turns it off)
            "SITE_URL": web_url,
            "PYTHONUNBUFFERED": "1",
        }
    )
    from _setup import django_setup

    django_setup()
    sandbox = Sandbox()
    env = {**os.environ, "SANDBOX_GATEWAY_URL": sandbox.url}
    results = []
    try:
        for run in range(runs):
            rundir = workdir / f"run-{run + 1}"
            rundir.mkdir()
            results.append(
                one_run(env=env, sandbox=sandbox, recipients=recipients, numbers=numbers,
                        rate=rate, web_url=web_url, workdir=rundir)
            )  # fmt: skip
            print(results[-1], file=sys.stderr)  # noqa: T201 - progress
    finally:
        sandbox.stop()
        redis_server.stop()
    from django.conf import settings

    resumed = [r["resumed_after_kill_seconds"] for r in results]
    emit(
        {
            "benchmark": "resume after SIGKILL of worker + dispatch (default engine settings)",
            "settings": {
                "ENGINE_LEASE_SECONDS": settings.ENGINE_LEASE_SECONDS,
                "ENGINE_DRAIN_LOCK_SECONDS": settings.ENGINE_DRAIN_LOCK_SECONDS,
                "ENGINE_HEARTBEAT_SECONDS": settings.ENGINE_HEARTBEAT_SECONDS,
                "ENGINE_TICK_SECONDS": settings.CELERY_BEAT_SCHEDULE["engine-tick"]["schedule"],
            },
            "numbers": numbers,
            "rate_per_number": rate,
            "resumed_after_kill_seconds": resumed,
            "resumed_median_seconds": statistics.median(resumed),
            "runs": results,
            "logs": str(workdir),
        }
    )


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
