"""Fixtures for the privacy tests: media in a temporary folder, and a search of every text,
varchar, array and JSON column of every table (the proof of erasure)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.db import connection

TEXT_TYPES = ("text", "character varying", "json", "jsonb", "ARRAY", "character")


@pytest.fixture(autouse=True)
def _media_root(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def find_everywhere(needle: str) -> list[tuple[str, str, int]]:
    """Every (table, column, hits) where `needle` occurs, over all models' tables."""
    tables = {m._meta.db_table for m in apps.get_models(include_auto_created=True)}
    hits: list[tuple[str, str, int]] = []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND data_type = ANY(%s)",
            [list(TEXT_TYPES)],
        )
        columns = [(t, c) for t, c in cursor.fetchall() if t in tables]
        for table, column in columns:
            cursor.execute(
                f'SELECT count(*) FROM "{table}" WHERE "{column}"::text ILIKE %s',  # noqa: S608
                ["%" + needle + "%"],
            )
            count = cursor.fetchone()[0]
            if count:
                hits.append((table, column, count))
    return hits


@pytest.fixture
def search_db() -> Callable[[str], list[tuple[str, str, int]]]:
    return find_everywhere
