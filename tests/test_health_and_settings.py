"""/healthz, and the production settings contract (`check --deploy` clean, fail loudly)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client, override_settings

ROOT = Path(__file__).resolve().parent.parent
DEV_FIELD_KEY = "ZGV2LW9ubHktZmllbGQtZW5jcnlwdGlvbi1rZXktMDA="  # isend/settings.py's dev key
PRODUCTION_FIELD_KEY = "cHJvZHVjdGlvbi1vbmx5LWZpZWxkLWtleS10ZXN0LTA="  # any other Fernet key


@pytest.mark.django_db
def test_healthz_reports_every_dependency() -> None:
    response = Client().get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert {"database", "redis", "broker", "beat", "oldest_due_message"} <= set(body["checks"])
    assert all(check["ok"] for check in body["checks"].values())


@pytest.mark.django_db
def test_healthz_is_503_when_redis_is_down() -> None:
    # a port nothing listens on
    with override_settings(REDIS_URL="redis://127.0.0.1:1/0"):
        response = Client().get("/healthz")

    assert response.status_code == 503
    assert response.json()["checks"]["redis"] == {"ok": False, "error": "ConnectionError"}


@pytest.mark.django_db
def test_healthz_is_503_when_beat_is_required_and_silent() -> None:
    with override_settings(HEALTHZ_REQUIRE_BEAT=True):
        response = Client().get("/healthz")

    assert response.status_code == 503
    assert response.json()["checks"]["beat"]["ok"] is False


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "ISEND_"))}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, "DJANGO_SETTINGS_MODULE": "isend.settings", **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_deploy_is_clean_in_production_mode() -> None:
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DEBUG="0",
        SECRET_KEY="x" * 30 + "-production-secret-key-with-enough-entropy-0123456789",
        ALLOWED_HOSTS="isend.example.com",
        FIELD_ENCRYPTION_KEY=PRODUCTION_FIELD_KEY,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_mode_refuses_to_start_without_required_variables() -> None:
    result = _manage("check", DEBUG="0", SECRET_KEY="", ALLOWED_HOSTS="", FIELD_ENCRYPTION_KEY="")

    assert result.returncode != 0
    assert "SECRET_KEY, ALLOWED_HOSTS, FIELD_ENCRYPTION_KEY" in result.stderr


def test_production_mode_refuses_the_development_encryption_key() -> None:
    result = _manage(
        "check",
        DEBUG="0",
        SECRET_KEY="x" * 30 + "-production-secret-key-with-enough-entropy-0123456789",
        ALLOWED_HOSTS="isend.example.com",
        FIELD_ENCRYPTION_KEY=DEV_FIELD_KEY,
    )

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "FIELD_ENCRYPTION_KEY is the public development key" in result.stderr


def test_readme_lists_every_environment_variable() -> None:
    import re

    source = (ROOT / "isend" / "settings.py").read_text()
    names = set(re.findall(r'env(?:_bool|_int|_list|_float)?\(\s*"([A-Z_0-9]+)"', source))
    readme = (ROOT / "README.md").read_text()

    missing = sorted(name for name in names if f"`{name}`" not in readme)

    assert len(names) > 30
    assert missing == []


@pytest.mark.django_db
def test_healthz_is_503_when_a_due_message_waits_too_long(workspace) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from messaging.campaigns.models import Message
    from messaging.numbers.models import Sender

    sender = Sender.objects.create(workspace=workspace, provider="sandbox", status="active")
    Message.objects.create(
        workspace=workspace,
        sender=sender,
        phone="+994501234567",
        next_attempt_at=timezone.now() - timedelta(minutes=10),
    )

    response = Client().get("/healthz")

    assert response.status_code == 503
    assert response.json()["checks"]["oldest_due_message"]["ok"] is False


@pytest.mark.django_db(transaction=True)
def test_healthz_answers_when_the_oldest_due_query_cannot_finish_in_time(settings) -> None:
    """A check that cannot answer within HEALTHZ_QUERY_TIMEOUT_MS says so instead of holding
    the request (and a Postgres backend) for as long as the query takes."""
    import psycopg
    from django.db import connection

    settings.HEALTHZ_QUERY_TIMEOUT_MS = 200
    dsn = " ".join(
        f"{key}={value}"
        for key, value in {
            "host": connection.settings_dict["HOST"] or "127.0.0.1",
            "port": connection.settings_dict["PORT"] or 5432,
            "user": connection.settings_dict["USER"],
            "password": connection.settings_dict["PASSWORD"],
            "dbname": connection.settings_dict["NAME"],
        }.items()
        if value
    )
    # given: the message table cannot be read (a migration holds it, say)
    with psycopg.connect(dsn) as blocker:
        blocker.execute("LOCK TABLE messaging_message IN ACCESS EXCLUSIVE MODE")

        response = Client().get("/healthz")

        blocker.rollback()

    # then: healthz answers, the other checks still count, and this one says it could not tell
    check = response.json()["checks"]["oldest_due_message"]
    assert check == {"ok": True, "oldest_due_seconds": None, "timed_out": True}
    assert response.json()["checks"]["database"] == {"ok": True}
