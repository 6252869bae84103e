"""Benchmark: the contacts page of a workspace with 1,000,000 contacts: the plain list, a search
by name (common and rare), by a fragment of a phone number, and a tag filter. Prints JSON: the
median and p95 server time of each over N requests (Django's test client, DEBUG off), and the
number of queries.

    .venv/bin/python bench/contacts_page.py [--contacts 1000000] [--requests 50] [--keep]

Target: p95 < 150 ms on the 2-core machine, the same as the other dashboard pages."""

from __future__ import annotations

import argparse
import os
import time
import uuid
from typing import Any
from urllib.parse import urlencode

from _setup import django_setup, emit

FIRST_NAMES = ["Aysel", "Leyla", "Orxan", "Nərmin", "Elvin", "Günay", "Rəşad", "Səbinə", "Tural",
               "Aynur", "Kamran", "Fidan", "Murad", "Nigar", "Ruslan", "Sevinc", "Anar", "Lalə",
               "Vüsal", "Zaur", "Иван", "Ольга", "Mehmet", "Ayşe"]  # fmt: skip
LAST_NAMES = ["Məmmədov", "Əliyeva", "Hüseynov", "Quliyeva", "Həsənov", "İsmayılova", "Əhmədov",
              "Rzayeva", "Cəfərov", "Abbasova", "Петров", "Yılmaz"]  # fmt: skip


def seed(workspace_id: int, count: int) -> float:
    """`count` contacts in one statement: names from small pools (as in life, most names
    repeat), one rare name, tags on a fifth of them, 2% opted out."""
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO messaging_contact (public_id, workspace_id, phone, first_name, last_name,
                language, country, time_zone, attributes, tags, consent_source, consent_at,
                consent_proof, opted_out_at, opt_out_source, opt_out_reason, whatsapp_status,
                whatsapp_error, created_via, created_at, updated_at)
            SELECT gen_random_uuid(), %(ws)s, '+99450' || lpad(i::text, 7, '0'),
                   CASE WHEN i = %(rare)s THEN 'Zümrüd'
                        ELSE (%(first)s::text[])[1 + i %% %(nf)s] END,
                   (%(last)s::text[])[1 + (i / 7) %% %(nl)s], '', 'AZ', 'Asia/Baku',
                   jsonb_build_object('city', CASE WHEN i %% 3 = 0 THEN 'Gəncə' ELSE 'Bakı' END),
                   CASE WHEN i %% 5 = 0 THEN ARRAY['vip'] ELSE '{}'::varchar[] END,
                   'Seed', now(), '{}'::jsonb,
                   CASE WHEN i %% 50 = 0 THEN now() END,
                   CASE WHEN i %% 50 = 0 THEN 'keyword' ELSE '' END, '', 'unknown', '',
                   'import', now() - make_interval(secs => i), now()
            FROM generate_series(0, %(count)s - 1) AS i
            """,
            {
                "ws": workspace_id,
                "count": count,
                "rare": count // 2,
                "first": FIRST_NAMES,
                "nf": len(FIRST_NAMES),
                "last": LAST_NAMES,
                "nl": len(LAST_NAMES),
            },
        )
        cursor.execute("ANALYZE messaging_contact")
    return round(time.perf_counter() - started, 1)


def drop(workspace: Any) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM messaging_contact WHERE workspace_id = %s", [workspace.pk])
    users = [m.user for m in workspace.memberships.all()]
    workspace.delete()
    for user in users:
        user.delete()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE messaging_contact")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--keep", action="store_true", help="keep the seeded workspace")
    args = parser.parse_args()
    os.environ.setdefault("DEBUG", "1")  # plain static storage; turned off below
    django_setup()

    from django.conf import settings

    settings.DEBUG = False

    from dashboard import time_page
    from django.test import Client
    from django.urls import reverse

    from accounts.models import Membership, User, Workspace
    from accounts.permissions import Role

    for stale in Workspace.objects.filter(slug__startswith="bench-contacts-"):
        drop(stale)  # left by an interrupted run
    tag = uuid.uuid4().hex[:8]
    owner = User.objects.create_user(email=f"bench-{tag}@example.com", password=None)
    workspace = Workspace.objects.create(name=f"Bench {tag}", slug=f"bench-contacts-{tag}")
    Membership.objects.create(workspace=workspace, user=owner, role=Role.OWNER)
    seed_seconds = seed(workspace.pk, args.contacts)
    client = Client()
    client.force_login(owner)
    base = reverse("messaging:contacts", args=[workspace.slug])
    queries = {
        "list": {},
        "search_common_name": {"search": "Leyla"},
        "search_full_name": {"search": "Leyla Məmmədov"},
        "search_rare_name": {"search": "Zümrüd"},
        "search_whole_number": {"search": "050 012 34 56"},
        "search_phone_fragment": {"search": "0123456"},
        "search_no_match": {"search": "Qwerty"},
        "tag_filter": {"tags_any": "vip"},
        "opted_out": {"opt_out": "opted_out"},
    }
    pages = {}
    try:
        for name, params in queries.items():
            url = f"{base}?{urlencode(params)}" if params else base
            pages[name] = time_page(client, url, args.requests)
    finally:
        if not args.keep:
            drop(workspace)
    emit(
        {
            "benchmark": "contacts_page",
            "contacts": args.contacts,
            "seed_seconds": seed_seconds,
            "requests_per_page": args.requests,
            "pages": pages,
            "target": {"p95_ms": 150},
        }
    )


if __name__ == "__main__":
    main()
