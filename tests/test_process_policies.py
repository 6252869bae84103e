"""Every long-running process has a supervisor policy (issue 14): docker compose restarts them
(`restart: unless-stopped`), and `make run`'s Procfile runs the Celery processes and the sandbox
through scripts/supervise.py (honcho alone stops everything when one process exits)."""

from __future__ import annotations

from pathlib import Path

import yaml  # PyYAML comes with drf-spectacular

ROOT = Path(__file__).resolve().parents[1]
#: One-shot services: they are meant to exit.
ONE_SHOT = {"migrate"}


def test_every_long_running_compose_service_restarts_unless_stopped() -> None:
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    policies = {name: service.get("restart") for name, service in services.items()}
    assert {name for name, policy in policies.items() if policy != "unless-stopped"} == ONE_SHOT


def test_the_procfile_supervises_every_process_but_gunicorn() -> None:
    # gunicorn's master is itself the supervisor of its workers, and a web that cannot start
    # (port taken) should stop `make run` with its message rather than retry forever.
    entries = dict(
        line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line
    )
    unsupervised = {
        name for name, command in entries.items() if "scripts/supervise.py" not in command
    }
    assert unsupervised == {"web"}
    assert {"worker", "dispatch", "beat", "sandbox"} <= set(entries)
