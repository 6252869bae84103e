"""Status and reply ingestion stay per-batch work when Postgres has not yet seen a workspace.

A new customer's first large campaign is the usual case: the table's statistics were taken
before the workspace had messages, so the planner believes it has one or two. A lookup that
filtered on the workspace then walked the workspace's index and compared every message of
it with the batch (0.6-2 s per 500 statuses at 120,000 messages). These tests recreate those
statistics and read the plans of the very statements ingestion runs; the workspace guard is
proved by statuses naming another workspace's messages."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from unittest.mock import patch

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core import queries as queries_module
from messaging.campaigns.models import Campaign, Message
from messaging.contacts.models import Contact
from messaging.engine import charges, ingest
from messaging.gateways.base import DeliveryStatus, InboundMessageEvent
from messaging.numbers import services as senders
from messaging.numbers.models import Sender
from tests.factories import status_event
from tests.plans import plan_nodes

pytestmark = pytest.mark.django_db(transaction=True)

WORKSPACE_INDEX = "messaging_message_workspace_id"


def _sent_campaign(*, workspace, actor, contacts: int, first_phone: int, prefix: str) -> Sender:
    """A sandbox number of `workspace` and a campaign it sent to `contacts` new contacts
    (accepted 5 minutes ago, provider ids `wamid.<prefix><n>`)."""
    sender = senders.sender_connect_sandbox(workspace=workspace, actor=actor)
    campaign = Campaign.objects.create(workspace=workspace, name=f"Campaign {prefix}")
    people = Contact.objects.bulk_create(
        Contact(workspace=workspace, phone=f"+99450{first_phone + i:07d}") for i in range(contacts)
    )
    accepted_at = timezone.now() - timedelta(minutes=5)
    Message.objects.bulk_create(
        Message(
            workspace=workspace,
            sender=sender,
            campaign=campaign,
            contact=contact,
            phone=contact.phone,
            body="Hello",
            status=Message.Status.ACCEPTED,
            provider_message_id=f"wamid.{prefix}{i}",
            accepted_at=accepted_at,
        )
        for i, contact in enumerate(people)
    )
    return sender


@pytest.fixture
def unseen_workspace(workspace, other_workspace, owner, make_member, engine_sandbox):
    """`other_workspace` already has messages when the statistics are taken; `workspace`
    gets its 2,000 messages afterwards, unseen by them."""
    other_owner = make_member(workspace=other_workspace).user
    _sent_campaign(
        workspace=other_workspace,
        actor=other_owner,
        contacts=300,
        first_phone=1_000_000,
        prefix="theirs-",
    )
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Message._meta.db_table}")
    return _sent_campaign(
        workspace=workspace, actor=owner, contacts=2_000, first_phone=2_000_000, prefix="ours-"
    )


def _indexes_used(sql: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}")
        plan = cursor.fetchone()[0]
    return _plan_indexes(plan)


def _plan_indexes(plan: object) -> set[str]:
    if isinstance(plan, str):
        plan = json.loads(plan)
    return {node["Index Name"] for node in plan_nodes(plan[0]["Plan"]) if "Index Name" in node}


@contextmanager
def _binary_statements_explained(plans: list[tuple[str, set[str]]]) -> Iterator[None]:
    """The engine's binary-array statements, each explained with its own parameters just
    before it runs (their logged text carries `$1` placeholders, which EXPLAIN cannot fill)."""
    real = queries_module.binary_array_cursor

    @contextmanager
    def explaining() -> Iterator[object]:
        with real() as cursor:
            run = cursor.execute

            def execute(sql: str, params: object = None) -> object:
                cursor.cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
                plans.append((sql, _plan_indexes(cursor.cursor.fetchone()[0])))
                return run(sql, params)

            cursor.execute = execute
            yield cursor

    with (
        patch.object(ingest, "binary_array_cursor", explaining),
        patch.object(charges, "binary_array_cursor", explaining),
    ):
        yield


@pytest.mark.parametrize("by_public_id", [True, False], ids=["by-our-id", "by-provider-id"])
def test_a_status_batch_never_walks_the_index_of_a_workspace_the_statistics_have_not_seen(
    workspace, unseen_workspace, by_public_id
) -> None:
    batch = list(Message.objects.filter(workspace=workspace).order_by("-id")[:500])
    events = [status_event(m, DeliveryStatus.DELIVERED, by_public_id=by_public_id) for m in batch]

    binary: list[tuple[str, set[str]]] = []
    with CaptureQueriesContext(connection) as queries, _binary_statements_explained(binary):
        ingest.apply_statuses(workspace_id=workspace.pk, events=events)

    lookups = [
        q["sql"]
        for q in queries.captured_queries
        if Message._meta.db_table in q["sql"]
        and q["sql"].lstrip().upper().startswith("SELECT")
        and "$1" not in q["sql"]  # the binary statements, explained as they ran
    ]
    assert lookups  # the statuses' messages, by our ids or the provider's
    assert len(binary) == 2  # the lock in id order and the update
    plans = [(sql, _indexes_used(sql)) for sql in lookups] + binary
    for sql, used in plans:
        assert not any(name.startswith(WORKSPACE_INDEX) for name in used), (sql[:200], used)
    delivered = Message.objects.filter(
        pk__in=[m.pk for m in batch], status=Message.Status.DELIVERED
    ).count()
    assert delivered == 500


def test_statuses_naming_another_workspaces_messages_change_nothing(
    workspace, other_workspace, unseen_workspace
) -> None:
    theirs = list(Message.objects.filter(workspace=other_workspace).order_by("id")[:20])
    ours = list(Message.objects.filter(workspace=workspace).order_by("id")[:5])
    # Our number's webhook names their messages, by our id and by the provider's id, and a
    # provider id that both workspaces happen to use.
    Message.objects.filter(pk=ours[0].pk).update(provider_message_id=theirs[19].provider_message_id)
    ours[0].refresh_from_db()
    events = [status_event(m, DeliveryStatus.READ, by_public_id=True) for m in theirs[:10]]
    events += [status_event(m, DeliveryStatus.READ, by_public_id=False) for m in theirs[10:]]
    events.append(status_event(ours[0], DeliveryStatus.READ, by_public_id=False))

    ingest.apply_statuses(workspace_id=workspace.pk, events=events)

    assert set(
        Message.objects.filter(pk__in=[m.pk for m in theirs]).values_list("status", flat=True)
    ) == {Message.Status.ACCEPTED}
    ours[0].refresh_from_db()
    assert ours[0].status == Message.Status.READ


def test_a_reply_finds_the_message_it_answers_through_the_contact(
    workspace, unseen_workspace
) -> None:
    answered = Message.objects.filter(workspace=workspace).order_by("id")[700]
    contact = Contact.objects.get(pk=answered.contact_id)
    # A later single send to the same person (no campaign) is not what the reply answers.
    Message.objects.create(
        workspace=workspace,
        sender=unseen_workspace,
        contact=contact,
        phone=contact.phone,
        body="Your code",
        status=Message.Status.ACCEPTED,
    )

    with CaptureQueriesContext(connection) as queries:
        found = ingest._last_campaign_message(contact)

    assert found == (answered.pk, answered.campaign_id)
    (lookup,) = queries.captured_queries
    assert "message_contact_thread" in _indexes_used(lookup["sql"])
    assert ingest._last_campaign_message(None) == (None, None)


def test_an_inbound_reply_is_attributed_to_the_campaign_it_answers(
    workspace, unseen_workspace
) -> None:
    answered = Message.objects.filter(workspace=workspace).order_by("id")[42]
    ingest.apply_inbound(
        sender=unseen_workspace,
        events=[
            InboundMessageEvent(
                account_id="x",
                provider_message_id=f"wamid.in-{uuid.uuid4().hex}",
                sender=answered.phone.lstrip("+"),
                kind="text",
                text="Thanks, how much is it?",
                timestamp=None,
            )
        ],
    )

    answered.refresh_from_db()
    assert answered.replied_at is not None
    assert Message.objects.filter(workspace=workspace, replied_at__isnull=False).count() == 1
