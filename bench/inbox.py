"""Benchmark: the team inbox of a workspace with 1,000,000 messages and 50,000 conversations:
the conversation list (all, unassigned, a search) and one conversation of 5,000 messages.
Seeds with one INSERT ... SELECT per table (no ORM loop), then prints JSON: the median and p95
server time of each page over N requests (Django's test client, DEBUG off) and its queries.

    .venv/bin/python bench/inbox.py [--messages 1000000] [--conversations 50000]
                                    [--thread 5000] [--requests 50] [--keep]

Target: p95 < 150 ms (the thread shows its newest 50 lines; older ones load on demand)."""

from __future__ import annotations

import argparse
import os
import time
import uuid
from typing import Any

from _setup import django_setup, emit


def seed(
    *, workspace_id: int, sender_id: int, conversations: int, messages: int, thread: int
) -> float:
    """Contacts and conversations, one per phone; `thread` lines (4/5 sent, 1/5 received) in
    conversation 0; the rest of `messages` spread over the others (sent, plus one reply
    each)."""
    from django.db import connection

    started = time.perf_counter()
    rest = max(messages - thread - (conversations - 1), 0)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL synchronous_commit = off")
        cursor.execute(
            """
            INSERT INTO messaging_contact (public_id, workspace_id, phone, first_name, last_name,
                language, country, time_zone, attributes, tags, consent_source, consent_proof,
                opt_out_source, opt_out_reason, whatsapp_status, whatsapp_error, created_via,
                created_at, updated_at)
            SELECT gen_random_uuid(), %(ws)s, '+99451' || lpad(i::text, 7, '0'),
                   'Client ' || i, '', '', 'AZ', '', '{}'::jsonb, '{}'::varchar[], 'Seed',
                   '{}'::jsonb, '', '', 'unknown', '', 'import', now(), now()
            FROM generate_series(0, %(n)s - 1) AS i
            """,
            {"ws": workspace_id, "n": conversations},
        )
        cursor.execute(
            """
            INSERT INTO messaging_conversation (public_id, workspace_id, sender_id, phone,
                contact_id, status, labels, last_message_at, last_kind, last_preview,
                last_inbound_at, unread_count, created_at, updated_at)
            SELECT gen_random_uuid(), c.workspace_id, %(sender)s, c.phone, c.id,
                   CASE WHEN c.id %% 10 = 0 THEN 'closed' ELSE 'open' END,
                   CASE WHEN c.id %% 7 = 0 THEN ARRAY['vip'] ELSE '{}'::varchar[] END,
                   now() - make_interval(secs => c.id %% 100000), 'in',
                   'Salam, qiyməti nədir? ' || c.id, now() - make_interval(secs => c.id %% 100000),
                   CASE WHEN c.id %% 5 = 0 THEN 1 ELSE 0 END, now(), now()
            FROM messaging_contact c WHERE c.workspace_id = %(ws)s
            """,
            {"ws": workspace_id, "sender": sender_id},
        )
        cursor.execute(
            "SELECT id, phone FROM messaging_contact WHERE workspace_id = %s ORDER BY id",
            [workspace_id],
        )
        contacts = cursor.fetchall()
        first_id, last_id = contacts[0][0], contacts[-1][0]
        big_id, big_phone = contacts[0]
        # The long conversation: 4/5 sent, 1/5 received, a minute apart.
        cursor.execute(
            """
            INSERT INTO messaging_message (public_id, workspace_id, contact_id, sender_id, phone,
                body, status, priority, attempts, next_attempt_at, provider_message_id,
                error_kind, error_title, created_at, status_changed_at)
            SELECT gen_random_uuid(), %(ws)s, %(contact)s, %(sender)s, %(phone)s,
                   'Answer number ' || i, 'delivered', 0, 1, now(), 'wamid.big' || i, '', '',
                   now() - make_interval(mins => %(n)s - i), now()
            FROM generate_series(1, %(n)s * 4 / 5) AS i
            """,
            {
                "ws": workspace_id,
                "contact": big_id,
                "sender": sender_id,
                "phone": big_phone,
                "n": thread,
            },
        )
        cursor.execute(
            """
            INSERT INTO messaging_inboundmessage (workspace_id, sender_id, contact_id, phone,
                provider_message_id, kind, text, payload, is_opt_out, is_opt_in, received_at)
            SELECT %(ws)s, %(sender)s, %(contact)s, %(phone)s, 'wamid.in.big' || i, 'text',
                   'Question number ' || i, '', false, false,
                   now() - make_interval(mins => %(n)s - i * 5)
            FROM generate_series(1, %(n)s / 5) AS i
            """,
            {
                "ws": workspace_id,
                "contact": big_id,
                "sender": sender_id,
                "phone": big_phone,
                "n": thread,
            },
        )
        # The others: one reply each, and the remaining messages spread over them.
        cursor.execute(
            """
            INSERT INTO messaging_inboundmessage (workspace_id, sender_id, contact_id, phone,
                provider_message_id, kind, text, payload, is_opt_out, is_opt_in, received_at)
            SELECT %(ws)s, %(sender)s, c.id, c.phone, 'wamid.in.' || c.id, 'text',
                   'Salam, qiyməti nədir? ' || c.id, '', false, false, now()
            FROM messaging_contact c WHERE c.workspace_id = %(ws)s AND c.id <> %(big)s
            """,
            {"ws": workspace_id, "sender": sender_id, "big": big_id},
        )
        cursor.execute(
            """
            INSERT INTO messaging_message (public_id, workspace_id, contact_id, sender_id, phone,
                body, status, priority, attempts, next_attempt_at, provider_message_id,
                error_kind, error_title, created_at, status_changed_at)
            SELECT gen_random_uuid(), %(ws)s, cid, %(sender)s,
                   '+99451' || lpad((cid - %(first)s)::text, 7, '0'), 'Campaign text',
                   'read', 0, 1, now(), 'wamid.' || i, '', '', now() - make_interval(hours => 1),
                   now()
            FROM (SELECT i, %(first)s + 1 + (i %% (%(last)s - %(first)s)) AS cid
                  FROM generate_series(1, %(rest)s) AS i) s
            """,
            {
                "ws": workspace_id,
                "sender": sender_id,
                "first": first_id,
                "last": last_id,
                "rest": rest,
            },
        )
        for table in (
            "messaging_message",
            "messaging_inboundmessage",
            "messaging_conversation",
            "messaging_contact",
        ):
            cursor.execute(f"ANALYZE {table}")  # noqa: S608  # nosec B608 # own table names
    return round(time.perf_counter() - started, 1)


def drop(workspace: Any) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for table in (
            "messaging_conversation",
            "messaging_message",
            "messaging_inboundmessage",
            "messaging_contact",
        ):
            cursor.execute(
                f"DELETE FROM {table} WHERE workspace_id = %s",  # noqa: S608  # nosec B608
                [workspace.pk],
            )
    users = [m.user for m in workspace.memberships.all()]
    workspace.delete()
    for user in users:
        user.delete()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--conversations", type=int, default=50_000)
    parser.add_argument("--thread", type=int, default=5_000)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--keep", action="store_true", help="keep the seeded workspace")
    args = parser.parse_args()
    os.environ.setdefault("DEBUG", "1")  # plain static storage; turned off below
    django_setup()

    from django.conf import settings

    settings.DEBUG = False

    from dashboard import time_page
    from django.db import transaction
    from django.test import Client
    from django.urls import reverse

    from accounts.models import Membership, User, Workspace
    from accounts.permissions import Role
    from messaging.inbox.models import Conversation
    from messaging.numbers.models import Sender

    for stale in Workspace.objects.filter(slug__startswith="bench-inbox-"):
        drop(stale)  # left by an interrupted run
    tag = uuid.uuid4().hex[:8]
    owner = User.objects.create_user(email=f"bench-{tag}@example.com", password=None)
    workspace = Workspace.objects.create(name=f"Bench {tag}", slug=f"bench-inbox-{tag}")
    Membership.objects.create(workspace=workspace, user=owner, role=Role.OWNER)
    sender = Sender.objects.create(
        workspace=workspace,
        provider=Sender.Provider.SANDBOX,
        phone_number="+994550009999",
        phone_number_id=f"bench{tag}",
        status=Sender.Status.ACTIVE,
    )
    with transaction.atomic():
        seed_seconds = seed(
            workspace_id=workspace.pk,
            sender_id=sender.pk,
            conversations=args.conversations,
            messages=args.messages,
            thread=args.thread,
        )
    client = Client()
    client.force_login(owner)
    base = reverse("messaging_inbox:list", args=[workspace.slug])
    big = Conversation.objects.for_workspace(workspace).order_by("contact_id").first()
    assert big is not None
    pages = {}
    try:
        pages["list"] = time_page(client, base, args.requests)
        pages["list_unassigned_all_states"] = time_page(
            client, f"{base}?view=unassigned&state=all", args.requests
        )
        pages["list_label"] = time_page(client, f"{base}?label=vip", args.requests)
        pages["list_search_phone"] = time_page(client, f"{base}?q=5100123", args.requests)
        pages["unread_badge"] = time_page(
            client, reverse("messaging_inbox:unread", args=[workspace.slug]), args.requests
        )
        url = reverse("messaging_inbox:conversation", args=[workspace.slug, big.public_id])
        pages["conversation_5000"] = time_page(client, url, args.requests)
    finally:
        if not args.keep:
            drop(workspace)
    emit(
        {
            "benchmark": "inbox",
            "messages": args.messages,
            "conversations": args.conversations,
            "thread_messages": args.thread,
            "seed_seconds": seed_seconds,
            "requests_per_page": args.requests,
            "pages": pages,
            "target": {"p95_ms": 150},
        }
    )


if __name__ == "__main__":
    main()
