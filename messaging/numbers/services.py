"""Connecting, pacing, testing and removing WhatsApp numbers; storing and parsing their
webhook events. Network calls to gateways happen outside database transactions."""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import json
import logging
import secrets
import time
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.models import ApiKey, User, Workspace
from accounts.services import audit_record, notify, workspace_ensure_can_send
from core.asyncrun import run_sync
from core.crypto import decrypt_json, encrypt_json
from core.events import events_publish, number_status_event
from core.urlsafety import ensure_public_url
from messaging.content.services import whatsapp_template_apply_event
from messaging.engine.adapters import (
    cloud_adapter,
    sender_adapter,
    sender_credentials,
    web_adapter,
)
from messaging.engine.ingest import (
    apply_events,
    apply_events_of_senders,
    campaigns_refresh_touched,
)
from messaging.engine.runtime import redis_client
from messaging.gateways import cloud_api, web_gateway
from messaging.gateways.base import (
    AccountEffect,
    AccountEvent,
    NumberHealthEvent,
    OutboundMessage,
    Outcome,
    TemplateEvent,
    json_loads,
)
from messaging.numbers.customer_window import window_require_open
from messaging.numbers.health import (
    number_health_account_change,
    number_health_apply_event,
    number_health_refresh,
)
from messaging.numbers.models import SANDBOX_LABEL, NumberHealthChange, Sender, WebhookEvent
from messaging.numbers.protection import number_pace_set_by_user
from messaging.numbers.selectors import sender_webhook_url

log = logging.getLogger(__name__)


class GatewayUnavailable(Exception):
    """The gateway could not be reached or refused the request; the message says which."""


def _webhook_url(sender: Sender) -> str:
    return sender_webhook_url(sender)


def _run(coro_factory: Any) -> Any:
    """Run one adapter call to completion from synchronous code (a web request)."""

    async def main() -> Any:
        return await coro_factory()

    return run_sync(main)


# --- connecting -------------------------------------------------------------------------------


#: The approved Meta template every one-click sandbox number starts with, so template campaigns
#: work out of the box (the sandbox enforces Meta's rule that only approved templates are sent).
SANDBOX_STARTER_TEMPLATE: dict[str, Any] = {
    "name": "isend_welcome",
    "language": "en",
    "category": "MARKETING",
    "parameter_format": "POSITIONAL",
    "components": [
        {
            "type": "BODY",
            "text": "Hello {{1}}, thank you for following our news. Reply STOP to opt out.",
            "example": {"body_text": [["Aysel"]]},
        }
    ],
}


def _sandbox_register(sender: Sender) -> None:
    import urllib.error
    import urllib.request

    creds = sender_credentials(sender)
    payload = {
        "phone_number_id": sender.phone_number_id,
        "display_phone_number": sender.phone_number.lstrip("+"),
        "access_token": creds["access_token"],
        "app_secret": creds["app_secret"],
        "callback_url": _webhook_url(sender),
        "throughput_per_second": sender.throughput_per_second,
        "waba_id": sender.waba_id,
        # Registered APPROVED at once; an existing template of that name and language is kept.
        "templates": [SANDBOX_STARTER_TEMPLATE],
    }
    request = urllib.request.Request(  # noqa: S310 - the sandbox URL comes from settings
        settings.SANDBOX_GATEWAY_URL + "/_sandbox/numbers",
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 # nosec B310
            response.read()
    except (urllib.error.URLError, OSError) as exc:
        raise GatewayUnavailable(
            _("The sandbox gateway at %(url)s does not answer. Is it running (make run starts it)?")
            % {"url": settings.SANDBOX_GATEWAY_URL}
        ) from exc


def _templates_sync_on_commit(sender: Sender) -> None:
    """A newly connected Cloud API (or sandbox) number pulls its WABA's templates at once."""
    from messaging.content.tasks import whatsapp_templates_sync_task

    transaction.on_commit(
        lambda: whatsapp_templates_sync_task.delay(sender_id=sender.pk), robust=True
    )


def sandbox_numbers_announce() -> int:
    """Register every active sandbox number, of every workspace, with the sandbox gateway
    (idempotent upserts); returns how many. The sandbox keeps its numbers in memory, so after
    it restarts this is how it learns them again (`sandbox_gateway --announce-numbers`, which
    `make run` uses). A platform job: it crosses workspaces on purpose."""
    numbers = Sender.objects.filter(
        provider=Sender.Provider.SANDBOX, status=Sender.Status.ACTIVE, removed_at__isnull=True
    ).order_by("id")
    count = 0
    for sender in numbers:
        _sandbox_register(sender)
        count += 1
    return count


def sender_connect_sandbox(*, workspace: Workspace, actor: User, ip: str | None = None) -> Sender:
    """One click: a simulated number registered with the sandbox gateway, active at once."""
    digits = "".join(secrets.choice("0123456789") for _ in range(7))
    phone_number_id = str(secrets.randbelow(10**15 - 10**14) + 10**14)
    with transaction.atomic():
        sender = Sender.objects.create(
            workspace=workspace,
            provider=Sender.Provider.SANDBOX,
            label=SANDBOX_LABEL,
            phone_number=f"+99455{digits}",
            phone_number_id=phone_number_id,
            # Each sandbox number simulates its own business account, so failover between
            # sandbox numbers behaves like failover between accounts.
            waba_id=f"sandbox-waba-{phone_number_id}",
            credentials_encrypted=encrypt_json(
                {"access_token": secrets.token_urlsafe(24), "app_secret": secrets.token_hex(16)}
            ),
            status=Sender.Status.ACTIVE,
        )
    try:
        _sandbox_register(sender)
    except GatewayUnavailable:
        sender.delete()
        raise
    with transaction.atomic():
        audit_record(
            workspace=workspace,
            action="number.connected",
            actor=actor,
            target=sender,
            ip=ip,
            details={"provider": sender.provider},
        )
        _templates_sync_on_commit(sender)
    return sender


def sender_connect_cloud_api(
    *,
    workspace: Workspace,
    actor: User | None,
    phone_number_id: str,
    waba_id: str,
    access_token: str,
    app_secret: str,
    label: str = "",
    ip: str | None = None,
    api_key: ApiKey | None = None,
) -> Sender:
    """Check the credentials with a test call to the Graph API, then save them encrypted.
    Meta's refusal is a ValidationError on `access_token` that quotes Meta's reason."""
    phone_number_id, waba_id = phone_number_id.strip(), waba_id.strip()
    if not phone_number_id.isdigit():
        raise ValidationError(
            {"phone_number_id": _("The phone number id is a number, e.g. 1234567890.")}
        )
    if Sender.objects.filter(
        provider=Sender.Provider.CLOUD_API, phone_number_id=phone_number_id, removed_at__isnull=True
    ).exists():
        raise ValidationError({"phone_number_id": _("This number is already connected.")})
    probe = Sender(
        workspace=workspace,
        provider=Sender.Provider.CLOUD_API,
        phone_number_id=phone_number_id,
        credentials_encrypted=encrypt_json(
            {"access_token": access_token, "app_secret": app_secret}
        ),
    )

    async def check() -> cloud_api.CredentialCheck:
        async with cloud_adapter(probe) as adapter:
            return await adapter.verify_credentials()

    result = _run(check)
    if not result.ok:
        detail = result.error.title if result.error else result.note
        raise ValidationError(
            {"access_token": _("Meta refused these credentials: %(detail)s") % {"detail": detail}}
        )
    quality = (result.quality_rating or "unknown").lower()
    with transaction.atomic():
        probe.label = label or (result.verified_name or "")
        probe.phone_number = "+" + "".join(
            c for c in (result.display_phone_number or "") if c.isdigit()
        )
        probe.waba_id = waba_id
        probe.quality = quality if quality in Sender.Quality.values else Sender.Quality.UNKNOWN
        probe.status = Sender.Status.ACTIVE
        probe.save()
        audit_record(
            workspace=workspace,
            action="number.connected",
            actor=actor,
            api_key=api_key,
            target=probe,
            ip=ip,
            details={"provider": probe.provider},
        )
        _templates_sync_on_commit(probe)
    # The messaging-limit tier and throughput are read at once (then hourly and by webhook).
    number_health_refresh(sender=probe, event="connect", source=NumberHealthChange.Source.CONNECT)
    return probe


def sender_connect_web_gateway(
    *,
    workspace: Workspace,
    actor: User,
    base_url: str,
    api_key: str,
    label: str = "",
    ip: str | None = None,
) -> Sender:
    """Create a session on the user's WhatsApp-Web gateway; pairing continues on the QR page.
    Such numbers get the safe pacing defaults: a 30–60 s gap and a low daily cap."""
    base_url = ensure_public_url(base_url.strip().rstrip("/"))
    sender = Sender(
        workspace=workspace,
        provider=Sender.Provider.WEB_GATEWAY,
        label=label,
        credentials_encrypted=encrypt_json(
            {"base_url": base_url, "api_key": api_key, "hmac_key": secrets.token_hex(24)}
        ),
        throughput_per_second=1,
        min_interval_ms=int(web_gateway.MIN_SEND_GAP_SECONDS * 1000),
        jitter_ms=int((web_gateway.MAX_SEND_GAP_SECONDS - web_gateway.MIN_SEND_GAP_SECONDS) * 1000),
        daily_cap=web_gateway.NEW_NUMBER_DAILY_CAP,
    )
    sender.web_session = f"isend-{sender.public_id.hex[:16]}"
    creds = sender_credentials(sender)

    async def create() -> web_gateway.SessionInfo:
        async with web_adapter(sender) as adapter:
            return await adapter.create_session(
                webhook_url=_webhook_url(sender),
                hmac_key=creds["hmac_key"],
                metadata={"workspace": str(workspace.public_id)},
            )

    try:
        _run(create)
    except (web_gateway.WebGatewayError, OSError) as exc:
        log.info("web gateway %s refused the session: %s", base_url, exc)
        raise ValidationError(_web_gateway_refusal(exc)) from exc
    with transaction.atomic():
        sender.save()
        audit_record(
            workspace=workspace,
            action="number.connected",
            actor=actor,
            target=sender,
            ip=ip,
            details={"provider": sender.provider},
        )
    return sender


def _web_gateway_refusal(exc: Exception) -> dict[str, str]:
    """What the person connecting a WhatsApp-Web gateway can do about its refusal, on the
    field to fix (the transport's own text, "ClientConnectorError on POST http://...", told
    them nothing)."""
    status = getattr(exc, "http_status", None)
    if status in (401, 403):
        return {"api_key": _("The gateway refused this API key. Copy it again from the gateway.")}
    if status is not None and 300 <= status < 400:
        return {
            "base_url": _(
                "This address redirects elsewhere. Give the gateway's final address, as its "
                "own page shows it."
            )
        }
    if status is not None:
        return {
            "base_url": _(
                "The gateway answered with an error (HTTP %(status)s). Check that this is the "
                "address of a WhatsApp HTTP API (WAHA) server."
            )
            % {"status": status}
        }
    return {
        "base_url": _(
            "No gateway answered at this address. Check the address, and that the gateway is "
            "running and reachable from the internet."
        )
    }


def sender_refresh_web_session(*, sender: Sender) -> Sender:
    """Ask the gateway for the session's state and mirror it on the number."""

    async def fetch() -> web_gateway.SessionInfo:
        async with web_adapter(sender) as adapter:
            return await adapter.get_session()

    info = _run(fetch)
    new_status = {
        web_gateway.SessionStatus.WORKING: Sender.Status.ACTIVE,
        web_gateway.SessionStatus.FAILED: Sender.Status.DISCONNECTED,
        web_gateway.SessionStatus.STOPPED: Sender.Status.DISCONNECTED,
    }.get(info.status, Sender.Status.PENDING)
    phone = info.phone_number
    updates: dict[str, Any] = {}
    if new_status != sender.status:
        updates |= {
            "status": new_status,
            "status_changed_at": timezone.now(),
            "status_reason": f"session {info.status}",
        }
    if phone and sender.phone_number != "+" + phone.lstrip("+"):
        updates["phone_number"] = "+" + phone.lstrip("+")
    if updates:
        Sender.objects.filter(pk=sender.pk).update(**updates)
        if "status" in updates:
            events_publish(
                workspace_id=sender.workspace_id,
                events=[
                    number_status_event(sender, status=new_status, reason=updates["status_reason"])
                ],
            )
        for key, value in updates.items():
            setattr(sender, key, value)
    return sender


def sender_web_qr_png(*, sender: Sender) -> bytes:
    async def fetch() -> bytes:
        async with web_adapter(sender) as adapter:
            return await adapter.fetch_qr_png()

    return _run(fetch)


# --- using and removing ---------------------------------------------------------------------


def sender_send_test(
    *, workspace: Workspace, sender: Sender, to: str, text: str, zone: str | None = None
) -> Outcome:
    """Send one message now, outside any campaign (the user's own phone, to try a number).
    It is free-form: on a Cloud API number it is refused before sending unless `to` wrote
    to this number in the last 24 hours (`zone`: the user's time zone for the message)."""
    workspace_ensure_can_send(workspace=workspace)
    if sender.workspace_id != workspace.pk or not sender.is_live:
        raise ValidationError(_("This number is not connected."))
    window_require_open(workspace=workspace, sender=sender, phone=to, zone=zone)
    message = OutboundMessage(public_id=f"test-{secrets.token_hex(8)}", to=to, text=text)

    async def send() -> Outcome:
        async with sender_adapter(sender) as adapter:
            return await adapter.send(message)

    return _run(send)


@transaction.atomic
def sender_update_pacing(
    *,
    workspace: Workspace,
    actor: User,
    sender: Sender,
    throughput_per_second: int,
    min_interval_ms: int,
    jitter_ms: int,
    daily_cap: int,
    label: str,
    ip: str | None = None,
) -> Sender:
    if sender.workspace_id != workspace.pk:
        raise ValidationError(_("This number is not in this workspace."))
    if throughput_per_second < 1 or throughput_per_second > 1000:
        raise ValidationError(
            {"throughput_per_second": _("Between 1 and 1,000 messages per second.")}
        )
    before = {
        f: getattr(sender, f)
        for f in ("throughput_per_second", "min_interval_ms", "jitter_ms", "daily_cap", "label")
    }
    sender.throughput_per_second, sender.min_interval_ms = throughput_per_second, min_interval_ms
    sender.jitter_ms, sender.daily_cap, sender.label = jitter_ms, daily_cap, label
    sender.save(update_fields=[*before])
    pace_before = (before["throughput_per_second"], before["min_interval_ms"])
    if pace_before != (throughput_per_second, min_interval_ms):
        number_pace_set_by_user(sender=sender, before=pace_before)
    audit_record(
        workspace=workspace,
        action="number.settings_changed",
        actor=actor,
        target=sender,
        ip=ip,
        details={"before": before},
    )
    return sender


def sender_remove(
    *, workspace: Workspace, actor: User, sender: Sender, ip: str | None = None
) -> Sender:
    """Disconnect a number (e.g. a banned one, before adding its replacement). Credits belong
    to the workspace and are untouched; history stays."""
    if sender.workspace_id != workspace.pk:
        raise ValidationError(_("This number is not in this workspace."))
    with transaction.atomic():
        updated = Sender.objects.filter(pk=sender.pk, removed_at__isnull=True).update(
            removed_at=timezone.now(),
            status=Sender.Status.DISCONNECTED,
            status_changed_at=timezone.now(),
            status_reason=_("removed by %(who)s") % {"who": actor.email},
        )
        if updated:
            from messaging.engine.reactions import sender_lost

            # Its running campaigns' queued messages move to their other numbers (or the
            # campaigns pause, saying why) instead of waiting on a number that is gone.
            sender_lost(sender=sender, account_blocked=False)
            audit_record(
                workspace=workspace, action="number.removed", actor=actor, target=sender, ip=ip
            )
            events_publish(
                workspace_id=workspace.pk,
                events=[
                    number_status_event(sender, status=Sender.Status.DISCONNECTED, reason="removed")
                ],
            )
    sender.refresh_from_db()
    return sender


def sender_replace(
    *, workspace: Workspace, actor: User, old: Sender, new: Sender, ip: str | None = None
) -> Sender:
    """Replace a blocked (or any) number by another live number of the workspace (issue #21):
    every campaign that is not finished gets the new number, queued messages of the old one
    move to it, the old number is removed, and the new one starts a warm-up plan. Lists,
    contacts, templates, campaigns and credits belong to the workspace and are untouched
    (the terms promise the package is kept after a ban). Paused campaigns stay paused: the user
    resumes them (at the warm-up's pace). Returns the new number."""
    from messaging.campaigns.models import Campaign
    from messaging.engine.fanout import reassign_queued
    from messaging.numbers.warmup import warmup_start

    if old.workspace_id != workspace.pk or new.workspace_id != workspace.pk:
        raise ValidationError(_("This number is not in this workspace."))
    if old.pk == new.pk:
        raise ValidationError(_("Choose another number as the replacement."))
    with transaction.atomic():
        locked = list(
            Sender.objects.select_for_update().filter(pk__in=[old.pk, new.pk]).order_by("pk")
        )
        fresh = next(s for s in locked if s.pk == new.pk)
        if fresh.removed_at is not None or fresh.status != Sender.Status.ACTIVE:
            raise ValidationError(_("The replacement must be a connected, active number."))
        open_statuses = [
            Campaign.Status.DRAFT,
            Campaign.Status.SCHEDULED,
            Campaign.Status.LAUNCHING,
            Campaign.Status.RUNNING,
            Campaign.Status.PAUSED,
        ]
        campaign_ids = list(
            Campaign.objects.for_workspace(workspace)
            .filter(senders=old, status__in=open_statuses)
            .values_list("pk", flat=True)
        )
        through = Campaign.senders.through
        through.objects.bulk_create(
            [through(campaign_id=cid, sender_id=new.pk) for cid in campaign_ids],
            ignore_conflicts=True,
        )
        through.objects.filter(campaign_id__in=campaign_ids, sender_id=old.pk).delete()
        moved = 0
        for cid in campaign_ids:  # one UPDATE per campaign (not per message)
            live = list(
                Sender.objects.filter(
                    campaigns__pk=cid, status=Sender.Status.ACTIVE, removed_at__isnull=True
                )
                .order_by("id")
                .values_list("id", flat=True)
            )
            moved += reassign_queued(campaign_id=cid, to_sender_ids=live)
        Sender.objects.filter(pk=old.pk, removed_at__isnull=True).update(
            removed_at=timezone.now(),
            status=Sender.Status.DISCONNECTED if old.status == Sender.Status.ACTIVE else old.status,
            status_changed_at=timezone.now(),
        )
        warmup_start(workspace=workspace, sender=fresh, actor=actor)
        audit_record(
            workspace=workspace,
            action="number.replaced",
            actor=actor,
            target=fresh,
            ip=ip,
            details={
                "old": old.phone_number or old.label,
                "campaigns": len(campaign_ids),
                "moved": moved,
            },
        )
    new.refresh_from_db()
    old.refresh_from_db()
    return new


# --- webhooks -----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ReceiverSender:
    """What a webhook receiver needs of a number: where to store, how to verify."""

    pk: int
    workspace_id: int
    provider: str
    verify_token: str
    credentials: dict[str, Any]


_receiver_senders: dict[tuple[str, frozenset[str]], tuple[float, ReceiverSender]] = {}
_RECEIVER_SENDERS_MAX = 10_000
_receiver_clock = time.monotonic


# Meta retries a webhook for 7 days (research, "At-least-once"), and a message to a phone that
# is off is delivered, and reported, when it comes back (WhatsApp keeps undelivered messages
# for up to 30 days): a month covers both.
REMOVED_NUMBER_WEBHOOK_DAYS = 30


def webhook_receiver_sender(
    *, public_id: str, providers: frozenset[str], fresh: bool = False
) -> ReceiverSender | None:
    """The live number a webhook URL names, or None. Remembered per process for
    WEBHOOK_SENDER_CACHE_SECONDS: the lookup and the decryption of its credentials were the
    receiver's largest cost, paid again for every body a number's webhooks bring. A number
    removed meanwhile is refused once the entry is older than that (the same race as a
    request in flight during the removal); `fresh=True` reads the database (a signature that
    fails against a remembered secret is checked again against the current one).

    A number removed less than REMOVED_NUMBER_WEBHOOK_DAYS ago still takes its webhooks: the
    delivery, read and failure reports of what it sent (a failure is refunded) and the replies
    to it (a STOP is honoured) keep coming after the user removes or replaces it."""
    key = (str(public_id), providers)
    now = _receiver_clock()
    ttl = settings.WEBHOOK_SENDER_CACHE_SECONDS
    if not fresh and ttl > 0:
        hit = _receiver_senders.get(key)
        if hit is not None and now - hit[0] < ttl:
            return hit[1]
    kept_since = timezone.now() - timedelta(days=REMOVED_NUMBER_WEBHOOK_DAYS)
    row = (
        Sender.objects.filter(public_id=public_id, provider__in=providers)
        .filter(Q(removed_at__isnull=True) | Q(removed_at__gte=kept_since))
        .values_list("pk", "workspace_id", "provider", "verify_token", "credentials_encrypted")
        .first()
    )
    if row is None:
        _receiver_senders.pop(key, None)
        return None
    found = ReceiverSender(
        pk=row[0],
        workspace_id=row[1],
        provider=row[2],
        verify_token=row[3],
        credentials=decrypt_json(row[4]),
    )
    if ttl > 0:
        if len(_receiver_senders) >= _RECEIVER_SENDERS_MAX:
            _receiver_senders.clear()
        _receiver_senders[key] = (now, found)
    return found


def webhook_event_store(
    *, sender: ReceiverSender | Sender, source: str, body: bytes
) -> WebhookEvent:
    """Store a verified webhook body durably, then queue its parsing after commit.

    One INSERT in autocommit, not a transaction block: BEGIN and COMMIT were two of the
    receiver's five round trips, and a single statement is atomic on its own."""
    event = WebhookEvent.objects.create(
        workspace_id=sender.workspace_id, sender_id=sender.pk, source=source, body=body
    )
    # robust: if the broker is down the event stays "received", the receiver still answers
    # 200 (Meta would otherwise retry and store it twice) and the stale-event sweep queues it
    # once the broker is back. Outside a transaction the hook runs at once.
    transaction.on_commit(webhook_events_drain_kick, robust=True)
    return event


_DRAIN_FLAG = "webhook-drain:{slot}"
_DRAIN_FLAG_TTL_SECONDS = 60


def webhook_events_drain_kick() -> None:
    """Make sure a drain task will see the events stored so far: start one unless
    WEBHOOK_DRAINERS are already running. A running drainer clears its flag before its last
    look for work, so an event committed before this call is always taken by someone."""
    from messaging.numbers.tasks import webhook_events_drain_task

    client = redis_client()
    for slot in range(max(1, settings.WEBHOOK_DRAINERS)):
        flag = _DRAIN_FLAG.format(slot=slot)
        if client.set(flag, "1", nx=True, ex=_DRAIN_FLAG_TTL_SECONDS):
            try:
                webhook_events_drain_task.delay(slot=slot)
            except Exception:
                client.delete(flag)  # nobody runs for this slot: let the next kick try
                raise
            return


def webhook_events_drain(*, slot: int = 0, budget_seconds: float = 10.0) -> int:
    """A drain task's loop: apply batches of stored events until none is left or the budget
    is spent (then hand over to a fresh task, keeping the slot). Returns events applied."""
    from messaging.numbers.tasks import webhook_events_drain_task

    client = redis_client()
    flag = _DRAIN_FLAG.format(slot=slot)
    deadline = timezone.now() + timedelta(seconds=budget_seconds)
    applied = 0
    while True:
        client.expire(flag, _DRAIN_FLAG_TTL_SECONDS)
        try:
            taken = webhook_events_apply_batch(limit=settings.WEBHOOK_DRAIN_BATCH)
        except BaseException:
            client.delete(flag)  # the next kick (or the sweep) starts a fresh drainer
            raise
        applied += taken
        if taken:
            if timezone.now() >= deadline:
                webhook_events_drain_task.delay(slot=slot)
                return applied
            continue
        # Clear the flag, then look once more: an event stored before a kick that found the
        # flag set is committed by now and seen here.
        client.delete(flag)
        if not _webhook_events_waiting().exists():
            return applied
        if not client.set(flag, "1", nx=True, ex=_DRAIN_FLAG_TTL_SECONDS):
            return applied  # a new drainer took the slot: it will take them


def _webhook_events_waiting() -> Any:
    # Events a drain may take: never attempted. Attempted ones belong to the per-event path
    # (the sweep), which counts attempts and gives up on an event that keeps failing.
    return WebhookEvent.objects.filter(state=WebhookEvent.State.RECEIVED, attempts=0)


def webhook_events_apply_batch(*, limit: int) -> int:
    """Apply up to `limit` stored events in one transaction: every status of a number in one
    UPDATE, whatever body it came in. Returns how many events were taken.

    The batch is claimed first in its own short transaction (attempts 0 -> 1, SKIP LOCKED so
    concurrent drainers take different events): a worker killed while applying leaves the
    events "received" with one attempt, and the stale sweep applies them one by one, so an
    event that kills its worker cannot take the batch down with it twice. If the batch's
    apply raises, nothing of it is kept and each event is applied on its own at once."""
    table = WebhookEvent._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        # An ordered scan of the waiting events' index, whatever the statistics say: it stops
        # after the batch, and it marks the entries of applied events it passes as dead. A
        # bitmap scan (the planner's pick when it believes a few hundred events wait) reads
        # every waiting event and every applied one VACUUM has not removed yet, then sorts
        # them: each claim of a backlog grew with the backlog (migration messaging 0034).
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute(
            f"UPDATE {table} SET attempts = 1 WHERE id IN ("  # noqa: S608 # nosec B608 - our table
            f"SELECT id FROM {table} WHERE state = %s AND attempts = 0 ORDER BY id LIMIT %s "
            "FOR UPDATE SKIP LOCKED) RETURNING id",
            [WebhookEvent.State.RECEIVED, limit],
        )
        ids = sorted(row[0] for row in cursor.fetchall())
    if not ids:
        return 0
    try:
        touched = _webhook_events_apply(ids)
    except Exception:
        log.exception("a batch of %s webhook events failed; applying them one by one", len(ids))
        touched = set()
        for event_id in ids:
            # The batch's claim counted one attempt: this is that attempt, made alone.
            WebhookEvent.objects.filter(pk=event_id, state=WebhookEvent.State.RECEIVED).update(
                attempts=0
            )
            with contextlib.suppress(Exception):
                webhook_event_parse(event_id=event_id)
    try:
        campaigns_refresh_touched(touched)
    except Exception:
        # The statuses are applied and marked; the counters catch up at the next refresh
        # (the tick refreshes running campaigns), so a failing refresh must not stop the drain.
        log.exception("refreshing campaigns %s after a webhook batch failed", sorted(touched))
    return len(ids)


def _webhook_events_apply(ids: list[int]) -> set[int]:
    with transaction.atomic():
        events = list(
            WebhookEvent.objects.select_for_update(of=("self",))
            .select_related("sender")
            .filter(pk__in=ids, state=WebhookEvent.State.RECEIVED)
            .order_by("pk")
        )
        now = timezone.now()
        by_sender: dict[int, tuple[Sender, list[Any]]] = {}
        parsed_ids: list[int] = []
        failed: list[WebhookEvent] = []
        for event in events:
            try:
                parsed = _webhook_body_parse(event)
            except UNPARSEABLE_BODY as exc:
                event.state, event.error = WebhookEvent.State.FAILED, f"{type(exc).__name__}: {exc}"
                event.processed_at = now
                failed.append(event)
                continue
            if event.sender is not None:
                sender_events = by_sender.setdefault(event.sender.pk, (event.sender, []))[1]
                for item in parsed:
                    if isinstance(item, AccountEvent):
                        _apply_account_event(event.sender, item)
                    elif isinstance(item, TemplateEvent):
                        whatsapp_template_apply_event(sender=event.sender, event=item)
                    elif isinstance(item, NumberHealthEvent):
                        number_health_apply_event(sender=event.sender, event=item)
                sender_events += parsed
            parsed_ids.append(event.pk)
        touched = apply_events_of_senders(groups=list(by_sender.values()))
        # The marks follow the apply, in the same transaction: one UPDATE for the parsed ones
        # (the events themselves are not copied: the body is kept, and admin parses it).
        WebhookEvent.objects.filter(pk__in=parsed_ids).update(
            state=WebhookEvent.State.PARSED, error="", processed_at=now
        )
        if failed:
            WebhookEvent.objects.bulk_update(failed, ["state", "error", "processed_at"])
    return touched


def webhook_event_parsed(event: WebhookEvent) -> list[Any]:
    """The events a stored body holds, in plain JSON form (what admin shows staff). Parsed
    from the body on demand rather than copied into the row at ingestion: the copy cost the
    ingesting worker and Postgres a tenth of their time per status."""
    try:
        return list(_plain(_webhook_body_parse(event)))
    except UNPARSEABLE_BODY as exc:
        return [{"type": "unparseable", "error": f"{type(exc).__name__}: {exc}"}]


def _plain(value: Any, *, typed: bool = True) -> Any:
    """JSON-ready form of parsed events: a dataclass becomes a dict of its fields, with its
    class name under "type" for the events themselves (`typed`; what they hold is untyped,
    as `dataclasses.asdict` makes it). Walked field by field: `asdict` copies every value
    first (four times slower)."""
    if value is None or type(value) in (str, int, float, bool):
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {"type": type(value).__name__} if typed else {}
        for item in dataclasses.fields(value):
            out[item.name] = _plain(getattr(value, item.name), typed=False)
        return out
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v, typed=typed) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, typed=typed) for v in value]
    return value


# What the owner is told about an account event that stops sending: Meta's event names
# (DISABLED_UPDATE...) mean nothing to them. Each a whole sentence, read in the reader's language.
_ACCOUNT_EVENT_NOTICE_OTHER = gettext_noop(
    "WhatsApp stopped your number %(numbers)s from sending. Its running campaigns moved to your "
    "other numbers or were paused. You can remove it and connect a replacement; your credits "
    "stay in the workspace."
)
_ACCOUNT_EVENT_NOTICES = {
    "DISABLED_UPDATE": gettext_noop(
        "Meta disabled the WhatsApp Business account of your number %(numbers)s: it can no "
        "longer send. Its running campaigns moved to your other numbers or were paused. Appeal "
        "in Meta Business Manager, or remove the number and connect a replacement; your "
        "credits stay in the workspace."
    ),
    "ACCOUNT_RESTRICTION": gettext_noop(
        "Meta restricted the WhatsApp Business account of your number %(numbers)s: for now it "
        "cannot start conversations, so campaigns cannot use it. Its running campaigns moved to "
        "your other numbers or were paused. Meta Business Manager says until when; your "
        "credits stay in the workspace."
    ),
    "ACCOUNT_DELETED": gettext_noop(
        "The WhatsApp Business account of your number %(numbers)s was deleted: it can no "
        "longer send. Its running campaigns moved to your other numbers or were paused. Remove "
        "the number and connect a replacement; your credits stay in the workspace."
    ),
    "ACCOUNT_OFFBOARDED": gettext_noop(
        "The WhatsApp Business account of your number %(numbers)s left the WhatsApp Business "
        "Platform: it can no longer send. Its running campaigns moved to your other numbers or "
        "were paused. Remove the number and connect a replacement; your credits stay in the "
        "workspace."
    ),
    "session.status": gettext_noop(
        "The WhatsApp session of your number %(numbers)s stopped (it was logged out or "
        "failed): it cannot send until it is linked again. Its running campaigns moved to your "
        "other numbers or were paused. Open the number's page to link it again; your credits "
        "stay in the workspace."
    ),
}

_BLOCKED_STATUS = {
    "DISABLED_UPDATE": Sender.Status.BANNED,
    "ACCOUNT_DELETED": Sender.Status.BANNED,
    "ACCOUNT_OFFBOARDED": Sender.Status.BANNED,
}


def webhook_event_parse(*, event_id: int) -> WebhookEvent:
    """Parse a stored body into plain events (kept as JSON), apply them (statuses, replies and
    account-level effects such as bans, restrictions, pairing) and mark the event parsed, all
    in one transaction under the event's row lock. A worker killed anywhere in between leaves
    the event "received" (nothing applied) for the stale sweep; a redelivered or requeued task
    finds it parsed and does nothing: each event is applied exactly once. Statuses only ever
    move forward, so applying a batch again would be a no-op anyway.

    Each attempt is counted before it starts (so one that kills its worker counts too); after
    WEBHOOK_EVENT_MAX_ATTEMPTS the event is marked failed with its last error and logged, and
    the sweep leaves it alone (staff see it in admin)."""
    if not _webhook_event_attempt_begin(event_id):
        return WebhookEvent.objects.get(pk=event_id)
    try:
        with transaction.atomic():
            event = (
                WebhookEvent.objects.select_for_update(of=("self",))
                .select_related("sender")
                .get(pk=event_id)
            )
            if event.state != WebhookEvent.State.RECEIVED:
                return event  # already done: redelivered task
            try:
                parsed = _webhook_body_parse(event)
            except UNPARSEABLE_BODY as exc:
                event.state, event.error = WebhookEvent.State.FAILED, f"{type(exc).__name__}: {exc}"
                event.processed_at = timezone.now()
                event.save(update_fields=["state", "error", "processed_at"])
                return event
            touched: set[int] = set()
            if event.sender is not None:
                for item in parsed:
                    if isinstance(item, AccountEvent):
                        _apply_account_event(event.sender, item)
                    elif isinstance(item, TemplateEvent):
                        whatsapp_template_apply_event(sender=event.sender, event=item)
                    elif isinstance(item, NumberHealthEvent):
                        number_health_apply_event(sender=event.sender, event=item)
                touched = apply_events(sender=event.sender, events=parsed, refresh=False)
            # The mark follows the apply, in the same transaction.
            event.state = WebhookEvent.State.PARSED
            event.error = ""
            event.processed_at = timezone.now()
            event.save(update_fields=["state", "error", "processed_at"])
    except Exception as exc:
        # Nothing was applied: the event stays "received" and the sweep retries it later,
        # unless this was its last attempt.
        with contextlib.suppress(DatabaseError):
            _webhook_event_attempt_failed(event_id, f"{type(exc).__name__}: {exc}")
        raise
    campaigns_refresh_touched(touched)
    return event


def _webhook_event_attempt_begin(event_id: int) -> bool:
    """Count one attempt at a "received" event, committed before the apply starts (one UPDATE
    on the usual path). Returns False when there is nothing to do: already applied (or
    failed), or out of attempts (then marked failed here: its earlier attempts died without a
    word, e.g. killed workers)."""
    table = WebhookEvent._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET attempts = attempts + 1 "  # noqa: S608 - our table name # nosec B608
            "WHERE id = %s AND state = %s AND attempts < %s RETURNING id",
            [event_id, WebhookEvent.State.RECEIVED, settings.WEBHOOK_EVENT_MAX_ATTEMPTS],
        )
        if cursor.fetchone() is not None:
            return True
    with transaction.atomic():
        event = (
            WebhookEvent.objects.select_for_update()
            .filter(pk=event_id, state=WebhookEvent.State.RECEIVED)
            .only("pk", "workspace_id", "attempts", "error")
            .first()
        )
        if event is not None:
            _webhook_event_give_up(event, event.error or "no error recorded (worker killed?)")
    return False


def _webhook_event_attempt_failed(event_id: int, error: str) -> None:
    """Keep the attempt's error; the last allowed attempt marks the event failed."""
    with transaction.atomic():
        event = (
            WebhookEvent.objects.select_for_update()
            .filter(pk=event_id, state=WebhookEvent.State.RECEIVED)
            .only("pk", "workspace_id", "attempts", "error")
            .first()
        )
        if event is None:
            return
        if event.attempts >= settings.WEBHOOK_EVENT_MAX_ATTEMPTS:
            _webhook_event_give_up(event, error)
        else:
            event.error = f"not applied yet (attempt {event.attempts}): {error}"[:2000]
            event.save(update_fields=["error"])


def _webhook_event_give_up(event: WebhookEvent, error: str) -> None:
    event.state = WebhookEvent.State.FAILED
    event.error = f"gave up after {event.attempts} attempts; last error: {error}"[:2000]
    event.processed_at = timezone.now()
    event.save(update_fields=["state", "error", "processed_at"])
    log.error(
        "webhook event %s (workspace %s) not applied after %s attempts, marked failed: %s",
        event.pk,
        event.workspace_id,
        event.attempts,
        error,
    )


# What parsing a stored body can raise when the body is not what the provider sends (a
# signed body is still the tenant's own input: the web gateway's key is theirs): the event is
# marked failed, never retried, and never takes a batch of other events down with it.
UNPARSEABLE_BODY = (ValueError, TypeError, KeyError, AttributeError, OverflowError, RecursionError)


def _webhook_body_parse(event: WebhookEvent) -> list[Any]:
    payload = json_loads(bytes(event.body))
    parser = (
        web_gateway.parse_webhook
        if event.source == WebhookEvent.Source.WEB_GATEWAY
        else (cloud_api.parse_webhook)
    )
    return list(parser(payload))


def _apply_account_event(sender: Sender, item: AccountEvent) -> None:
    if item.effect == AccountEffect.BLOCKED:
        status = _BLOCKED_STATUS.get(item.event, Sender.Status.RESTRICTED)
    elif item.effect == AccountEffect.RESTORED:
        status = Sender.Status.ACTIVE
    else:
        return
    # Meta's restrictions are per business account: every live number of that WABA is affected.
    targets = Sender.objects.filter(workspace_id=sender.workspace_id, removed_at__isnull=True)
    targets = (
        targets.filter(waba_id=sender.waba_id) if sender.waba_id else targets.filter(pk=sender.pk)
    )
    changed = list(targets.exclude(status=status))
    if not changed:
        return
    number_health_account_change(numbers=changed, status=status, event=item.event)
    targets.filter(pk__in=[s.pk for s in changed]).update(
        status=status, status_changed_at=timezone.now(), status_reason=item.event
    )
    if status != Sender.Status.ACTIVE:
        from messaging.engine.reactions import sender_lost

        for number in changed:
            sender_lost(sender=number, account_blocked=True)
    events_publish(
        workspace_id=sender.workspace_id,
        events=[number_status_event(n, status=status, reason=item.event) for n in changed],
    )
    for number in changed:
        audit_record(
            workspace=number.workspace,
            action=f"number.{status}",
            target=number,
            details={"event": item.event, "detail": _plain(item.detail)},
        )
    if status != Sender.Status.ACTIVE:
        notify(
            workspace=changed[0].workspace,
            kind="number.blocked",
            text=_ACCOUNT_EVENT_NOTICES.get(item.event, _ACCOUNT_EVENT_NOTICE_OTHER),
            params={"numbers": ", ".join(n.phone_number or n.label for n in changed)},
            link=reverse("messaging_numbers:list", args=[changed[0].workspace.slug]),
        )


def webhook_events_retry(*, ids: list[int]) -> int:
    """Staff's second chance for failed events (after a fix): back to "received" with a fresh
    count of attempts, queued at once. Returns how many were failed and are queued again."""
    from messaging.numbers.tasks import webhook_event_process_task

    with transaction.atomic():
        retried = list(
            WebhookEvent.objects.select_for_update()
            .filter(pk__in=ids, state=WebhookEvent.State.FAILED)
            .values_list("pk", flat=True)
        )
        WebhookEvent.objects.filter(pk__in=retried).update(
            state=WebhookEvent.State.RECEIVED, attempts=0, processed_at=None
        )

        def enqueue() -> None:
            for event_id in retried:
                webhook_event_process_task.delay(event_id=event_id)

        # robust: with the broker down they stay "received" and the sweep queues them later.
        transaction.on_commit(enqueue, robust=True)
    return len(retried)


def webhook_events_requeue_stale(*, older_than_seconds: int | None = None) -> int:
    """Re-queue every event not applied yet: its task was lost (worker killed, broker
    restarted) or failed (the transaction rolled back, so the event is still "received").
    Never-attempted events go to a drain task; attempted ones are applied one by one, each
    attempt counted. Events out of attempts are "failed" and not requeued. Returns how many
    events were queued."""
    from messaging.numbers.tasks import webhook_event_process_task

    if older_than_seconds is None:
        older_than_seconds = settings.WEBHOOK_EVENT_RETRY_SECONDS
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    stale = WebhookEvent.objects.filter(state=WebhookEvent.State.RECEIVED, received_at__lt=cutoff)
    retry_ids = list(
        stale.filter(attempts__gt=0).order_by("received_at").values_list("pk", flat=True)[:1000]
    )
    waiting = stale.filter(attempts=0)[:1000].count()
    for event_id in retry_ids:
        webhook_event_process_task.delay(event_id=event_id)
    if waiting:
        webhook_events_drain_kick()
    return len(retry_ids) + waiting
