"""A worker SIGKILLed while it holds a webhook event, after parsing it and before its statuses
are applied (issue 14): the event stays "received", and once the worker is back its beat's
stale-event sweep applies the statuses. The test process stores the event, holds the message's
row lock so the worker stops exactly inside the apply, kills it, and then only watches."""

from __future__ import annotations

import json
import logging
import time

import psycopg
import pytest
from django.db import connection

from messaging.campaigns import services as campaigns
from messaging.campaigns.models import Campaign, Message
from messaging.numbers import services as number_services
from messaging.numbers.models import Sender, WebhookEvent

from .conftest import CeleryWorker, wait_for

log = logging.getLogger(__name__)
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(400)]


def _dsn() -> str:
    db = connection.settings_dict
    password = f" password={db['PASSWORD']}" if db.get("PASSWORD") else ""
    return (
        f"host={db['HOST'] or '127.0.0.1'} port={db['PORT'] or 5432} dbname={db['NAME']} "
        f"user={db['USER']}{password}"
    )


def _read_webhook(number: Sender, message: Message) -> bytes:
    status = {
        "id": message.provider_message_id,
        "status": "read",
        "timestamp": str(int(time.time())),
        "recipient_id": message.phone.lstrip("+"),
        "biz_opaque_callback_data": str(message.public_id),
    }
    value = {
        "messaging_product": "whatsapp",
        "metadata": {
            "display_phone_number": number.phone_number.lstrip("+"),
            "phone_number_id": number.phone_number_id,
        },
        "statuses": [status],
    }
    body = {
        "object": "whatsapp_business_account",
        "entry": [{"id": number.waba_id, "changes": [{"field": "messages", "value": value}]}],
    }
    return json.dumps(body).encode()


def _held_by_another(lock: psycopg.Connection, event_id: int) -> bool:
    """Whether another session (a worker inside webhook_event_parse) locks the event row."""
    try:
        with lock.transaction():
            lock.execute(
                f"SELECT 1 FROM {WebhookEvent._meta.db_table} WHERE id = %s "  # noqa: S608
                "FOR UPDATE NOWAIT",
                [event_id],
            )
    except psycopg.errors.LockNotAvailable:
        return True
    return False


def _applying(probe: psycopg.Connection, holder_pid: int) -> bool:
    """Whether a worker waits for the message's row lock: it has parsed the event and is
    applying its statuses."""
    row = probe.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND wait_event_type = 'Lock' AND pid NOT IN (pg_backend_pid(), %s) "
        "AND query ILIKE %s",
        [holder_pid, f"%{Message._meta.db_table}%"],
    ).fetchone()
    return bool(row and row[0])


def test_a_worker_killed_between_parse_and_apply_loses_no_status(
    workspace, owner, template, contacts, credits, sandbox_number, celery_worker: CeleryWorker
) -> None:
    contacts(1)
    credits(1)
    number = sandbox_number()
    celery_worker.start()
    campaign = campaigns.campaign_create(
        workspace=workspace, actor=owner, name="Webhook", template=template, senders=[number],
        audience={},
    )  # fmt: skip
    campaigns.campaign_launch(workspace=workspace, campaign=campaign, actor=owner)
    wait_for(
        lambda: Campaign.objects.filter(pk=campaign.pk, status="completed").exists(),
        timeout=90,
        what="the one-message campaign completes",
        diagnose=celery_worker.log_tail,
    )
    message = Message.objects.get(campaign=campaign)
    assert message.status in ("accepted", "sent", "delivered")

    # The message's row lock, held from another session: the worker's apply will wait on it.
    holder = psycopg.connect(_dsn())
    probe = psycopg.connect(_dsn(), autocommit=True)
    try:
        holder.execute(
            f"SELECT 1 FROM {Message._meta.db_table} WHERE id = %s FOR UPDATE",  # noqa: S608
            [message.pk],
        )
        event = number_services.webhook_event_store(
            sender=number, source=WebhookEvent.Source.CLOUD_API, body=_read_webhook(number, message)
        )
        wait_for(
            lambda: _applying(probe, holder.info.backend_pid),
            timeout=60,
            what="the worker takes the event (parsed, now applying its statuses)",
            diagnose=celery_worker.log_tail,
        )
        celery_worker.kill()  # SIGKILL while it holds the parsed event
    finally:
        holder.rollback()
        holder.close()
        probe.close()

    # The killed session's transaction is rolled back: nothing marked, nothing applied.
    wait_for(
        lambda: not _still_locked(event.pk),
        timeout=30,
        what="the killed worker's transaction ends",
    )
    event.refresh_from_db()
    message.refresh_from_db()
    assert event.state == WebhookEvent.State.RECEIVED
    assert message.status != "read"

    started = time.monotonic()
    celery_worker.start()
    wait_for(
        lambda: Message.objects.filter(pk=message.pk, status="read").exists(),
        timeout=200,
        interval=0.5,
        what="the beat's stale-event sweep applies the status after the restart",
        diagnose=celery_worker.log_tail,
    )
    event.refresh_from_db()
    assert event.state == WebhookEvent.State.PARSED
    assert celery_worker.alive
    log.warning("status applied %.0f s after the worker restarted", time.monotonic() - started)


def _still_locked(event_id: int) -> bool:
    with psycopg.connect(_dsn(), autocommit=True) as probe:
        return _held_by_another(probe, event_id)
