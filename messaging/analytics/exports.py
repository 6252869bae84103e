"""Tables as CSV or XLSX downloads: the analytics tables and the drill-down lists. Cells are
made safe against spreadsheet formula injection; CSV starts with a BOM so Excel reads UTF-8."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from django.http import HttpResponse
from openpyxl import Workbook

from core.spreadsheets import formula_safe as csv_safe

FORMATS = ("csv", "xlsx")


def table_download(
    *, name: str, headers: Sequence[Any], rows: Iterable[Sequence[Any]], fmt: str
) -> HttpResponse:
    if fmt == "xlsx":
        book = Workbook(write_only=True)
        sheet = book.create_sheet(title=name[:31])
        sheet.append([str(h) for h in headers])
        for row in rows:
            sheet.append([_xlsx_cell(value) for value in row])
        buffer = io.BytesIO()
        book.save(buffer)
        response = HttpResponse(
            buffer.getvalue(),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    else:
        buffer_text = io.StringIO()
        writer = csv.writer(buffer_text)
        writer.writerow([str(h) for h in headers])
        for row in rows:
            writer.writerow([_csv_cell(value) for value in row])
        response = HttpResponse(
            "\ufeff" + buffer_text.getvalue(), content_type="text/csv; charset=utf-8"
        )
        fmt = "csv"
    response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, int | float):
        return value
    return csv_safe(str(value))


def _xlsx_cell(value: Any) -> Any:
    if value is None or isinstance(value, int | float):
        return value
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    return csv_safe(str(value))
