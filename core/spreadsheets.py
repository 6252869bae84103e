"""Spreadsheet formula injection (CSV/XLSX injection): a text cell a spreadsheet would read
as a formula is written with a leading apostrophe, Excel's "this is text" mark.

One rule for every export (contacts, messages, analytics, the ledger, import rejections, the
privacy export): text starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is
neutralised, whatever follows (``-2+3``, ``+1`` and ``@x`` are formulas to a spreadsheet too).
Numbers and dates stay typed. Our importer strips the mark again, so a corrected rejections
file uploads as it is (core.phones drops a leading apostrophe)."""

from __future__ import annotations

from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

#: Written first in every CSV file we produce: without the UTF-8 byte order mark Excel reads the
#: file in the machine's legacy code page, and Azerbaijani (ə, ş, ğ) and Cyrillic letters turn
#: into mojibake. JSON files never get it (RFC 8259 forbids it).
CSV_BOM = "\ufeff"


def formula_safe(value: Any) -> str:
    """The value as text a spreadsheet shows and never evaluates."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text
