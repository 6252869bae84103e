"""The last sweep of an erasure: identifiers copied into free text by staff or by the system
(audit details, notifications, the admin log, the request queue's notes) are replaced by a
pseudonym. Targeted tables only, never billing."""

from __future__ import annotations

import re
from typing import Any, cast

from django.contrib.admin.models import LogEntry
from django.db import connection, models

from accounts.models import AuditEvent, Notification
from privacy.models import DataRequest

# Free-text places where staff or the system may have copied an identifier.
SCRUBBED_MODELS: tuple[type[models.Model], ...] = (AuditEvent, Notification, LogEntry, DataRequest)


def _targets() -> list[tuple[str, str, str, bool]]:
    """(table, column, "jsonb" | "text", has a workspace column) for every text and JSON
    column of the scrubbed models."""
    targets: list[tuple[str, str, str, bool]] = []
    for model in SCRUBBED_MODELS:
        table = model._meta.db_table
        has_workspace = any(f.column == "workspace_id" for f in model._meta.concrete_fields)
        for f in model._meta.concrete_fields:
            if f.column is None:  # concrete fields have one; the stubs allow None
                continue
            if isinstance(f, models.JSONField):
                targets.append((table, f.column, "jsonb", has_workspace))
            elif isinstance(f, models.CharField | models.TextField):
                targets.append((table, f.column, "text", has_workspace))
    return targets


def residual_scrub(
    needles: list[str],
    pseudonym: str,
    workspace_id: int | None = None,
    *,
    own_workspace_ids: list[int] | None = None,
) -> int:
    """Replace every occurrence of `needles` (case-insensitive) in the scrubbed tables by
    `pseudonym`; with `workspace_id`, only in that workspace's rows of tables that have one
    (a workspace-scoped erasure touches nothing of another workspace); with
    `own_workspace_ids`, only in rows of those workspaces or of none (platform rows): a text
    someone typed into their profile (a phone) may be another tenant's, whose records an
    erasure must not rewrite (issue #17 F1). Returns rows changed."""
    changed = 0
    with connection.cursor() as cursor:
        for table, column, dtype, has_workspace in _targets():
            scope_sql, scope_args = "", cast(list[Any], [])
            if workspace_id is not None and has_workspace:
                scope_sql, scope_args = " AND workspace_id = %s", [workspace_id]
            elif own_workspace_ids is not None and has_workspace:
                scope_sql = " AND (workspace_id IS NULL OR workspace_id = ANY(%s))"
                scope_args = [own_workspace_ids]
            for needle in needles:
                if dtype == "jsonb":
                    sql = (
                        f'UPDATE "{table}" SET "{column}" = '  # noqa: S608 - names from the ORM # nosec B608
                        f"regexp_replace(\"{column}\"::text, %s, %s, 'gi')::jsonb "
                        f'WHERE "{column}"::text ILIKE %s{scope_sql}'
                    )
                else:
                    sql = (
                        f'UPDATE "{table}" SET "{column}" = '  # noqa: S608 - names from the ORM # nosec B608
                        f"regexp_replace(\"{column}\", %s, %s, 'gi') "
                        f'WHERE "{column}" ILIKE %s{scope_sql}'
                    )
                like = "%" + needle.replace("%", r"\%").replace("_", r"\_") + "%"
                cursor.execute(sql, [re.escape(needle), pseudonym, like, *scope_args])
                changed += cursor.rowcount
    return changed
