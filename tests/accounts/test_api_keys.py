"""API keys: shown once, hashed, scoped, expiring, revocable, and bound to one workspace."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import services
from accounts.models import ApiKey, AuditEvent

pytestmark = pytest.mark.django_db


def _client(secret: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def test_key_is_shown_once_and_stored_hashed(member_client, workspace) -> None:
    response = member_client.post(
        reverse("accounts:developers", args=[workspace.slug]),
        {"name": "CRM", "scopes": ["workspace:read"]},
    )

    secret = response.context["new_secret"]
    key = ApiKey.objects.get(workspace=workspace)
    assert secret.startswith(f"isk_{key.prefix}_")
    assert secret not in key.key_hash
    assert secret in response.content.decode()
    again = member_client.get(reverse("accounts:developers", args=[workspace.slug]))
    assert secret not in again.content.decode()
    assert AuditEvent.objects.filter(action="api_key.created", workspace=workspace).count() == 1


def test_right_scope_works_and_records_last_use(workspace, owner) -> None:
    key, secret = services.api_key_create(
        workspace=workspace, actor=owner, name="k", scopes=["workspace:read"]
    )

    response = _client(secret).get(reverse("api:workspace"))

    assert response.status_code == 200
    assert response.json()["slug"] == workspace.slug
    key.refresh_from_db()
    assert key.last_used_at is not None


def test_write_scope_implies_read(workspace, owner) -> None:
    _key, secret = services.api_key_create(
        workspace=workspace, actor=owner, name="k", scopes=["workspace:read", "contacts:write"]
    )
    assert _client(secret).get(reverse("api:audit-event-list")).status_code == 200


def test_wrong_scope_is_403_with_the_missing_scope(workspace, owner) -> None:
    _key, secret = services.api_key_create(
        workspace=workspace, actor=owner, name="k", scopes=["contacts:read"]
    )

    response = _client(secret).get(reverse("api:workspace"))

    assert response.status_code == 403
    assert "workspace:read" in response.json()["detail"]


def test_revoked_key_fails(workspace, owner, member_client) -> None:
    key, secret = services.api_key_create(
        workspace=workspace, actor=owner, name="k", scopes=["workspace:read"]
    )
    member_client.post(reverse("accounts:api_key_revoke", args=[workspace.slug, key.public_id]))

    response = _client(secret).get(reverse("api:workspace"))

    assert response.status_code == 401
    key.refresh_from_db()
    assert key.revoked_at is not None


def test_expired_key_fails(workspace, owner) -> None:
    key, secret = services.api_key_create(
        workspace=workspace,
        actor=owner,
        name="k",
        scopes=["workspace:read"],
        expires_at=timezone.now() + timedelta(hours=1),
    )
    ApiKey.objects.filter(pk=key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    assert _client(secret).get(reverse("api:workspace")).status_code == 401


@pytest.mark.parametrize(
    "header",
    [
        pytest.param("Bearer isk_deadbeef_not-a-real-secret", id="unknown_key_case"),
        pytest.param("Bearer", id="empty_case"),
        pytest.param("Bearer a b", id="malformed_case"),
    ],
)
def test_bad_credentials_are_401(db, header: str) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    assert client.get(reverse("api:workspace")).status_code == 401


def test_no_credentials_is_401(db) -> None:
    assert APIClient().get(reverse("api:workspace")).status_code == 401


def test_a_tampered_secret_with_a_real_prefix_fails(workspace, owner) -> None:
    _key, secret = services.api_key_create(
        workspace=workspace, actor=owner, name="k", scopes=["workspace:read"]
    )
    assert _client(secret[:-2] + "xx").get(reverse("api:workspace")).status_code == 401


def test_key_never_returns_another_workspace(workspace, other_workspace, owner, make_member):
    other_owner = make_member(other_workspace).user
    services.audit_record(workspace=workspace, action="secret.a", actor=owner)
    services.audit_record(workspace=other_workspace, action="secret.b", actor=other_owner)
    _key, secret = services.api_key_create(
        workspace=workspace, actor=owner, name="k", scopes=["workspace:read"]
    )

    events = _client(secret).get(reverse("api:audit-event-list")).json()["results"]
    foreign = AuditEvent.objects.get(action="secret.b")
    detail = _client(secret).get(reverse("api:audit-event-detail", args=[foreign.pk]))

    assert "secret.a" in {e["action"] for e in events}
    assert "secret.b" not in {e["action"] for e in events}
    assert detail.status_code == 404


def test_unknown_scope_is_refused(workspace, owner) -> None:
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        services.api_key_create(workspace=workspace, actor=owner, name="k", scopes=["root:all"])
    assert not ApiKey.objects.exists()


def test_api_requests_are_logged_and_purged_after_the_retention_period(workspace, owner) -> None:
    from accounts.models import ApiRequestLog
    from accounts.tasks import api_request_logs_purge_task

    key, secret = services.api_key_create(
        workspace=workspace, actor=owner, name="k", scopes=["workspace:read"]
    )
    _client(secret).get(reverse("api:workspace"))
    _client(secret).get(reverse("api:audit-event-list") + "?x=1")

    logs = list(ApiRequestLog.objects.order_by("created_at"))
    assert [(log.method, log.path, log.status, log.api_key) for log in logs] == [
        ("GET", "/api/v1/workspace/", 200, key),
        ("GET", "/api/v1/audit-events/", 200, key),
    ]
    ApiRequestLog.objects.filter(pk=logs[0].pk).update(
        created_at=timezone.now() - timedelta(days=91)
    )
    assert api_request_logs_purge_task() == 1
    assert ApiRequestLog.objects.count() == 1


def test_the_api_answers_when_its_rate_limit_cache_is_down(workspace, owner, caplog) -> None:
    """The throttle's counters live in Redis: an outage skips rate limiting (logged), never
    answers 500."""
    from django.test import override_settings

    _key, secret = services.api_key_create(
        workspace=workspace, actor=owner, name="k", scopes=["workspace:read"]
    )
    dead_cache = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:9/0",  # nothing listens on the discard port
        }
    }
    with override_settings(CACHES=dead_cache):
        response = _client(secret).get(reverse("api:workspace"))

    assert response.status_code == 200
    assert "rate limit not applied" in caplog.text


@pytest.mark.parametrize(
    ("language", "description", "english"),
    [
        pytest.param(
            "ru",
            "contacts:read — Просмотр контактов, списков и сегментов",
            "Read contacts, lists and segments",
            id="ru_case",
        ),
        pytest.param(
            "az",
            "contacts:read — Kontaktlara, siyahılara və seqmentlərə baxmaq",
            "Read contacts, lists and segments",
            id="az_case",
        ),
    ],
)
def test_scope_descriptions_are_in_the_readers_language(
    member_client, workspace, owner, language: str, description: str, english: str
) -> None:
    services.user_set_language(user=owner, language=language)

    page = member_client.get(reverse("accounts:developers", args=[workspace.slug]))

    html = page.content.decode()
    assert f'<html lang="{language}">' in html
    assert description in html
    assert english not in html
    # and the next reader, in English, still reads English
    services.user_set_language(user=owner, language="en")
    html = member_client.get(reverse("accounts:developers", args=[workspace.slug])).content
    assert "contacts:read — Read contacts, lists and segments" in html.decode()
