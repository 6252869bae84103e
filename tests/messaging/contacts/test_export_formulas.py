"""Issue 17, "Also": every CSV/XLSX export neutralises formula-like text (`-2+3`, `=1+1`,
`+1`, `@x`) with a leading apostrophe; numbers stay numbers."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from django.test import Client
from openpyxl import load_workbook

from accounts.models import Workspace
from core.spreadsheets import formula_safe
from messaging.analytics.exports import table_download
from messaging.contacts.models import Contact
from privacy.services.export import _csv_safe

FORMULAS = ["-2+3", "=1+1", "+1", "@x", "\t=1", "\r=1"]


@pytest.mark.parametrize("value", FORMULAS)
def test_formula_like_text_is_prefixed(value: str) -> None:
    assert formula_safe(value) == "'" + value


@pytest.mark.parametrize("value", ["Aysel", "", "994 50", "a=b", "Bakı-2"])
def test_plain_text_is_left_alone(value: str) -> None:
    assert formula_safe(value) == value


@pytest.mark.django_db
def test_contacts_export_neutralises_every_formula(
    workspace: Workspace, member_client: Client, make_contact: Callable[..., Contact]
) -> None:
    make_contact(workspace, "+994501111111", first_name="-2+3", last_name="+1", tags=["@x"])

    response = member_client.get(f"/w/{workspace.slug}/contacts/export.csv")
    body = b"".join(response.streaming_content).decode("utf-8-sig").splitlines()

    assert body[1].startswith("+994501111111,'-2+3,'+1,")
    assert ",'@x," in body[1]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_table_downloads_neutralise_formulas_and_keep_numbers(fmt: str) -> None:
    response = table_download(
        name="t", headers=["a"] * 7, rows=[[*FORMULAS[:4], 5, 2.5, "ok"]], fmt=fmt
    )

    if fmt == "xlsx":
        sheet = load_workbook(io.BytesIO(response.content)).active
        row = [cell.value for cell in list(sheet.iter_rows(min_row=2, max_row=2))[0]]
    else:
        row = response.content.decode("utf-8-sig").splitlines()[1].split(",")
        row = [*row[:4], int(row[4]), float(row[5]), row[6]]
    assert row == ["'-2+3", "'=1+1", "'+1", "'@x", 5, 2.5, "ok"]


def test_privacy_export_cells_use_the_same_rule() -> None:
    assert [_csv_safe(v) for v in ["-2+3", "", None, 7]] == ["'-2+3", "", None, 7]
