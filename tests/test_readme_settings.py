"""The README's settings table lists every environment variable the settings read, one row
each, with a default column (a newcomer configures the app from that table alone)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _settings_variables() -> set[str]:
    text = "".join(
        (ROOT / "isend" / name).read_text() for name in ("settings.py", "settings_test.py")
    )
    names = set(re.findall(r'env(?:_bool|_int|_float|_list)?\(\s*"([A-Z0-9_]+)"', text))
    names |= set(re.findall(r'os\.environ(?:\.get)?[(\[]\s*"([A-Z0-9_]+)"', text))
    names.discard("DJANGO_SETTINGS_MODULE")
    return names


def _table_rows() -> list[list[str]]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Settings (environment variables)", 1)[1].split("\n## ", 1)[0]
    return [
        [cell.strip() for cell in line.strip().strip("|").split("|")]
        for line in section.splitlines()
        if line.startswith("| `")
    ]


def test_every_setting_read_from_the_environment_is_in_the_table() -> None:
    listed = {name for row in _table_rows() for name in re.findall(r"`([A-Z0-9_]+)`", row[0])}
    assert len(_settings_variables()) > 50
    assert _settings_variables() - listed == set()


def test_each_row_has_a_variable_a_default_and_a_meaning() -> None:
    rows = _table_rows()
    for row in rows:
        assert len(row) == 3, row
        assert all(row), row
        assert re.fullmatch(r"(`[A-Z0-9_]+`( / )?)+", row[0]), row
    first_cells = [row[0] for row in rows]
    assert len(first_cells) == len(set(first_cells)), "a variable is listed twice"


def test_the_two_rows_that_were_garbled() -> None:
    rows = {row[0]: row for row in _table_rows()}
    assert rows["`CSRF_TRUSTED_ORIGINS`"][1] == "`SITE_URL`"
    assert rows["`SITE_URL`"][1] == "`http://127.0.0.1:8000`"
    assert rows["`PRIVACY_HASH_SALT`"][1] == "`SECRET_KEY`"
