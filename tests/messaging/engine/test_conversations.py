"""The team inbox's conversations are kept by the message writes themselves: a campaign's
fan-out moves the recipients' existing conversations forward inside its insert statement (no
query per message, none per chunk besides it) and opens none, and the migration's backfill
builds them for messages written before the inbox existed."""

from __future__ import annotations

import importlib
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from messaging.campaigns import services as campaigns
from messaging.campaigns.models import Campaign, InboundMessage, Message
from messaging.engine import fanout
from messaging.engine.conversations import Touch, conversations_touch
from messaging.inbox.models import Conversation

pytestmark = pytest.mark.django_db


def test_fanout_moves_existing_conversations_forward_inside_its_own_statement(
    workspace, owner, template, sandbox_number, contacts, credits
) -> None:
    # given: 1,000 contacts, one number; two of them already wrote (their conversations exist)
    people = contacts(1000)
    credits(2000)
    number = sandbox_number()
    writers = people[:2]
    an_hour_ago = timezone.now() - timedelta(hours=1)
    conversations_touch(
        [
            Touch(workspace.pk, number.pk, p.phone, p.pk, an_hour_ago, "in", "Price?")
            for p in writers
        ]
    )
    campaign = campaigns.campaign_create(
        workspace=workspace, actor=owner, name="Spring sale", template=template,
        senders=[number], audience={},
    )  # fmt: skip
    campaigns.campaign_launch(workspace=workspace, campaign=campaign, actor=owner)

    # when: fanned out in chunks of 400
    statements = []
    while True:
        with CaptureQueriesContext(connection) as queries:
            more = fanout.fanout_chunk(campaign_id=campaign.pk, chunk=400)
        statements.append(sum("messaging_conversation" in q["sql"] for q in queries))
        if not more:
            break

    # then: the two conversations show the campaign as their last line (still unread: the
    # replies were not answered); a broadcast opens no conversation with the other 998; the
    # conversations cost no statement of their own
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.RUNNING
    assert Message.objects.filter(campaign=campaign).count() == 1000
    rows = Conversation.objects.filter(workspace=workspace)
    assert set(rows.values_list("phone", "last_kind", "last_preview", "unread_count")) == {
        (p.phone, "campaign", "Spring sale", 1) for p in writers
    }
    assert statements == [1, 1, 1, 0], statements  # three chunks, then the finishing call


def test_backfill_builds_conversations_for_existing_messages(
    workspace, sandbox_number, contacts
) -> None:
    # given: messages and replies written before the inbox (no conversation rows)
    number = sandbox_number()
    alice, bob = contacts(2)
    Message.objects.create(
        workspace=workspace, sender=number, phone=alice.phone, contact=alice, body="Hello Alice"
    )
    Message.objects.create(
        workspace=workspace, sender=number, phone=bob.phone, contact=bob, body="Hello Bob"
    )
    InboundMessage.objects.create(
        workspace=workspace, sender=number, phone=bob.phone, provider_message_id="w1",
        kind="text", text="Thanks!",
    )  # fmt: skip
    Conversation.objects.filter(workspace=workspace).delete()

    # when: the data migration runs
    module = importlib.import_module("messaging.migrations.0027_conversations_backfill")
    module.backfill(apps, SimpleNamespace(connection=connection))

    # then: one conversation per (number, phone), the latest line as its preview, read
    rows = {c.phone: c for c in Conversation.objects.filter(workspace=workspace)}
    assert set(rows) == {alice.phone, bob.phone}
    assert (rows[alice.phone].last_kind, rows[alice.phone].last_preview) == ("out", "Hello Alice")
    assert (rows[bob.phone].last_kind, rows[bob.phone].last_preview) == ("in", "Thanks!")
    assert rows[bob.phone].contact_id == bob.pk
    assert rows[bob.phone].last_inbound_at is not None
    assert {c.unread_count for c in rows.values()} == {0}
