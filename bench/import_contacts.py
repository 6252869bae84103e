"""Benchmark: import a generated 100,000-row CSV (10% invalid, 5% duplicates) into a workspace
that already holds 100,000 contacts, through the real path (upload check, mapping, the Celery
task run eagerly, chunked upserts). Prints JSON: rows per second and the peak RSS of the
worker process and of the parse process it forks.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/isend_bench .venv/bin/python \\
        bench/import_contacts.py [--rows 100000] [--existing 100000] [--keep]

The database must be migrated (`manage.py migrate`). The workspace is removed afterwards
unless --keep is given."""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "isend.settings")
# Production-like: DEBUG off (no query-logging cursor wrapper).
os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key")
os.environ.setdefault("ALLOWED_HOSTS", "*")
os.environ.setdefault("FIELD_ENCRYPTION_KEY", "aXNlbmQtYmVuY2gtZmllbGQta2V5LTMyLWJ5dGVzISE=")
os.environ["CELERY_TASK_ALWAYS_EAGER"] = "1"  # the task runs in this process, as a worker would
os.environ.setdefault("MEDIA_ROOT", tempfile.mkdtemp(prefix="isend-bench-media-"))

import django  # noqa: E402

django.setup()

from django.core.files.uploadedfile import UploadedFile  # noqa: E402
from django.db import connection  # noqa: E402

from accounts.models import Workspace  # noqa: E402
from messaging.imports import services  # noqa: E402
from messaging.imports.models import ContactImport  # noqa: E402

EXISTING_PREFIX = "+99450"  # existing contacts: +994 50 2000000 ...
NEW_PREFIX = "55"  # new contacts: 055 3000000 ...


def seed_existing(workspace: Workspace, count: int) -> None:
    """100,000 contacts in one SQL statement (the benchmark measures the import, not this)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO messaging_contact (public_id, workspace_id, phone, first_name, last_name,
                language, country, time_zone, attributes, tags, consent_source, consent_at,
                consent_proof, opted_out_at, opt_out_source, opt_out_reason, whatsapp_status,
                whatsapp_error, created_via, created_at, updated_at)
            SELECT gen_random_uuid(), %s, %s || lpad((2000000 + i)::text, 7, '0'),
                   'Name' || i, '', '', 'AZ', 'Asia/Baku', '{"city": "Baku"}'::jsonb, '{}',
                   'Seed', now(), '{}'::jsonb,
                   CASE WHEN i %% 50 = 0 THEN now() END,
                   CASE WHEN i %% 50 = 0 THEN 'keyword' ELSE '' END, '', 'unknown', '',
                   'import', now(), now()
            FROM generate_series(0, %s - 1) AS i
            """,
            [workspace.pk, EXISTING_PREFIX, count],
        )


def write_csv(path: Path, rows: int, existing: int, rng: random.Random) -> dict[str, int]:
    """10% invalid, 5% duplicates of earlier rows, the rest unique: about half of them
    contacts that exist already (a third of those with a changed name), half new. Phones in
    the shapes people use."""
    invalid = rows // 10
    duplicates = rows // 20
    unique = rows - invalid - duplicates
    overlap = min(unique // 2, existing)
    kinds = ["invalid"] * invalid + ["dup"] * duplicates + ["unique"] * unique
    rng.shuffle(kinds)
    seen: list[str] = []
    next_existing = 0
    next_new = 0
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write("phone;first_name;last_name;city\n")
        for kind in kinds:
            if kind == "dup" and seen:
                phone, name = rng.choice(seen), "Dup"
            elif kind == "invalid" or (kind == "dup" and not seen):
                phone, name = rng.choice(["12345", "abc", "+1 200 000 0000", "", "0501"]), "Bad"
            elif next_existing < overlap and (next_new >= unique - overlap or rng.random() < 0.5):
                n = 2000000 + next_existing
                name = f"Name{next_existing}" if next_existing % 3 else f"Renamed{next_existing}"
                next_existing += 1
                phone = rng.choice([f"+994 50 {n}", f"050{n}", f"99450{n}", f"(050) {n}"])
                seen.append(phone)
            else:
                n = 3000000 + next_new
                next_new += 1
                name = f"New{next_new}"
                phone = rng.choice(
                    [f"0{NEW_PREFIX} {n}", f"+994{NEW_PREFIX}{n}", f"994{NEW_PREFIX}{n}"]
                )
                seen.append(phone)
            handle.write(f"{phone};{name};Test;Baku\n")
    return {"invalid": invalid, "duplicates": duplicates, "unique": unique, "overlap": overlap}


def run_import(workspace: Workspace, path: Path) -> ContactImport:
    """Upload, map and run to the end, as a user does (the eager task runs on commit)."""
    with path.open("rb") as handle:
        contact_import = services.contact_import_create(
            workspace=workspace,
            uploaded=UploadedFile(handle, name=path.name, size=path.stat().st_size),
        )
    services.contact_import_configure(  # commits, so the (eager) task runs here
        workspace=workspace,
        contact_import=contact_import,
        options=services.ImportOptions(
            mapping=contact_import.mapping, consent_confirmed=True, consent_source="Benchmark"
        ),
    )
    return contact_import


def warm_up(path: Path) -> None:
    """A worker has run tasks before: a 10-row import in a scratch workspace loads what a
    process loads once (the URLconf for the report link, about 0.8 s; phone metadata)."""
    workspace = Workspace.objects.create(name="Import warm-up", slug=f"bench-warm-{time.time_ns()}")
    try:
        path.write_text("phone;first_name\n" + "".join(f"050 90000{i:02d};W\n" for i in range(10)))
        run_import(workspace, path)
    finally:
        delete_workspace(workspace)


def delete_workspace(workspace: Workspace) -> None:
    with connection.cursor() as cursor:
        for table in (
            "messaging_contactimportrejection",
            "messaging_contactimport",
            "messaging_contact",
        ):
            cursor.execute(f"DELETE FROM {table} WHERE workspace_id = %s", [workspace.pk])  # noqa: S608
    Workspace.objects.filter(pk=workspace.pk).delete()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--existing", type=int, default=100_000)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    rng = random.Random(42)  # noqa: S311 (test data)
    slug = f"bench-import-{int(time.time())}"
    workspace = Workspace.objects.create(name="Import benchmark", slug=slug)
    try:
        seed_existing(workspace, args.existing)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE messaging_contact")  # as autovacuum would after the seed
        with tempfile.TemporaryDirectory() as tmp:
            warm_up(Path(tmp) / "warm-up.csv")
            path = Path(tmp) / "contacts.csv"
            shape = write_csv(path, args.rows, args.existing, rng)
            size = path.stat().st_size
            cpu_before = _cpu_seconds()
            started = time.perf_counter()
            contact_import = run_import(workspace, path)
            elapsed = time.perf_counter() - started
            cpu = {key: round(value - cpu_before[key], 2) for key, value in _cpu_seconds().items()}
        contact_import.refresh_from_db()
        assert contact_import.status == ContactImport.Status.COMPLETED, contact_import.error
        peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        # The forked parse process (its peak counts the pages it shares with the writer).
        parser_peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        print(
            json.dumps(
                {
                    "benchmark": "import_contacts",
                    "rows": args.rows,
                    "existing_contacts": args.existing,
                    "file_bytes": size,
                    "seconds": round(elapsed, 2),
                    "rows_per_second": round(args.rows / elapsed),
                    "peak_rss_mb": round(peak_kb / 1024, 1),
                    "parse_process_peak_rss_mb": round(parser_peak_kb / 1024, 1),
                    "cpu_seconds": cpu,
                    "generated": shape,
                    "report": services.contact_import_summary(contact_import),
                    "targets": {"seconds": 15, "peak_rss_mb": 200},
                },
                indent=2,
            )
        )
    finally:
        if not args.keep:
            delete_workspace(workspace)
            with connection.cursor() as cursor:  # the next run starts without this one's dead rows
                cursor.execute("VACUUM ANALYZE messaging_contact")


def _cpu_seconds() -> dict[str, float]:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)  # reaped parse processes
    figures = {
        "writer": own.ru_utime + own.ru_stime,
        "parse_process": children.ru_utime + children.ru_stime,
    }
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    try:  # the writer's Postgres backend, when the server runs on this machine
        fields = Path(f"/proc/{backend}/stat").read_text().rsplit(")", 1)[1].split()
        figures["postgres_backend"] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        pass
    return figures


if __name__ == "__main__":
    main()
