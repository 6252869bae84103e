"""Page speed over a large workspace (issue #8): 1,000,000 messages across 200 campaigns, seeded
in bulk with SQL over ~60 days with a realistic status mix (the statistics triggers fill the
per-day table as they would in production), then the median and p95 server time of the pages
a user watches: analytics, the campaign list, a large campaign's page, and the dashboard home.

Target: p95 < 150 ms on the 2-core machine. The seeded table is also checked against a recount
(`message_stats_rebuild(dry_run=True)`: 0 differences expected).

Usage: .venv/bin/python bench/dashboard.py [--messages 1000000] [--campaigns 200]
       [--requests 200] [--days 60] [--keep]"""

# ruff: noqa: S608 - only integers computed here are interpolated into SQL; values are parameters.
from __future__ import annotations

import argparse
import os
import statistics
import time
import uuid
from datetime import timedelta
from typing import Any

from _setup import django_setup, emit, seed_contacts

WARMUPS = 5
NUMBERS = 3
LARGE_SHARE = 0.1  # the large campaign holds a tenth of the messages
RATE_PER_SECOND = 20  # the pace the seeded campaigns were sent at

# The status mix per 10,000 messages of a finished campaign (buckets of a per-row hash).
_MIX = """
    CASE
      WHEN x.b < 200 THEN 'skipped'
      WHEN x.b < 300 THEN 'failed_invalid'
      WHEN x.b < 350 THEN 'failed_template'
      WHEN x.b < 450 THEN 'failed_after'
      WHEN x.b < 1500 THEN 'sent'
      WHEN x.b < 5500 THEN 'delivered'
      ELSE 'read'
    END
"""


def _insert_messages_sql() -> str:
    """One statement for a batch of campaigns: arrays of campaign ids and sizes in, one row per
    message out, with its timestamps and error fields following its fate."""
    return f"""
    INSERT INTO messaging_message (
        public_id, workspace_id, campaign_id, contact_id, sender_id, phone, body, status,
        priority, attempts, next_attempt_at, lease_until, provider_message_id, error_kind,
        error_code, error_title, idempotency_key, created_at, status_changed_at, accepted_at,
        delivered_at, read_at, replied_at, opted_out_at)
    SELECT
        gen_random_uuid(), %(workspace)s, c.id, %(contact0)s + g - 1,
        (%(senders)s::bigint[])[1 + g %% {NUMBERS}],
        '+99450' || lpad(g::text, 7, '0'), 'Hi N' || g,
        CASE WHEN f.fate LIKE 'failed%%' THEN 'failed' ELSE f.fate END,
        0, CASE WHEN f.fate IN ('queued', 'skipped') THEN 0 ELSE 1 END, t.created, NULL,
        CASE WHEN t.accepted IS NULL THEN '' ELSE 'wamid.bench.' || c.id || '.' || g END,
        CASE f.fate WHEN 'failed_invalid' THEN 'recipient_permanent'
                    WHEN 'failed_template' THEN 'fix_request'
                    WHEN 'failed_after' THEN 'retry_later' ELSE '' END,
        CASE f.fate WHEN 'failed_invalid' THEN 131026 WHEN 'failed_template' THEN 132001
                    WHEN 'failed_after' THEN 131049 END,
        CASE f.fate WHEN 'failed_invalid' THEN 'Message undeliverable'
                    WHEN 'failed_template' THEN 'Template name does not exist'
                    WHEN 'failed_after' THEN 'Not delivered to maintain ecosystem health'
                    ELSE '' END,
        NULL, t.created,
        COALESCE(t.replied, t.read, t.delivered, t.accepted + interval '5 seconds', t.created),
        t.accepted, t.delivered, t.read, t.replied, t.opted_out
    FROM unnest(%(campaigns)s::bigint[], %(sizes)s::int[], %(running)s::bool[])
         AS c(id, size, running)
    JOIN messaging_campaign mc ON mc.id = c.id
    CROSS JOIN LATERAL generate_series(1, c.size) g
    CROSS JOIN LATERAL (
        SELECT abs(hashint8(c.id * 1000003 + g)) %% 10000 AS b,
               abs(hashint8(c.id * 7919 + g)) %% 1000 AS b2
    ) x
    CROSS JOIN LATERAL (
        SELECT CASE WHEN c.running AND g > c.size * 0.6 THEN 'queued' ELSE {_MIX} END AS fate
    ) f
    CROSS JOIN LATERAL (
        SELECT mc.launched_at AS created,
               mc.launched_at + g * interval '1 second' / {RATE_PER_SECOND} AS sent_at
    ) s
    CROSS JOIN LATERAL (
        SELECT s.created,
               CASE WHEN f.fate IN ('sent', 'delivered', 'read', 'failed_after')
                    THEN s.sent_at END AS accepted,
               CASE WHEN f.fate IN ('delivered', 'read')
                    THEN s.sent_at + (2 + x.b %% 30) * interval '1 second' END AS delivered,
               CASE WHEN f.fate = 'read'
                    THEN s.sent_at + (1 + x.b %% 240) * interval '1 minute' END AS read,
               CASE WHEN f.fate = 'read' AND x.b2 < 60
                    THEN s.sent_at + (4 + x.b %% 240) * interval '1 minute' END AS replied,
               CASE WHEN f.fate = 'read' AND x.b2 < 3
                    THEN s.sent_at + (4 + x.b %% 240) * interval '1 minute' END AS opted_out
    ) t
    """


def seed(
    *, workspace: Any, template: Any, senders: list[Any], messages: int, campaigns: int, days: int
) -> dict[str, Any]:
    from django.db import connection, transaction
    from django.utils import timezone

    from messaging.campaigns.models import Campaign
    from messaging.contacts.models import Contact

    large = max(1, int(messages * LARGE_SHARE)) if campaigns > 1 else messages
    rest = messages - large
    others = max(campaigns - 1, 1)
    sizes = [rest // others + (1 if i < rest % others else 0) for i in range(campaigns - 1)]
    large_at = campaigns // 2
    sizes.insert(large_at, large)
    started = time.perf_counter()
    seed_contacts(workspace.pk, max(sizes))
    contact0 = Contact.objects.filter(workspace=workspace).order_by("id").values("id")[0]["id"]
    # Campaigns created over the period, one after another; the last two still running. Built
    # by the ORM so that every column the model gains gets its default (a hand-written INSERT
    # here broke when campaigns got header media).
    now = timezone.now()
    rows = []
    for k in range(1, campaigns + 1):
        running = k > campaigns - 2
        at = (
            now - timedelta(hours=1)
            if running
            else now - timedelta(days=days) + (k - 1) * (days - 1) * timedelta(days=1) / campaigns
        )
        rows.append(
            Campaign(
                workspace=workspace,
                name=f"Campaign {k}",
                template=template,
                status=Campaign.Status.RUNNING if running else Campaign.Status.COMPLETED,
                created_at=at,
                launched_at=at,
                finished_at=None if running else at + timedelta(days=1),
            )
        )
    ids = [c.pk for c in Campaign.objects.bulk_create(rows)]
    Through = Campaign.senders.through
    Through.objects.bulk_create(
        Through(campaign_id=c, sender_id=s.pk) for c in ids for s in senders
    )
    running = [i >= campaigns - 2 for i in range(campaigns)]
    sql = _insert_messages_sql()
    batch: list[int] = []
    for index in range(campaigns):
        batch.append(index)
        if sum(sizes[i] for i in batch) >= 100_000 or index == campaigns - 1:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    sql,
                    {
                        "workspace": workspace.pk,
                        "contact0": contact0,
                        "senders": [s.pk for s in senders],
                        "campaigns": [ids[i] for i in batch],
                        "sizes": [sizes[i] for i in batch],
                        "running": [running[i] for i in batch],
                    },
                )
            batch = []
    with connection.cursor() as cursor:
        # Replies as the inbox holds them; campaign counters as the engine keeps them.
        cursor.execute(
            """
            INSERT INTO messaging_inboundmessage (workspace_id, sender_id, contact_id,
                campaign_id, phone, provider_message_id, kind, text, payload, is_opt_out,
                is_opt_in, received_at)
            SELECT workspace_id, sender_id, contact_id, campaign_id, phone,
                   'wamid.in.' || id, 'text',
                   CASE WHEN opted_out_at IS NULL THEN 'Thanks, interested!' ELSE 'STOP' END,
                   '', opted_out_at IS NOT NULL, false, replied_at
            FROM messaging_message WHERE workspace_id = %s AND replied_at IS NOT NULL
            """,
            [workspace.pk],
        )
        cursor.execute(
            """
            UPDATE messaging_campaign c SET
                recipients = t.created, count_queued = t.pending, count_accepted = t.accepted,
                count_sent = t.sent, count_delivered = t.delivered, count_read = t.read,
                count_failed = t.failed, count_skipped = t.skipped,
                count_cancelled = t.cancelled, count_replied = t.replied,
                count_opted_out = t.opted_out
            FROM (SELECT campaign_id, sum(created) created, sum(pending) pending,
                         sum(accepted) accepted, sum(sent) sent, sum(delivered) delivered,
                         sum(read) read, sum(failed_recipient + failed_content
                         + failed_temporary + failed_sender + failed_other) failed,
                         sum(skipped) skipped, sum(cancelled) cancelled, sum(replied) replied,
                         sum(opted_out) opted_out
                  FROM messaging_messagestat WHERE workspace_id = %s GROUP BY campaign_id) t
            WHERE c.id = t.campaign_id
            """,
            [workspace.pk],
        )
        for table in (
            "messaging_message",
            "messaging_messagestat",
            "messaging_campaign",
            "messaging_inboundmessage",
        ):
            cursor.execute(f"ANALYZE {table}")
    return {
        "seconds": round(time.perf_counter() - started, 1),
        "campaign_ids": ids,
        "large_campaign_id": ids[large_at],
        "large_campaign_messages": large,
    }


def drop(workspace: Any) -> None:
    """Remove a seeded workspace: the big tables in single statements, the rest by Django."""
    from django.db import connection

    with connection.cursor() as cursor:
        for table in (
            "messaging_inboundmessage",
            "messaging_message",
            "messaging_messagestat",
            "messaging_contact",
        ):
            cursor.execute(f"DELETE FROM {table} WHERE workspace_id = %s", [workspace.pk])
    from messaging.campaigns.models import Campaign

    Campaign.objects.filter(workspace=workspace).delete()  # (their template is protected)
    users = [m.user for m in workspace.memberships.all()]
    workspace.delete()
    for user in users:
        user.delete()


def time_page(client: Any, url: str, requests: int) -> dict[str, Any]:
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    for _ in range(WARMUPS):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
    reset_queries()  # (a request resets the log, which would hide what the context saw)
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    # (read now: the captured list is a slice of the connection's log, which requests reset)
    captured = list(queries.captured_queries)
    slowest = max((float(q["time"]) for q in captured), default=0.0)
    times = []
    for _ in range(requests):
        start = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    times.sort()
    return {
        "url": url,
        "median_ms": round(statistics.median(times), 1),
        "p95_ms": round(times[max(0, int(len(times) * 0.95) - 1)], 1),
        "max_ms": round(times[-1], 1),
        "queries": len(captured),
        "slowest_query_ms": round(slowest * 1000, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--campaigns", type=int, default=200)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--keep", action="store_true", help="keep the seeded workspace")
    args = parser.parse_args()
    # Pages render with the plain static storage (no collectstatic manifest needed): start
    # with DEBUG on for the settings, then turn it off at runtime as production renders.
    os.environ.setdefault("DEBUG", "1")
    django_setup()

    from django.conf import settings

    # Production-like: no template debugging, no query log (templates are compiled lazily,
    # so this takes effect for every page timed below).
    settings.DEBUG = False

    from django.db import connection
    from django.test import Client
    from django.urls import NoReverseMatch, reverse

    from accounts.models import Membership, User, Workspace
    from accounts.permissions import Role
    from messaging.campaigns.models import Campaign
    from messaging.content.models import MessageTemplate
    from messaging.engine.stats import message_stats_rebuild
    from messaging.numbers.models import Sender

    for stale in Workspace.objects.filter(slug__startswith="bench-dash-"):
        drop(stale)  # left by an interrupted run
    tag = uuid.uuid4().hex[:8]
    owner = User.objects.create_user(email=f"bench-{tag}@example.com", password=None)
    workspace = Workspace.objects.create(name=f"Bench {tag}", slug=f"bench-dash-{tag}")
    Membership.objects.create(workspace=workspace, user=owner, role=Role.OWNER)
    senders = [
        Sender.objects.create(
            workspace=workspace,
            provider="sandbox",
            status="active",
            phone_number=f"+9945{i}{uuid.uuid4().int % 10**7:07d}",
            phone_number_id=str(uuid.uuid4().int)[:15],
            daily_cap=100_000,
        )
        for i in range(NUMBERS)
    ]
    template = MessageTemplate.objects.create(
        workspace=workspace, name="B", variants=["Hi {{first_name}}"]
    )
    seeded = seed(
        workspace=workspace,
        template=template,
        senders=senders,
        messages=args.messages,
        campaigns=args.campaigns,
        days=args.days,
    )
    started = time.perf_counter()
    rebuild = message_stats_rebuild(workspace_id=workspace.pk, dry_run=True)
    rebuild_seconds = round(time.perf_counter() - started, 1)

    client = Client()
    client.force_login(owner)
    large = Campaign.objects.get(pk=seeded["large_campaign_id"])
    slug = workspace.slug
    pages: dict[str, Any] = {}
    notes = []
    targets = {
        "analytics": ("messaging_analytics:overview", [slug]),
        "campaign_list": ("messaging_campaigns:list", [slug]),
        "campaign_detail": ("messaging_campaigns:detail", [slug, large.public_id]),
        "dashboard_home": ("messaging_analytics:home", [slug]),
    }
    for name, (route, route_args) in targets.items():
        try:
            url = reverse(route, args=route_args)
        except NoReverseMatch:
            notes.append(f"{name}: URL name {route} does not resolve yet; skipped")
            continue
        pages[name] = time_page(client, url, args.requests)

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM messaging_message WHERE workspace_id = %s", [workspace.pk]
        )
        messages = cursor.fetchone()[0]
        cursor.execute(
            "SELECT count(*) FROM messaging_messagestat WHERE workspace_id = %s", [workspace.pk]
        )
        stat_rows = cursor.fetchone()[0]
    emit(
        {
            "benchmark": "dashboard",
            "seed_seconds": seeded["seconds"],
            "messages": messages,
            "campaigns": args.campaigns,
            "large_campaign_messages": seeded["large_campaign_messages"],
            "message_stat_rows": stat_rows,
            "stats_rebuild_dry_run": {
                "differences": rebuild.differences,
                "seconds": rebuild_seconds,
            },
            "requests_per_page": args.requests,
            "pages": pages,
            "notes": notes,
            "target": {"p95_ms": 150},
        }
    )
    if not args.keep:
        drop(workspace)


if __name__ == "__main__":
    main()
