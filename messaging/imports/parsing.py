"""The CPU half of a contact import: read the file, parse and validate every row, and judge
duplicates against the whole file. No database access.

Phone parsing (`phonenumbers`) costs about 60 µs a row, as much as everything the writer does.
It therefore runs in a forked *parse process* that streams prepared chunks to the writer over a
pipe: on two cores the parser, the writer and Postgres each get a CPU instead of the parser and
the writer taking turns on one GIL. The pipe holds at most a chunk or two (the parser blocks on
a full pipe), so memory stays flat whatever the file size. Where `fork` does not exist, the same
generator runs in the writer's process."""

from __future__ import annotations

import logging
import os
import signal
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from itertools import islice
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext as _
from phonenumbers.phonemetadata import PhoneMetadata

from core.phones import parse_phone, phone_time_zone
from messaging.contacts.services import UpsertRow, clean_tags, upsert_rows_encode
from messaging.imports.files import FileInfo, FileRejected, cell_text, iter_rows
from messaging.imports.headers import split_full_name

if TYPE_CHECKING:
    from messaging.imports.models import ContactImport

logger = logging.getLogger(__name__)

CHUNK_ROWS = 2000
# Parse in a forked process where the platform can fork (Linux, where workers run).
FORK_PARSER = hasattr(os, "fork")

# A cell that says the person opted out (anything else, including empty, says nothing:
# an import never opts anyone back in).
TRUTHY = {"1", "yes", "y", "true", "x", "+", "opted out", "unsubscribed", "stop", "bəli",
          "beli", "hə", "he", "да", "evet", "ja", "oui", "sí", "si"}  # fmt: skip


def cell(row: Sequence[Any], index: int | None) -> Any:
    if index is None or index >= len(row):
        return None
    return row[index]


def text(value: Any) -> str:
    return cell_text(value)


def _phone_key(e164: str) -> int:
    return int(e164[1:])  # an int is a third of the memory of the string in the seen-map


@dataclass
class ChunkResult:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0
    invalid: int = 0
    opted_out: int = 0


@dataclass(frozen=True, slots=True)
class Rejected:
    """A row the report lists (plain data: it crosses the pipe from the parse process). The
    reason is a code and its parameters, put in words in the reader's language when the
    report is read (`messaging.imports.reasons`), never here."""

    line: int
    reason: str
    params: dict[str, Any]
    row: list[str]


@dataclass
class Prepared:
    result: ChunkResult
    phones: list[str]  # E.164, distinct, of the rows to write
    rows_json: str  # those rows, encoded for the upsert (`upsert_rows_encode`)
    rejections: list[Rejected]
    lines: dict[str, int] = field(default_factory=dict)  # E.164 -> line, for late rejections
    opt_outs: list[str] = field(default_factory=list)  # E.164 numbers the file says opted out


def rejected(line: int, reason: str, params: dict[str, Any], row: Sequence[Any]) -> Rejected:
    return Rejected(
        line=line,
        reason=reason[:32],
        # A cell's text is quoted in the reason: a whole paragraph pasted there is cut short.
        params={k: v[:120] if isinstance(v, str) else v for k, v in params.items()},
        row=[text(value) for value in row],
    )


def prepare_chunk(
    contact_import: ContactImport, chunk: list[tuple[int, list[Any]]], seen: dict[int, int]
) -> Prepared:
    """Parse and validate a chunk. Updates `seen` (phone -> first line), in file order.

    A full-name column is split by `headers.split_full_name`; a first or last name given in
    its own column wins over the part split from the full name, which only fills blanks."""
    mapping = contact_import.mapping
    full_index = mapping.get("full_name", mapping.get("full_name_surname_first"))
    surname_first = "full_name_surname_first" in mapping and "full_name" not in mapping
    attribute_columns: dict[str, int] = mapping.get("attributes", {})
    base_tags = list(contact_import.tags)
    result = ChunkResult(rows=len(chunk))
    rejections: list[Rejected] = []
    upserts: list[UpsertRow] = []
    opt_outs: list[str] = []
    for line, row in chunk:
        parsed = parse_phone(
            cell(row, mapping["phone"]), default_country=contact_import.default_country
        )
        if parsed.e164 is None:
            result.invalid += 1
            rejections.append(rejected(line, parsed.reason, parsed.params, row))
            continue
        key = _phone_key(parsed.e164)
        first_line = seen.get(key)
        if first_line:
            result.duplicates += 1
            rejections.append(rejected(line, "duplicate", {"line": first_line}, row))
            continue
        seen[key] = line
        if text(cell(row, mapping.get("opted_out"))).lower() in TRUTHY:
            opt_outs.append(parsed.e164)
        tag_cell = text(cell(row, mapping.get("tags")))
        attributes = {}
        for name, index in attribute_columns.items():
            value = text(cell(row, index))
            if value:  # an empty cell never erases a value the contact already has
                attributes[name] = value[:500]
        first_name = text(cell(row, mapping.get("first_name")))
        last_name = text(cell(row, mapping.get("last_name")))
        if full_index is not None:
            split_first, split_last = split_full_name(
                text(cell(row, full_index)), surname_first=surname_first
            )
            first_name = first_name or split_first
            last_name = last_name or split_last
        upserts.append(
            UpsertRow(
                phone=parsed.e164,
                first_name=first_name,
                last_name=last_name,
                language=text(cell(row, mapping.get("language")))[:16],
                country=parsed.country,
                time_zone=phone_time_zone(parsed.e164),
                attributes=attributes,
                tags=clean_tags(base_tags + tag_cell.replace(";", ",").split(",")),
            )
        )
    return Prepared(
        result=result,
        phones=[row.phone for row in upserts],
        rows_json=upsert_rows_encode(upserts),
        rejections=rejections,
        lines={row.phone: seen[_phone_key(row.phone)] for row in upserts},
        opt_outs=opt_outs,
    )


def _skip_to_cursor(
    rows: Iterator[tuple[int, list[Any]]], contact_import: ContactImport, seen: dict[int, int]
) -> None:
    """On resume: read past the rows already written, rebuilding the file's seen-phones map
    (duplicates are judged against the whole file, not just this run)."""
    phone_index = contact_import.mapping["phone"]
    for line, row in islice(rows, contact_import.cursor):
        parsed = parse_phone(cell(row, phone_index), default_country=contact_import.default_country)
        if parsed.e164 is not None:
            seen.setdefault(_phone_key(parsed.e164), line)


def _chunks_here(contact_import: ContactImport, info: FileInfo) -> Iterator[Prepared]:
    """Every chunk after the import's cursor, prepared in this process."""
    seen: dict[int, int] = {}
    with contact_import.file.open("rb") as handle:
        rows = iter_rows(handle, info)
        _skip_to_cursor(rows, contact_import, seen)
        while chunk := list(islice(rows, CHUNK_ROWS)):
            yield prepare_chunk(contact_import, chunk, seen)


class ParseProcessFailed(RuntimeError):
    """The parse process crashed; the message carries its traceback."""


def _produce(contact_import: ContactImport, info: FileInfo, out: Connection) -> None:
    """The parse process: send ("chunk", Prepared)... then ("end", None), or ("rejected",
    message) for a file the reader refuses, or ("error", traceback)."""
    try:
        for prepared in _chunks_here(contact_import, info):
            out.send(("chunk", prepared))
        out.send(("end", None))
    except (BrokenPipeError, ConnectionResetError):
        pass  # the writer stopped reading (time slice spent, cancelled, or gone)
    except FileRejected as exc:
        out.send(("rejected", str(exc)))
    except BaseException:  # noqa: BLE001 - reported to the writer, which logs and raises it
        out.send(("error", traceback.format_exc()))


def _chunks_from(pid: int, inbox: Connection) -> Iterator[Prepared]:
    while True:
        try:
            kind, payload = inbox.recv()
        except EOFError:
            logger.error("The parse process %s of an import exited mid-file", pid)
            raise ParseProcessFailed(
                _("Reading the file stopped unexpectedly; run the import again.")
            ) from None
        if kind == "chunk":
            yield payload
        elif kind == "end":
            return
        elif kind == "rejected":
            raise FileRejected(payload)
        else:
            logger.error("The parse process %s of an import failed:\n%s", pid, payload)
            raise ParseProcessFailed(_("The file could not be read; the error has been logged."))


_PHONE_METADATA_LOCK = PhoneMetadata._metadata_lock  # phonenumbers loads regions lazily

#: Parse processes alive now, by pid (for tests and debugging).
running: set[int] = set()


@contextmanager
def prepared_chunks(contact_import: ContactImport, info: FileInfo) -> Iterator[Iterator[Prepared]]:
    """The import's remaining chunks, prepared in a forked parse process. Leaving the block
    stops the process, wherever it is (a time slice can end mid-file).

    A bare `os.fork()`, not `multiprocessing`: the imports worker's prefork pool runs tasks in
    daemonic processes, which `multiprocessing` forbids to have children. The child inherits
    the writer's state (the import, the active language for its own errors) and never
    touches the database; it leaves with `os._exit`, so nothing the writer owns is closed."""
    if not FORK_PARSER:
        yield _chunks_here(contact_import, info)
        return
    read_fd, write_fd = os.pipe()
    # Under a thread pool another thread may be loading phone metadata at this instant: fork
    # while holding its lock, so the child never starts with a lock no thread will release.
    with _PHONE_METADATA_LOCK:
        pid = os.fork()
    if pid == 0:  # the parse process
        code = 0
        try:
            os.close(read_fd)  # so that the writer's exit, even a SIGKILL, breaks the pipe
            for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT, signal.SIGUSR1):
                signal.signal(signum, signal.SIG_DFL)  # not the worker's handlers
            with Connection(write_fd, readable=False) as out:
                _produce(contact_import, info, out)
        except BaseException:  # noqa: BLE001 - nowhere left to report it
            code = 1
        finally:
            os._exit(code)
    running.add(pid)
    os.close(write_fd)  # only the child writes: its exit then reads as EOF here
    inbox = Connection(read_fd, writable=False)
    try:
        yield _chunks_from(pid, inbox)
    finally:
        inbox.close()
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)  # done or not, nothing to clean up there
        os.waitpid(pid, 0)
        running.discard(pid)
