"""A single message (the API's POST /messages/) takes its locks in the order the drainer and
the status ingest take theirs: the number's statistics row, then the workspace's credit
balance. In the other order, an API send and a drainer recording that number's sends held one
lock each and waited for the other: Postgres broke the deadlock by failing one (a 500)."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, transaction
from django.db.models import F

from billing import lock_objects
from messaging.analytics.models import MessageStat
from messaging.campaigns.messages import message_send
from messaging.campaigns.models import Message

pytestmark = pytest.mark.django_db(transaction=True)


def _someone_waits_on_a_lock(own_pid: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            " AND pid <> %s AND datname = current_database()",
            [own_pid],
        )
        return cursor.fetchone()[0] > 0


def test_a_send_waits_behind_a_drainer_s_record_instead_of_deadlocking(
    workspace, sandbox_number, credits
) -> None:
    # given: a number that already sent today (its statistics row exists)
    number = sandbox_number()
    credits(10)
    message_send(workspace=workspace, to="+994501110001", text="first", sender=number)
    outcome: list[object] = []

    def api_send() -> None:
        try:
            message, _created = message_send(
                workspace=workspace, to="+994501110002", text="second", sender=number
            )
            outcome.append(message)
        except Exception as exc:  # noqa: BLE001 - the test reports it
            outcome.append(exc)
        finally:
            connection.close()

    # when: a "drainer" holds the statistics row, an API send starts, and the drainer then
    # takes the balance (as its record does: outcomes first, credits after)
    with transaction.atomic():
        MessageStat.objects.filter(sender=number, campaign__isnull=True).update(
            accepted=F("accepted")
        )
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            own_pid = cursor.fetchone()[0]
        sender_thread = threading.Thread(target=api_send)
        sender_thread.start()
        deadline = time.monotonic() + 10
        while not _someone_waits_on_a_lock(own_pid) and time.monotonic() < deadline:
            time.sleep(0.02)
        lock_objects.balance_lock(workspace_id=workspace.pk)
    sender_thread.join(timeout=30)

    # then: the send waited, then went through; nothing failed
    assert len(outcome) == 1
    assert isinstance(outcome[0], Message), outcome[0]
    assert Message.objects.filter(phone="+994501110002").count() == 1
