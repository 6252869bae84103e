"""Delivery and read receipts are the most frequent writes to the message table (two per
message sent). They change no column any index reads, so PostgreSQL can write them in place
on the page (HOT updates), with no new entry in any of the table's indexes. In the whole-loop
bench, 41% of the table's updates were HOT after this, 15% before."""

from __future__ import annotations

import re

import pytest
from django.db import connection

from messaging.campaigns.models import Campaign, Message
from messaging.contacts.models import Contact
from messaging.engine import ingest
from messaging.gateways.base import DeliveryStatus
from messaging.numbers.models import Sender
from tests.factories import status_event

pytestmark = pytest.mark.django_db

TABLE = Message._meta.db_table


def _table_updates() -> tuple[int, int]:
    """(updates, of which HOT) of the message table, committed so far."""
    with connection.cursor() as cursor:
        # (this backend's counts reach the shared statistics when it next goes idle)
        cursor.execute("SELECT pg_stat_force_next_flush()")
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relid = %s::regclass",
            [TABLE],
        )
        updated, hot = cursor.fetchone()
    return int(updated), int(hot)


def _number(workspace) -> Sender:
    return Sender.objects.create(
        workspace=workspace,
        provider=Sender.Provider.SANDBOX,
        status=Sender.Status.ACTIVE,
        phone_number="+994502220101",
    )


def test_no_index_of_the_message_table_reads_the_status() -> None:
    # given: every index of the message table, its columns and its WHERE clause
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s", [TABLE])
        definitions = dict(cursor.fetchall())

    # then: the queue's and the campaigns' indexes are there, and none names `status` itself
    # (one that did would turn every receipt back into a write to all of them)
    assert {"message_due_by_campaign", "message_leased", "message_campaign_state"} <= set(
        definitions
    )
    reading_status = {
        name for name, sql in definitions.items() if re.search(r'(?<![\w])"?status"?\b', sql)
    }
    assert reading_status == set()


@pytest.mark.django_db(transaction=True)
def test_a_delivery_and_a_read_receipt_rewrite_no_index(workspace) -> None:
    # given: a campaign message the gateway accepted
    sender = _number(workspace)
    campaign = Campaign.objects.create(workspace=workspace, name="Receipts")
    contact = Contact.objects.create(workspace=workspace, phone="+994501234567")
    message = Message.objects.create(
        workspace=workspace,
        sender=sender,
        campaign=campaign,
        contact=contact,
        phone=contact.phone,
        body="Hello",
        status=Message.Status.ACCEPTED,
        provider_message_id="wamid.receipt-1",
    )
    with connection.cursor() as cursor:
        # (earlier tests' rolled-back rows may fill the page's free space until pruned)
        cursor.execute(f"VACUUM {TABLE}")
    updated, hot = _table_updates()

    # when: its delivery receipt, then its read receipt, are applied
    ingest.apply_statuses(
        workspace_id=workspace.pk,
        events=[status_event(message, DeliveryStatus.DELIVERED, by_public_id=False)],
    )
    ingest.apply_statuses(
        workspace_id=workspace.pk,
        events=[status_event(message, DeliveryStatus.READ, by_public_id=False)],
    )

    # then: the message is read, and both updates (each committed) were written in place
    message.refresh_from_db()
    assert message.status == Message.Status.READ
    assert message.delivered_at is not None
    assert message.read_at is not None
    assert message.indexed_status is None
    after_updated, after_hot = _table_updates()
    assert after_updated - updated == 2
    assert after_hot - hot == 2


def test_the_indexed_status_follows_the_status_the_queue_needs(workspace) -> None:
    # given: messages in each state
    sender = _number(workspace)
    values = {
        status: Message.objects.create(
            workspace=workspace, sender=sender, phone="+994501234567", status=status
        ).indexed_status
        for status in Message.Status.values
    }

    # then: the states the queue and the failure lists look up are kept, the charged ones
    # (what receipts move between) are NULL
    assert values == {
        "queued": "queued",
        "sending": "sending",
        "ambiguous": "ambiguous",
        "accepted": None,
        "sent": None,
        "delivered": None,
        "read": None,
        "failed": "failed",
        "cancelled": "cancelled",
        "skipped": "skipped",
        "expired": "expired",
    }
