"""Reading uploaded contact files: what they are (by content, never by name), their encoding
and delimiter, and their rows as a stream. No ORM here: the import service drives it.

Memory stays flat: CSV is decoded incrementally through `io.TextIOWrapper`; XLSX is read with
openpyxl's read-only (streaming) mode."""

from __future__ import annotations

import codecs
import csv
import datetime
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from django.conf import settings
from django.utils.translation import gettext as _

from messaging.imports import headers

SAMPLE_BYTES = 64 * 1024
PREVIEW_ROWS = 10
#: Raw rows the upload request reads at most to find the preview (blank rows included), so
#: a sheet of millions of empty rows cannot hold the request (issue 17, F4).
PREVIEW_SCAN_ROWS = 1000
#: Zip members smaller than this are not held to the compression-ratio cap (tiny XML parts
#: of real workbooks compress very well).
RATIO_MIN_MEMBER_BYTES = 1024 * 1024
DELIMITERS = (",", ";", "\t", "|")

_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_LATIN = re.compile(r"[A-Za-z]")
_TURKISH = set("çğıöşüÇĞİÖŞÜâîûÂÎÛ")
_WORD = re.compile(r"\w+")


class FileRejected(ValueError):  # noqa: N818 (a user-facing outcome, like ValidationError)
    """The upload is not a contact file we can read; the message says why and what to do."""


@dataclass
class FileInfo:
    file_format: str  # "csv" | "xlsx"
    encoding: str = ""
    delimiter: str = ""
    has_header: bool = True
    columns: list[str] = field(default_factory=list)
    preview: list[list[str]] = field(default_factory=list)


@dataclass(frozen=True)
class SheetLimits:
    """Caps on what a spreadsheet may unpack to (issue 17, F4: a 395 KB XLSX held 400 MB of
    shared strings). Read from settings; see the README's settings table."""

    max_uncompressed_bytes: int
    max_ratio: int
    max_rows: int
    max_columns: int

    @classmethod
    def from_settings(cls) -> SheetLimits:
        return cls(
            max_uncompressed_bytes=int(settings.IMPORT_XLSX_MAX_UNCOMPRESSED_BYTES),
            max_ratio=int(settings.IMPORT_XLSX_MAX_COMPRESSION_RATIO),
            max_rows=int(settings.IMPORT_MAX_ROWS),
            max_columns=int(settings.IMPORT_MAX_COLUMNS),
        )


def check_xlsx_archive(archive: zipfile.ZipFile, limits: SheetLimits) -> None:
    """Refuse a zip bomb from the archive's directory alone, before anything is unpacked:
    the sum of the members' sizes and each large member's compression ratio are capped."""
    members = archive.infolist()
    total = sum(member.file_size for member in members)
    if total > limits.max_uncompressed_bytes:
        raise FileRejected(
            _(
                "The workbook unpacks to %(size)s MB, more than the %(limit)s MB we accept. "
                "Save it as CSV, or split it, and upload it again."
            )
            % {
                "size": round(total / 1048576),
                "limit": round(limits.max_uncompressed_bytes / 1048576),
            }
        )
    for member in members:
        if member.file_size < RATIO_MIN_MEMBER_BYTES:
            continue
        if member.file_size > limits.max_ratio * max(member.compress_size, 1):
            raise FileRejected(
                _(
                    "The workbook is compressed more than %(ratio)s times, which real contact "
                    "lists never are; it is refused as a possible zip bomb. Save it as CSV "
                    "and upload it again."
                )
                % {"ratio": limits.max_ratio}
            )


def _too_many_rows(limits: SheetLimits) -> FileRejected:
    return FileRejected(
        _("The file has more than %(rows)s rows; split it into smaller files.")
        % {"rows": f"{limits.max_rows:,}"}
    )


def _too_many_columns(limits: SheetLimits) -> FileRejected:
    return FileRejected(
        _("The file has more than %(columns)s columns; is it really a contact list?")
        % {"columns": limits.max_columns}
    )


def _width(row: Any) -> int:
    """Cells up to the last non-empty one (read-only sheets pad rows to the sheet's width)."""
    width = len(row)
    while width and row[width - 1] in (None, ""):
        width -= 1
    return width


# --- encoding ----------------------------------------------------------------------------------


def _looks_utf16(sample: bytes) -> str | None:
    """UTF-16 without a BOM: every other byte of ASCII text is NUL."""
    if len(sample) < 4:
        return None
    even = sample[0::2][:2000]
    odd = sample[1::2][:2000]
    if odd.count(0) > len(odd) * 0.4 and even.count(0) < len(even) * 0.05:
        return "utf-16-le"
    if even.count(0) > len(even) * 0.4 and odd.count(0) < len(odd) * 0.05:
        return "utf-16-be"
    return None


def _single_byte_penalty(text: str, encoding: str) -> int:
    """How implausible `text` is as a decoding with `encoding` (lower is better).

    cp1251 misread from Turkish text mixes Cyrillic and Latin letters inside one word;
    cp1254 misread from Russian text is full of accented letters Turkish does not use."""
    if encoding == "cp1251":
        return sum(1 for w in _WORD.findall(text) if _CYRILLIC.search(w) and _LATIN.search(w))
    return sum(1 for ch in text if ord(ch) > 127 and ch.isalpha() and ch not in _TURKISH)


def detect_encoding(sample: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16 (Excel's "Unicode text"), else Windows-1251
    (Cyrillic) or Windows-1254 (Turkish), whichever reads more plausibly."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    utf16 = _looks_utf16(sample)
    if utf16:
        return utf16
    try:
        # final=False: the sample may end in the middle of a multi-byte character.
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
    except UnicodeDecodeError:
        pass
    else:
        return "utf-8"
    candidates = ("cp1251", "cp1254")
    penalties = {
        enc: _single_byte_penalty(sample.decode(enc, errors="replace"), enc) for enc in candidates
    }
    return min(candidates, key=lambda enc: (penalties[enc], candidates.index(enc)))


# --- content sniffing --------------------------------------------------------------------------

_BINARY_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\xd0\xcf\x11\xe0", "xls"),
    (b"%PDF", "pdf"),
    (b"\x89PNG", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"GIF8", "gif"),
    (b"MZ", "exe"),
    (b"\x7fELF", "elf"),
    (b"\x1f\x8b", "gzip"),
    (b"Rar!", "rar"),
    (b"7z\xbc\xaf", "7z"),
)


def sniff_format(fileobj: IO[bytes]) -> str:
    """ "xlsx" or "csv", from the file's first bytes alone (nothing is unpacked or parsed, so
    the upload request can afford it for any file: issue 17, F4). Raises FileRejected for
    empty files and for binary formats we do not read."""
    fileobj.seek(0)
    sample = fileobj.read(SAMPLE_BYTES)
    fileobj.seek(0)
    if not sample.strip():
        raise FileRejected(_("The file is empty."))
    if sample.startswith(b"PK\x03\x04"):
        return "xlsx"
    for signature, kind in _BINARY_SIGNATURES:
        if sample.startswith(signature):
            if kind == "xls":
                raise FileRejected(
                    _(
                        "This is an old Excel (.xls) workbook. Save it as .xlsx or CSV "
                        "and upload it again."
                    )
                )
            raise FileRejected(
                _("This is not a spreadsheet (it looks like %(kind)s). Upload a CSV or XLSX file.")
                % {"kind": kind.upper()}
            )
    return "csv"


def sniff(fileobj: IO[bytes]) -> FileInfo:
    """Decide what the file is from its first bytes and read its columns and first rows.
    Raises FileRejected with a message a person can act on. For a workbook this opens the
    archive and streams its first rows: run it in the worker, not in a web request."""
    if sniff_format(fileobj) == "xlsx":
        return _sniff_xlsx(fileobj)
    sample = fileobj.read(SAMPLE_BYTES)
    fileobj.seek(0)
    return _sniff_csv(fileobj, sample)


def _sniff_csv(fileobj: IO[bytes], sample: bytes) -> FileInfo:
    encoding = detect_encoding(sample)
    text = codecs.getincrementaldecoder(encoding)(errors="replace").decode(sample, final=False)
    text = text.lstrip("\ufeff")
    printable = sum(1 for ch in text if ch.isprintable() or ch in "\r\n\t")
    if not text or "\x00" in text or printable < len(text) * 0.95:
        raise FileRejected(_("This is not a text table. Upload a CSV or XLSX file."))
    lines = [line for line in text.splitlines()[:50] if line.strip()]
    if len(lines) > 1 and not text.endswith(("\n", "\r")) and len(sample) == SAMPLE_BYTES:
        lines = lines[:-1]  # the sample cut the last line short
    delimiter = detect_delimiter(lines)
    rows = list(_csv_rows(csv.reader(lines, delimiter=delimiter)))
    if not rows:
        raise FileRejected(_("The file has no rows."))
    limits = SheetLimits.from_settings()
    if max(len(r) for r in rows) > limits.max_columns:
        raise _too_many_columns(limits)
    info = FileInfo(file_format="csv", encoding=encoding, delimiter=delimiter)
    _fill_columns(info, rows)
    return info


def detect_delimiter(lines: list[str]) -> str:
    """`csv.Sniffer` first; when it cannot decide (it often cannot with one column or quoted
    phone numbers), the candidate that splits most lines into the same number of columns."""
    if not lines:
        return ","
    try:
        dialect = csv.Sniffer().sniff("\n".join(lines[:20]), delimiters="".join(DELIMITERS))
    except csv.Error:
        pass
    else:
        if dialect.delimiter in DELIMITERS:
            return dialect.delimiter
    best, best_score = ",", (0, 0)
    for delimiter in DELIMITERS:
        counts = [len(row) for row in csv.reader(lines[:20], delimiter=delimiter)]
        if not counts or max(counts) < 2:
            continue
        consistent = max(counts.count(n) for n in set(counts))
        score = (consistent, max(counts))
        if score > best_score:
            best, best_score = delimiter, score
    return best


def cell_text(value: Any) -> str:
    """A cell as the text a contact field keeps. Spreadsheet dates and times are written as
    people read them in ISO order: a date cell (a datetime at midnight) is `1990-03-21`, not
    `1990-03-21 00:00:00`; a time of day is `2024-05-01 14:30` (seconds only when there are
    any); a whole number stored as a float loses its `.0`."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime.datetime):
        if value.time() == datetime.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="seconds" if value.second else "minutes")
    if isinstance(value, datetime.time):
        return value.isoformat(timespec="seconds" if value.second else "minutes")
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value).strip()


def _looks_like_phone(value: Any) -> bool:
    digits = sum(ch.isdigit() for ch in cell_text(value))
    return digits >= 7


def _has_header(first: list[Any], rest: list[list[Any]]) -> bool:
    """Whether the first row is a header. It is when it holds no phone-like cell and
    - the rows below do (the usual contact list), or there are no rows below; or
    - it is made of column titles we know, in any of our languages (`Name,City`); or
    - it is all text without digits above a column whose every value has digits (a date,
      an amount, a code: `Müştəri,Balans` above `Aysel,120`).
    The mapping page shows the guess as a checkbox the user can change."""
    if any(_looks_like_phone(cell) for cell in first):
        return False
    if not rest or any(_looks_like_phone(cell) for row in rest for cell in row):
        return True
    if headers.looks_like_header_row(first):
        return True
    titles = headers.title_cells(first)
    if titles is None:
        return False
    for index, title in enumerate(titles):
        below = [cell_text(row[index]) for row in rest if index < len(row)]
        below = [value for value in below if value]
        if title and below and all(any(ch.isdigit() for ch in value) for value in below):
            return True
    return False


def _fill_columns(info: FileInfo, rows: list[list[Any]]) -> None:
    """The header guess (`_has_header`), the columns' names and the preview rows."""
    first, rest = rows[0], rows[1:]
    info.has_header = _has_header(first, rest)
    width = max(len(row) for row in rows)
    if info.has_header:
        info.columns = [
            cell_text(first[i]) if i < len(first) and cell_text(first[i]) else f"#{i + 1}"
            for i in range(width)
        ]
        data = rest
    else:
        info.columns = [f"#{i + 1}" for i in range(width)]
        data = rows
    info.preview = [[cell_text(cell) for cell in row] for row in data[:PREVIEW_ROWS]]


def _sniff_xlsx(fileobj: IO[bytes]) -> FileInfo:
    limits = SheetLimits.from_settings()
    try:
        with zipfile.ZipFile(fileobj) as archive:
            names = set(archive.namelist())
            check_xlsx_archive(archive, limits)
    except zipfile.BadZipFile as exc:
        raise FileRejected(_("The file is damaged or not a spreadsheet.")) from exc
    if "xl/workbook.xml" not in names:
        raise FileRejected(_("This archive is not an Excel workbook. Upload a CSV or XLSX file."))
    fileobj.seek(0)
    rows: list[list[Any]] = []
    scanned = 0
    for scanned, row in enumerate(iter_xlsx_rows(fileobj, limits), start=1):  # noqa: B007
        if any(cell not in (None, "") for cell in row):
            rows.append(list(row[: _width(row)]))
        if len(rows) > PREVIEW_ROWS or scanned >= PREVIEW_SCAN_ROWS:
            break
    fileobj.seek(0)
    if not rows and scanned >= PREVIEW_SCAN_ROWS:
        raise FileRejected(
            _(
                "The first %(rows)s rows of the sheet are empty. Remove the blank rows and "
                "upload the file again."
            )
            % {"rows": PREVIEW_SCAN_ROWS}
        )
    if not rows:
        raise FileRejected(_("The first sheet of the workbook is empty."))
    info = FileInfo(file_format="xlsx")
    _fill_columns(info, rows)
    return info


# --- streaming rows ----------------------------------------------------------------------------


def iter_xlsx_rows(
    fileobj: IO[bytes], limits: SheetLimits | None = None
) -> Iterator[tuple[Any, ...]]:
    """Rows of the first sheet, streamed (openpyxl read-only mode); cells keep their types, so
    a phone typed as a number arrives as a float and `phones.parse_phone` handles it. The
    archive is checked against the caps before openpyxl unpacks anything, and a sheet with
    more rows or columns than allowed is refused as soon as the stream gets there."""
    from openpyxl import load_workbook

    limits = limits or SheetLimits.from_settings()
    try:
        with zipfile.ZipFile(fileobj) as archive:
            check_xlsx_archive(archive, limits)
    except zipfile.BadZipFile as exc:
        raise FileRejected(_("The file is damaged or not a spreadsheet.")) from exc
    fileobj.seek(0)
    try:
        workbook = load_workbook(fileobj, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for damaged files
        raise FileRejected(_("The workbook could not be read: it may be damaged.")) from exc
    try:
        sheet = workbook.worksheets[0]
        for index, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            if index > limits.max_rows:
                raise _too_many_rows(limits)
            if _width(row) > limits.max_columns:
                raise _too_many_columns(limits)
            yield row
    finally:
        workbook.close()


def _csv_rows(reader: Any) -> Iterator[list[str]]:
    """The reader's rows, its errors told in words: Python's own ("field larger than field
    limit (131072)") reached the import's page as they were."""
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            line = reader.line_num
            if "field larger than field limit" in str(exc):
                raise FileRejected(
                    _(
                        "Line %(line)d holds a cell of more than %(limit)s characters: no contact "
                        "detail is that long. Is this the right file, and are its quotes closed?"
                    )
                    % {"line": line, "limit": f"{csv.field_size_limit():,}"}
                ) from exc
            raise FileRejected(
                _("Line %(line)d cannot be read as CSV: check its quotes and separators.")
                % {"line": line}
            ) from exc
        yield row


def iter_rows(fileobj: IO[bytes], info: FileInfo) -> Iterator[tuple[int, list[Any]]]:
    """(line number, cells) for every data row, skipping the header and blank rows. Line
    numbers count from 1 at the top of the file, as a spreadsheet shows them."""
    fileobj.seek(0)
    limits = SheetLimits.from_settings()
    if info.file_format == "xlsx":
        raw_rows: Iterator[Any] = iter_xlsx_rows(fileobj, limits)
    else:
        text = io.TextIOWrapper(fileobj, encoding=info.encoding, errors="replace", newline="")
        raw_rows = _csv_rows(csv.reader(text, delimiter=info.delimiter or ","))
    for index, row in enumerate(raw_rows, start=1):
        if index > limits.max_rows:
            raise _too_many_rows(limits)
        if index == 1 and info.has_header:
            continue
        if not row or all(cell in (None, "") for cell in row):
            continue
        if index == 1 and isinstance(row[0], str):
            row = [row[0].lstrip("\ufeff"), *row[1:]]
        yield index, list(row)


def count_rows(fileobj: IO[bytes], info: FileInfo) -> int:
    """Data rows in the file (one quick pass, for the progress bar)."""
    return sum(1 for _row in iter_rows(fileobj, info))
