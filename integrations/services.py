"""Every write to outgoing webhooks: endpoints (create, change, rotate, enable, delete), event
publishing, and the delivery loop (claim -> send -> record).

Contract: keyword-only arguments, `workspace` first, one transaction each; `ValidationError`
with a message per field when input is wrong (and nothing written).

Delivery (DESIGN.md, "every retry is a row"): `webhook_events_publish` writes one
`WebhookDelivery` per (event, subscribed endpoint) in the caller's transaction and kicks the
sender on commit; `webhook_deliveries_send_due` claims due rows with `FOR UPDATE SKIP LOCKED`,
pushes their `next_attempt_at` forward by a lease (a killed worker's rows come back by
themselves), commits, sends over HTTP with no transaction open, then records each outcome in
one short transaction. Failures are retried with exponential backoff and jitter until
`WEBHOOK_RETRY_WINDOW_HOURS` after the first attempt, then given up. An endpoint that keeps
failing is disabled and its owners are told."""

from __future__ import annotations

import contextlib
import json
import random
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import redis
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import ApiKey, Membership, User, Workspace
from accounts.permissions import Role
from accounts.services import absolute_url, audit_record, email_send_on_commit, notify
from core.crypto import decrypt_json, encrypt_json
from core.urlsafety import ensure_public_url
from integrations import signing, transport
from integrations.models import (
    ALL_EVENTS,
    TEST_EVENT_TYPE,
    EventType,
    WebhookDelivery,
    WebhookEndpoint,
)

#: Waits after the 1st, 2nd, ... failed attempt (seconds); the last one repeats.
BACKOFF_SECONDS = (30, 120, 600, 1800, 3600, 7200, 14400, 28800)
JITTER = 0.1
#: A claimed delivery is invisible to other workers this long (well above the 10 s timeout).
LEASE_SECONDS = 60
BATCH_SIZE = 50
SLICE_SECONDS = 20.0
#: The "failing for a day" rule needs at least this many failures in a row too.
DISABLE_MIN_FAILURES_IN_WINDOW = 5
ENDPOINTS_CACHE_SECONDS = 30
MAX_ENDPOINTS_PER_WORKSPACE = 20
ROTATION_OVERLAP = timedelta(hours=24)


# --- endpoints ------------------------------------------------------------------------------


def _cache_key(workspace_id: int) -> str:
    return f"integrations:endpoints:{workspace_id}"


def _endpoints_cache_clear(workspace_id: int) -> None:
    """Forget the cached endpoint list now and again after commit (a concurrent publish may
    have cached the old list between the two)."""
    cache.delete(_cache_key(workspace_id))
    transaction.on_commit(lambda: cache.delete(_cache_key(workspace_id)))


def webhook_event_types_clean(event_types: Any) -> list[str]:
    """A list of known event types, or `["*"]` for all of them (new ones included)."""
    if not isinstance(event_types, (list, tuple)):
        raise ValidationError({"event_types": [_("Give a list of event types.")]})
    values = [str(v) for v in event_types]
    if ALL_EVENTS in values:
        return [ALL_EVENTS]
    unknown = sorted(set(values) - set(EventType.values))
    if unknown:
        raise ValidationError(
            {"event_types": [_("Unknown event types: %(types)s") % {"types": ", ".join(unknown)}]}
        )
    return sorted(set(values))


def _url_clean(url: str) -> str:
    url = (url or "").strip()
    try:
        return ensure_public_url(url)
    except ValidationError as exc:
        raise ValidationError({"url": exc.messages}) from exc


def _secrets_store(
    secret: str, *, previous: str = "", previous_until: datetime | None = None
) -> str:
    data: dict[str, Any] = {"secret": secret}
    if previous and previous_until:
        data |= {"previous": previous, "previous_until": previous_until.isoformat()}
    return encrypt_json(data)


def webhook_endpoint_secrets(
    *, endpoint: WebhookEndpoint, now: datetime | None = None
) -> list[str]:
    """The secrets that sign a delivery now: the current one, plus the previous one for a day
    after a rotation."""
    now = now or timezone.now()
    data = decrypt_json(endpoint.secret_encrypted)
    found = [data["secret"]]
    until = data.get("previous_until")
    if data.get("previous") and until and datetime.fromisoformat(until) > now:
        found.append(data["previous"])
    return found


@transaction.atomic
def webhook_endpoint_create(
    *,
    workspace: Workspace,
    url: str,
    event_types: list[str],
    description: str = "",
    actor: User | None = None,
    api_key: ApiKey | None = None,
    ip: str | None = None,
) -> tuple[WebhookEndpoint, str]:
    """Register an endpoint. Returns it and its signing secret, which is never shown again.
    Refuses URLs that resolve to private or local addresses (unless settings allow them)."""
    if WebhookEndpoint.objects.for_workspace(workspace).count() >= MAX_ENDPOINTS_PER_WORKSPACE:
        raise ValidationError(
            _("A workspace can have at most %(n)d webhook endpoints.")
            % {"n": MAX_ENDPOINTS_PER_WORKSPACE}
        )
    secret = signing.secret_generate()
    endpoint = WebhookEndpoint(
        workspace=workspace,
        url=_url_clean(url),
        description=(description or "").strip()[:200],
        event_types=webhook_event_types_clean(event_types),
        secret_encrypted=_secrets_store(secret),
    )
    endpoint.full_clean()
    endpoint.save()
    audit_record(
        workspace=workspace,
        action="webhook.endpoint.created",
        actor=actor,
        api_key=api_key,
        target=endpoint,
        ip=ip,
        details={"url": endpoint.url, "event_types": endpoint.event_types},
    )
    _endpoints_cache_clear(workspace.pk)
    return endpoint, secret


@transaction.atomic
def webhook_endpoint_update(
    *,
    workspace: Workspace,
    endpoint: WebhookEndpoint,
    url: str | None = None,
    description: str | None = None,
    event_types: list[str] | None = None,
    actor: User | None = None,
    api_key: ApiKey | None = None,
    ip: str | None = None,
) -> WebhookEndpoint:
    """Change the URL, description or subscribed event types (the secret stays)."""
    assert endpoint.workspace_id == workspace.pk
    changes: dict[str, Any] = {}
    if url is not None and url.strip() != endpoint.url:
        endpoint.url = changes["url"] = _url_clean(url)
    if description is not None and description.strip() != endpoint.description:
        endpoint.description = changes["description"] = description.strip()[:200]
    if event_types is not None:
        cleaned = webhook_event_types_clean(event_types)
        if cleaned != endpoint.event_types:
            endpoint.event_types = changes["event_types"] = cleaned
    if not changes:
        return endpoint
    endpoint.updated_at = timezone.now()
    endpoint.full_clean()
    endpoint.save(update_fields=[*changes, "updated_at"])
    audit_record(
        workspace=workspace,
        action="webhook.endpoint.changed",
        actor=actor,
        api_key=api_key,
        target=endpoint,
        ip=ip,
        details=changes,
    )
    _endpoints_cache_clear(workspace.pk)
    return endpoint


@transaction.atomic
def webhook_endpoint_rotate_secret(
    *,
    workspace: Workspace,
    endpoint: WebhookEndpoint,
    actor: User | None = None,
    api_key: ApiKey | None = None,
    ip: str | None = None,
) -> tuple[WebhookEndpoint, str]:
    """A new signing secret, returned once. For a day both secrets sign every delivery, so the
    receiver can switch over without dropping events."""
    assert endpoint.workspace_id == workspace.pk
    locked = (
        WebhookEndpoint.objects.for_workspace(workspace).select_for_update().get(pk=endpoint.pk)
    )
    current = decrypt_json(locked.secret_encrypted)["secret"]
    secret = signing.secret_generate()
    locked.secret_encrypted = _secrets_store(
        secret, previous=current, previous_until=timezone.now() + ROTATION_OVERLAP
    )
    locked.updated_at = timezone.now()
    locked.save(update_fields=["secret_encrypted", "updated_at"])
    audit_record(
        workspace=workspace,
        action="webhook.endpoint.secret_rotated",
        actor=actor,
        api_key=api_key,
        target=locked,
        ip=ip,
    )
    return locked, secret


@transaction.atomic
def webhook_endpoint_set_active(
    *,
    workspace: Workspace,
    endpoint: WebhookEndpoint,
    active: bool,
    actor: User | None = None,
    api_key: ApiKey | None = None,
    ip: str | None = None,
    reason: str = "",
) -> WebhookEndpoint:
    """Enable (failure counters start over) or disable (open deliveries are given up)."""
    assert endpoint.workspace_id == workspace.pk
    locked = (
        WebhookEndpoint.objects.for_workspace(workspace).select_for_update().get(pk=endpoint.pk)
    )
    if locked.is_active == active:
        return locked
    now = timezone.now()
    if active:
        locked.is_active = True
        locked.disabled_at = None
        locked.disabled_reason = ""
        locked.consecutive_failures = 0
        locked.failing_since = None
    else:
        locked.is_active = False
        locked.disabled_at = now
        locked.disabled_reason = (reason or _("Disabled by a user."))[:255]
        _give_up_open(locked, now=now)
    locked.updated_at = now
    locked.save()
    audit_record(
        workspace=workspace,
        action="webhook.endpoint.enabled" if active else "webhook.endpoint.disabled",
        actor=actor,
        api_key=api_key,
        target=locked,
        ip=ip,
    )
    _endpoints_cache_clear(workspace.pk)
    return locked


@transaction.atomic
def webhook_endpoint_delete(
    *,
    workspace: Workspace,
    endpoint: WebhookEndpoint,
    actor: User | None = None,
    api_key: ApiKey | None = None,
    ip: str | None = None,
) -> None:
    """Delete the endpoint and its delivery log."""
    assert endpoint.workspace_id == workspace.pk
    audit_record(
        workspace=workspace,
        action="webhook.endpoint.deleted",
        actor=actor,
        api_key=api_key,
        target=endpoint,
        ip=ip,
        details={"url": endpoint.url},
    )
    endpoint.delete()
    _endpoints_cache_clear(workspace.pk)


def _give_up_open(endpoint: WebhookEndpoint, *, now: datetime) -> int:
    return WebhookDelivery.objects.filter(
        endpoint=endpoint,
        status__in=[WebhookDelivery.Status.PENDING, WebhookDelivery.Status.FAILED],
    ).update(status=WebhookDelivery.Status.GIVEN_UP, last_error="endpoint disabled")


# --- publishing -----------------------------------------------------------------------------


def _new_event_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


def _envelope(event_type: str, data: dict[str, Any], now: datetime) -> dict[str, Any]:
    return {"type": event_type, "timestamp": now.isoformat(), "data": data}


def _active_endpoints(workspace_id: int) -> list[tuple[int, list[str]]]:
    """(id, event types) of the workspace's active endpoints, cached briefly: the hot path of
    a workspace with no endpoints costs one cache read."""
    key = _cache_key(workspace_id)
    try:
        found = cache.get(key)
    except redis.RedisError:
        # The cache may be lost: read Postgres rather than fail the caller's transaction (the
        # drainer records a batch already sent in it; a rollback would send it again).
        found = None
    if found is None:
        found = [
            (pk, types)
            for pk, types in WebhookEndpoint.objects.for_workspace(workspace_id)
            .filter(is_active=True)
            .values_list("pk", "event_types")
        ]
        with contextlib.suppress(redis.RedisError):
            cache.set(key, found, ENDPOINTS_CACHE_SECONDS)
    return [(pk, list(types)) for pk, types in found]


def webhook_events_publish(*, workspace_id: int, events: list[tuple[str, dict[str, Any]]]) -> int:
    """Queue a batch of events for every active endpoint of the workspace subscribed to them;
    returns how many deliveries were written. Runs in the caller's transaction (the deliveries
    commit or roll back with the change they report) and kicks the sender after commit."""
    if not events:
        return 0
    endpoints = _active_endpoints(workspace_id)
    if not endpoints:
        return 0
    now = timezone.now()
    rows: list[WebhookDelivery] = []
    for event_type, data in events:
        targets = [pk for pk, types in endpoints if ALL_EVENTS in types or event_type in types]
        if not targets:
            continue
        event_id, payload = _new_event_id(), _envelope(event_type, data, now)
        rows += [
            WebhookDelivery(
                workspace_id=workspace_id,
                endpoint_id=pk,
                event_id=event_id,
                event_type=event_type,
                payload=payload,
                next_attempt_at=now,
            )
            for pk in targets
        ]
    if not rows:
        return 0
    with transaction.atomic():
        # An endpoint deleted since the cache was filled would fail the FK check at commit:
        # keep only the ones that still exist (one indexed query).
        live = set(
            WebhookEndpoint.objects.for_workspace(workspace_id)
            .filter(pk__in={r.endpoint_id for r in rows}, is_active=True)
            .values_list("pk", flat=True)
        )
        rows = [r for r in rows if r.endpoint_id in live]
        WebhookDelivery.objects.bulk_create(rows, batch_size=500)
    if rows:
        transaction.on_commit(_kick)
    return len(rows)


def _kick() -> None:
    """Start the sender now (not at the next beat tick); at most one kick a second."""
    from integrations.tasks import webhook_deliveries_send_task

    if cache.add("integrations:kick", 1, timeout=1):
        webhook_deliveries_send_task.delay()


@transaction.atomic
def webhook_endpoint_send_test(
    *, workspace: Workspace, endpoint: WebhookEndpoint
) -> WebhookDelivery:
    """Queue a `webhook.test` event for this endpoint alone (even a disabled one)."""
    assert endpoint.workspace_id == workspace.pk
    now = timezone.now()
    delivery = WebhookDelivery.objects.create(
        workspace=workspace,
        endpoint=endpoint,
        event_id=_new_event_id(),
        event_type=TEST_EVENT_TYPE,
        payload=_envelope(
            TEST_EVENT_TYPE,
            {"endpoint_id": str(endpoint.public_id), "message": "Hello from iSend"},
            now,
        ),
        next_attempt_at=now,
    )
    transaction.on_commit(_kick)
    return delivery


@transaction.atomic
def webhook_delivery_replay(*, workspace: Workspace, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send an event again as a new delivery with the same event id and payload (receivers
    deduplicate by `webhook-id`)."""
    assert delivery.workspace_id == workspace.pk
    replay = WebhookDelivery.objects.create(
        workspace=workspace,
        endpoint_id=delivery.endpoint_id,
        event_id=delivery.event_id,
        event_type=delivery.event_type,
        payload=delivery.payload,
        replay_of=delivery,
    )
    transaction.on_commit(_kick)
    return replay


# --- the delivery loop ----------------------------------------------------------------------


@dataclass
class Claimed:
    id: int
    workspace_id: int
    endpoint_id: int
    event_id: str
    payload: dict[str, Any]
    attempts: int
    first_attempt_at: datetime


def backoff_seconds(attempts: int) -> float:
    """The wait after the `attempts`-th failed attempt, with +/-10% jitter (so endpoints that
    failed together do not retry together)."""
    base = BACKOFF_SECONDS[min(max(attempts, 1), len(BACKOFF_SECONDS)) - 1]
    return base * random.uniform(1 - JITTER, 1 + JITTER)  # noqa: S311 - jitter, not a secret


def webhook_deliveries_claim(
    *, limit: int = BATCH_SIZE, now: datetime | None = None
) -> list[Claimed]:
    """Take up to `limit` due deliveries of active endpoints (all workspaces: a platform job).
    The claim moves `next_attempt_at` a lease ahead and counts the attempt, in its own short
    transaction; no lock is held while sending."""
    now = now or timezone.now()
    table, endpoints = WebhookDelivery._meta.db_table, WebhookEndpoint._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH due AS (
                SELECT d.id FROM {table} d
                JOIN {endpoints} e ON e.id = d.endpoint_id
                WHERE d.status IN ('pending', 'failed') AND d.next_attempt_at <= %s
                  AND e.is_active
                ORDER BY d.next_attempt_at
                LIMIT %s
                FOR UPDATE OF d SKIP LOCKED
            )
            UPDATE {table} d
               SET attempts = d.attempts + 1,
                   next_attempt_at = %s,
                   first_attempt_at = COALESCE(d.first_attempt_at, %s),
                   last_attempt_at = %s
              FROM due WHERE d.id = due.id
            RETURNING d.id, d.workspace_id, d.endpoint_id, d.event_id, d.payload, d.attempts,
                      d.first_attempt_at
            """,  # noqa: S608 - table names are our own  # nosec B608 # own table names, values are parameters
            [now, limit, now + timedelta(seconds=LEASE_SECONDS), now, now],
        )
        rows = cursor.fetchall()
    claimed = []
    for row in rows:
        payload = row[4] if isinstance(row[4], dict) else json.loads(row[4])
        claimed.append(Claimed(row[0], row[1], row[2], row[3], payload, row[5], row[6]))
    return claimed


def _body(payload: dict[str, Any]) -> bytes:
    ordered = {k: payload[k] for k in ("type", "timestamp", "data") if k in payload}
    return json.dumps(ordered, separators=(",", ":"), ensure_ascii=False).encode()


def webhook_deliveries_send(
    *, claimed: list[Claimed], now: datetime | None = None
) -> dict[str, int]:
    """Sign and POST claimed deliveries (no transaction open), then record the outcomes."""
    if not claimed:
        return {"succeeded": 0, "failed": 0, "given_up": 0}
    # A platform job: the claimed rows span workspaces; each endpoint is read by its own id.
    endpoints = {
        e.pk: e for e in WebhookEndpoint.objects.filter(pk__in={c.endpoint_id for c in claimed})
    }
    requests: list[transport.Request] = []
    for item in claimed:
        endpoint = endpoints.get(item.endpoint_id)
        if endpoint is None:
            continue  # deleted meanwhile: its deliveries went with it
        body = _body(item.payload)
        requests.append(
            transport.Request(
                key=item.id,
                url=endpoint.url,
                body=body,
                headers=signing.headers_for(
                    secrets_=webhook_endpoint_secrets(endpoint=endpoint),
                    msg_id=item.event_id,
                    timestamp=int(timezone.now().timestamp()),
                    body=body,
                ),
            )
        )
    responses = {r.key: r for r in transport.post_all(requests)}
    return webhook_deliveries_record(claimed=claimed, responses=responses, now=now)


def webhook_deliveries_record(
    *,
    claimed: list[Claimed],
    responses: dict[int, transport.Response],
    now: datetime | None = None,
) -> dict[str, int]:
    """Write each attempt's outcome, reschedule or give up failures, keep the endpoints'
    health counters, and disable endpoints that keep failing. A row whose lease expired and
    was claimed again meanwhile is left to the newer attempt (the `attempts` guard)."""
    now = now or timezone.now()
    window = timedelta(hours=settings.WEBHOOK_RETRY_WINDOW_HOURS)
    counts = {"succeeded": 0, "failed": 0, "given_up": 0}
    per_endpoint: dict[int, list[bool]] = defaultdict(list)
    Status = WebhookDelivery.Status
    with transaction.atomic():
        for item in claimed:
            response = responses.get(item.id)
            if response is None:
                continue
            common = {
                "last_status_code": response.status_code,
                "last_response_ms": response.elapsed_ms,
                "response_body": response.body[: transport.BODY_EXCERPT],
            }
            if response.ok:
                fields = {
                    **common,
                    "status": Status.SUCCEEDED,
                    "delivered_at": now,
                    "last_error": "",
                }
                outcome = "succeeded"
            else:
                error = response.error or f"HTTP {response.status_code}"
                deadline = item.first_attempt_at + window
                if now >= deadline:
                    fields = {**common, "status": Status.GIVEN_UP, "last_error": error[:255]}
                    outcome = "given_up"
                else:
                    retry_at = min(
                        now + timedelta(seconds=backoff_seconds(item.attempts)), deadline
                    )
                    fields = {
                        **common,
                        "status": Status.FAILED,
                        "last_error": error[:255],
                        "next_attempt_at": retry_at,
                    }
                    outcome = "failed"
            updated = WebhookDelivery.objects.filter(
                pk=item.id, attempts=item.attempts, status__in=[Status.PENDING, Status.FAILED]
            ).update(**fields)
            if updated:
                counts[outcome] += 1
                per_endpoint[item.endpoint_id].append(response.ok)
        _endpoints_health(per_endpoint, now=now)
    return counts


def _endpoints_health(per_endpoint: dict[int, list[bool]], *, now: datetime) -> None:
    if not per_endpoint:
        return
    # Lock in pk order (no deadlock between two workers); only the endpoint rows.
    locked = (
        WebhookEndpoint.objects.select_for_update(of=("self",))
        .filter(pk__in=per_endpoint)
        .select_related("workspace")
        .order_by("pk")
    )
    for endpoint in locked:
        results = per_endpoint[endpoint.pk]
        if any(results):
            WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
                consecutive_failures=0, failing_since=None, last_success_at=now
            )
            continue
        failures = endpoint.consecutive_failures + len(results)
        failing_since = endpoint.failing_since or now
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
            consecutive_failures=F("consecutive_failures") + len(results),
            failing_since=failing_since,
            last_failure_at=now,
        )
        too_many = failures >= settings.WEBHOOK_DISABLE_AFTER_FAILURES
        too_long = failures >= DISABLE_MIN_FAILURES_IN_WINDOW and now - failing_since >= timedelta(
            hours=settings.WEBHOOK_DISABLE_AFTER_HOURS
        )
        if endpoint.is_active and (too_many or too_long):
            endpoint.consecutive_failures, endpoint.failing_since = failures, failing_since
            _endpoint_auto_disable(endpoint, now=now)


def _endpoint_auto_disable(endpoint: WebhookEndpoint, *, now: datetime) -> None:
    """Stop sending to an endpoint that keeps failing; tell the workspace in the app and its
    owners by e-mail."""
    workspace = endpoint.workspace
    since = endpoint.failing_since or now
    reason = _("%(n)d failed attempts in a row since %(since)s.") % {
        "n": endpoint.consecutive_failures,
        "since": since.strftime("%Y-%m-%d %H:%M UTC"),
    }
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        is_active=False, disabled_at=now, disabled_reason=reason[:255], updated_at=now
    )
    _give_up_open(endpoint, now=now)
    audit_record(
        workspace=workspace,
        action="webhook.endpoint.disabled",
        target=endpoint,
        details={"reason": "failing", "consecutive_failures": endpoint.consecutive_failures},
    )
    link = reverse("integrations:detail", args=[workspace.slug, endpoint.public_id])
    text = _("Webhook endpoint %(url)s was disabled: %(reason)s Fix it, then enable it again.") % {
        "url": endpoint.url,
        "reason": reason,
    }
    notify(workspace=workspace, kind="webhook.disabled", text=text, link=link, email=False)
    owners = list(
        Membership.objects.filter(
            workspace=workspace, role=Role.OWNER, user__is_active=True
        ).values_list("user__email", flat=True)
    )
    if owners:
        email_send_on_commit(
            to=owners,
            template="webhook_endpoint_disabled",
            context={
                "url": endpoint.url,
                "reason": reason,
                "workspace": workspace.name,
                "link": absolute_url(link),
            },
        )
    _endpoints_cache_clear(workspace.pk)


def webhook_deliveries_send_due(
    *,
    slice_seconds: float = SLICE_SECONDS,
    batch_size: int = BATCH_SIZE,
    now: datetime | None = None,
) -> dict[str, int]:
    """Claim and send due deliveries in bounded batches for at most `slice_seconds`; returns
    the counts and `more` (1 when due work remains, so the task re-queues itself)."""
    import time

    deadline = time.monotonic() + slice_seconds
    totals = {"claimed": 0, "succeeded": 0, "failed": 0, "given_up": 0, "more": 0}
    while True:
        claimed = webhook_deliveries_claim(limit=batch_size, now=now)
        if not claimed:
            return totals
        totals["claimed"] += len(claimed)
        for key, value in webhook_deliveries_send(claimed=claimed, now=now).items():
            totals[key] += value
        if len(claimed) < batch_size:
            return totals
        if time.monotonic() >= deadline:
            totals["more"] = 1
            return totals
