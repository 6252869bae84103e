"""Reading PostgreSQL plans in tests: a test that proves a statement reads its batch (not the
table) replays the very statement the code ran under EXPLAIN (ANALYZE) and walks the nodes."""

from __future__ import annotations

from typing import Any

from django.db import connection, transaction


def plan_nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    """The plan's node and all the nodes under it."""
    return [plan, *(node for child in plan.get("Plans", []) for node in plan_nodes(child))]


def explain_analyze(statement: str, *, setup: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Run `statement` (with `setup` statements first, e.g. its SET LOCALs) under EXPLAIN
    (ANALYZE) in a transaction rolled back, and return the plan's nodes."""
    with transaction.atomic(), connection.cursor() as cursor:
        for line in setup:
            cursor.execute(line)
        cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {statement}")
        plan = cursor.fetchone()[0][0]["Plan"]
        transaction.set_rollback(True)
    return plan_nodes(plan)
