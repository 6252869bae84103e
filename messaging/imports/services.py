"""Contact imports: upload -> preview -> mapping and options -> chunked background run -> report.

The run is resumable: each chunk's contacts, rejections, counters and the cursor commit in ONE
transaction that first locks the import row and checks the cursor is where this run left it.
A redelivered or duplicated task therefore either resumes at the cursor or stops; a chunk is
never applied twice."""

from __future__ import annotations

import json
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import ApiKey, PluralNotice, User, Workspace
from accounts.services import audit_record, notify
from messaging.contacts.models import ContactList, CreatedVia, OptOutSource
from messaging.contacts.selectors import contact_attribute_keys, phones_suppressed
from messaging.contacts.services import (
    RESERVED_ATTRIBUTE_KEYS,
    attribute_key,
    clean_tags,
    contacts_upsert_encoded,
)
from messaging.imports import headers, reasons
from messaging.imports.files import FileInfo, FileRejected, count_rows, sniff, sniff_format
from messaging.imports.models import ContactImport
from messaging.imports.parsing import ChunkResult, Prepared, Rejected, prepared_chunks

RUN_SLICE_SECONDS = 90.0  # under CELERY_TASK_SOFT_TIME_LIMIT (240 s); the task re-queues itself

FIELD_ROLES = headers.FIELD_ROLES
#: An attribute named like a contact field would shadow nothing and confuse everyone
#: (`{{full_name}}` is the field): a column so named is mapped to the field instead.
_FIELD_FOR_RESERVED_KEY = {
    "phone": "phone",
    "first_name": "first_name",
    "last_name": "last_name",
    "full_name": "full_name",
    "language": "language",
}


def import_max_bytes() -> int:
    return int(getattr(settings, "IMPORT_MAX_BYTES", 50 * 1024 * 1024))


def _guess_mapping(columns: Sequence[str], preview: Sequence[Sequence[str]]) -> dict[str, Any]:
    """A first guess from header names (en/az/ru/tr, see `headers`), else the first
    phone-looking column. A whole-name column ("Full name", "Ad Soyad", "ФИО", "Name") is
    guessed as a full name to split, except "Name" next to a last-name column, where it is
    the first name. A header that reads as a contact field's name is never an attribute.
    The mapping page shows every guess and lets the user change it."""
    mapping: dict[str, Any] = {"attributes": {}}
    roles = [headers.role_for_header(name) for name in columns]
    has_last_name = "last_name" in roles
    for index, (name, role) in enumerate(zip(columns, roles, strict=True)):
        if role == "full_name" and has_last_name and headers.header_key(name) == "name":
            role = "first_name"  # "Name" beside "Surname" holds the given name
        if role is None and not name.startswith("#"):
            key = attribute_key(name)
            if key in RESERVED_ATTRIBUTE_KEYS:
                role = _FIELD_FOR_RESERVED_KEY.get(key)
            elif key:
                mapping["attributes"].setdefault(key, index)
                continue
        if role is None or role in mapping:
            continue
        if role in headers.FULL_NAME_ROLES and _full_name_mapped(mapping):
            continue
        mapping[role] = index
    if "phone" not in mapping:
        for index in range(len(columns)):
            if any(
                index < len(row) and sum(c.isdigit() for c in row[index]) >= 7 for row in preview
            ):
                mapping["phone"] = index
                mapping["attributes"] = {
                    k: v for k, v in mapping["attributes"].items() if v != index
                }
                for role in FIELD_ROLES:
                    if role != "phone" and mapping.get(role) == index:
                        del mapping[role]
                break
    return mapping


def _full_name_mapped(mapping: Mapping[str, Any]) -> bool:
    return any(role in mapping for role in headers.FULL_NAME_ROLES)


def _file_refused(uploaded: UploadedFile) -> ValidationError | None:
    limit = import_max_bytes()
    if uploaded.size is not None and uploaded.size > limit:
        return ValidationError(
            {
                "file": [
                    _("The file is %(size)s MB; the limit is %(limit)s MB.")
                    % {"size": round(uploaded.size / 1048576, 1), "limit": limit // 1048576}
                ]
            }
        )
    if uploaded.file is None:
        return ValidationError({"file": [_("Choose a file to import.")]})
    return None


def _info_apply(contact_import: ContactImport, info: FileInfo) -> None:
    contact_import.file_format = info.file_format
    contact_import.encoding = info.encoding
    contact_import.delimiter = info.delimiter
    contact_import.has_header = info.has_header
    contact_import.columns = info.columns
    contact_import.preview_rows = info.preview
    contact_import.mapping = _guess_mapping(info.columns, info.preview)


@transaction.atomic
def contact_import_create(
    *,
    workspace: Workspace,
    uploaded: UploadedFile,
    actor: User | None = None,
) -> ContactImport:
    """Check an upload by size and first bytes, and store it.

    A CSV is read here (a 64 KB sample, streamed: cheap for any file) and the import waits
    for its column mapping. A workbook is NOT opened here: the import is created "inspecting"
    and the worker unpacks it under the caps on size, compression ratio, rows and columns
    (`contact_import_inspect`), so a zip bomb costs the web process nothing (issue 17, F4).
    Raises ValidationError({"file": [...]}) when it is too big or not a table."""
    refused = _file_refused(uploaded)
    if refused is not None:
        raise refused
    assert uploaded.file is not None
    try:
        file_format = sniff_format(uploaded.file)
        info = sniff(uploaded.file) if file_format == ContactImport.Format.CSV else None
    except FileRejected as exc:
        raise ValidationError({"file": [str(exc)]}) from exc
    contact_import = ContactImport(
        workspace=workspace,
        original_name=(uploaded.name or "")[:255],
        size_bytes=uploaded.size or 0,
        file_format=file_format,
        default_country=workspace.default_country,
        created_by=actor,
    )
    if info is None:
        contact_import.status = ContactImport.Status.INSPECTING
    else:
        _info_apply(contact_import, info)
    uploaded.seek(0)
    contact_import.file.save("upload", uploaded, save=False)
    contact_import.save()
    if info is None:
        from messaging.imports.tasks import import_inspect_task

        transaction.on_commit(
            lambda: import_inspect_task.delay(
                import_id=contact_import.pk, workspace_id=workspace.pk
            )
        )
    return contact_import


def contact_import_inspect(*, workspace: Workspace, import_id: int) -> ContactImport | None:
    """The worker's half of an upload: open the stored workbook under the caps, read its
    columns and first rows, and make the import ready for mapping, or failed with the reason
    (a translated sentence the import page shows). When options were given while it was
    being read (the API), the mapping is checked against the columns found and the run is
    queued. Idempotent: an import no longer "inspecting" is left alone. No transaction is
    held while the file is read."""
    contact_import = (
        ContactImport.objects.for_workspace(workspace)
        .filter(pk=import_id, status=ContactImport.Status.INSPECTING)
        .first()
    )
    if contact_import is None:
        return None
    try:
        with contact_import.file.open("rb") as handle:
            info = sniff(handle)
    except FileRejected as exc:
        contact_import_fail(workspace=workspace, import_id=import_id, error=str(exc))
        return None
    return _inspected(workspace=workspace, import_id=import_id, info=info)


@transaction.atomic
def _inspected(*, workspace: Workspace, import_id: int, info: FileInfo) -> ContactImport | None:
    locked = ContactImport.objects.for_workspace(workspace).select_for_update().get(pk=import_id)
    if locked.status != ContactImport.Status.INSPECTING:  # cancelled meanwhile
        return None
    _info_apply(locked, info)
    pending = locked.pending_options
    if pending is None:
        locked.status = ContactImport.Status.UPLOADED
        locked.save()
        return locked
    if pending.get("has_header") is not None:
        locked.has_header = bool(pending["has_header"])
    try:
        locked.mapping = _clean_mapping(
            pending.get("mapping") or locked.mapping,
            len(info.columns),
            known_keys=contact_attribute_keys(workspace=locked.workspace, limit=1000),
        )
    except ValidationError as exc:
        locked.status = ContactImport.Status.FAILED
        locked.error = " ".join(exc.messages)[:2000]
        locked.finished_at = timezone.now()
        locked.save()
        return locked
    locked.status = ContactImport.Status.QUEUED
    locked.save()
    _run_queue_on_commit(workspace=workspace, contact_import=locked)
    return locked


def _run_queue_on_commit(*, workspace: Workspace, contact_import: ContactImport) -> None:
    from messaging.imports.tasks import import_contacts_task

    transaction.on_commit(
        lambda: import_contacts_task.delay(import_id=contact_import.pk, workspace_id=workspace.pk)
    )


@dataclass
class ImportOptions:
    """What the wizard's second step (or the API) asks for."""

    mapping: dict[str, Any]
    consent_confirmed: bool
    consent_source: str = ""
    has_header: bool | None = None
    default_country: str = ""
    on_existing: str = ContactImport.OnExisting.UPDATE
    contact_list: ContactList | None = None
    tags: list[str] = field(default_factory=list)


def import_attribute_key(header: str, *, known_keys: Collection[str] = ()) -> str:
    """The attribute (template variable) a column becomes: a common one by its English name
    ("Şəhər" is `city`), else its header transliterated ("Rəng" is `reng`). A workspace that
    already holds the transliterated one and not the English one keeps it, so an import does
    not split its contacts' cities over two variables."""
    transliterated = attribute_key(header)
    common = headers.attribute_for_header(header)
    if common is None or (transliterated in known_keys and common not in known_keys):
        return transliterated
    return common


def _clean_mapping(raw: Any, width: int, *, known_keys: Collection[str] = ()) -> dict[str, Any]:
    if not isinstance(raw, Mapping) or not isinstance(raw.get("attributes") or {}, Mapping):
        raise ValidationError(
            {
                "mapping": [
                    _(
                        "The mapping is an object of column numbers, counted from 0, such as "
                        '{"phone": 0, "first_name": 1, "attributes": {"city": 3}}.'
                    )
                ]
            }
        )

    def column(value: Any, name: str) -> int | None:
        if value in (None, "", -1, "-1"):
            return None
        try:
            if isinstance(value, bool | float):
                raise TypeError(value)
            index = int(value)
        except (TypeError, ValueError) as exc:
            raise ValidationError(
                {
                    "mapping": [
                        _("Choose a column for %(f)s: its number, counted from 0.") % {"f": name}
                    ]
                }
            ) from exc
        if not 0 <= index < width:
            raise ValidationError(
                {"mapping": [_("There is no such column for %(f)s.") % {"f": name}]}
            )
        return index

    mapping: dict[str, Any] = {"attributes": {}}
    phone = column(raw.get("phone"), "phone")
    if phone is None:
        raise ValidationError({"mapping": [_("Choose the column that holds the phone numbers.")]})
    mapping["phone"] = phone
    for name in FIELD_ROLES[1:]:
        index = column(raw.get(name), name)
        if index is not None:
            mapping[name] = index
    if all(role in mapping for role in headers.FULL_NAME_ROLES):
        raise ValidationError({"mapping": [_("Choose only one column for the full name.")]})
    for raw_key, raw_index in dict(raw.get("attributes") or {}).items():
        key = import_attribute_key(raw_key, known_keys=known_keys)
        index = column(raw_index, raw_key)
        if not key or index is None:
            continue
        if key in RESERVED_ATTRIBUTE_KEYS:
            # A column called "Full name" or "Phone" chosen as an attribute: it is the field.
            field_role = _FIELD_FOR_RESERVED_KEY.get(key)
            if field_role == "full_name" and _full_name_mapped(mapping):
                field_role = None
            if field_role is None or field_role in mapping:
                raise ValidationError(
                    {
                        "mapping": [
                            _(
                                "“%(column)s” cannot be an attribute: {{%(key)s}} is a contact "
                                "field. Map the column to that field, or skip it."
                            )
                            % {"column": raw_key, "key": key}
                        ]
                    }
                )
            mapping[field_role] = index
            continue
        mapping["attributes"][key] = index
    return mapping


@transaction.atomic
def contact_import_header_set(
    *, workspace: Workspace, contact_import: ContactImport, has_header: bool
) -> ContactImport:
    """The user says whether the file's first row is a header, against the upload's guess:
    the columns are named (or numbered) again from that row, and their roles guessed again,
    so the mapping page shows the file as the import will read it."""
    locked = (
        ContactImport.objects.for_workspace(workspace).select_for_update().get(pk=contact_import.pk)
    )
    if locked.status != ContactImport.Status.UPLOADED or locked.has_header == has_header:
        return locked
    columns, preview = list(locked.columns or []), [list(r) for r in locked.preview_rows or []]
    if has_header and preview:
        first = preview.pop(0)
        columns = [
            (first[i] if i < len(first) else "").strip() or f"#{i + 1}" for i in range(len(columns))
        ]
    elif not has_header:
        preview.insert(0, ["" if name.startswith("#") else name for name in columns])
        columns = [f"#{i + 1}" for i in range(len(columns))]
    locked.has_header = has_header
    locked.columns = columns
    locked.preview_rows = preview
    locked.mapping = _guess_mapping(columns, preview)
    locked.save(update_fields=["has_header", "columns", "preview_rows", "mapping"])
    return locked


@transaction.atomic
def contact_import_configure(
    *,
    workspace: Workspace,
    contact_import: ContactImport,
    options: ImportOptions,
    actor: User | None = None,
    api_key: ApiKey | None = None,
) -> ContactImport:
    """Accept the mapping and options, then queue the run (after commit). The lawful-consent
    confirmation is required: we only message people who agreed to it."""
    assert contact_import.workspace_id == workspace.pk
    locked = (
        ContactImport.objects.for_workspace(workspace).select_for_update().get(pk=contact_import.pk)
    )
    if locked.status not in (ContactImport.Status.UPLOADED, ContactImport.Status.INSPECTING):
        raise ValidationError({"status": [_("This import has already started.")]})
    # Still being read (the API uploads and starts in one request): the mapping is checked
    # against the columns once the worker has found them (`contact_import_inspect`).
    inspecting = locked.status == ContactImport.Status.INSPECTING
    errors: dict[str, list[str]] = {}
    if not options.consent_confirmed:
        errors["consent_confirmed"] = [
            _("Confirm that these contacts agreed to receive messages from you.")
        ]
    if options.contact_list is not None and options.contact_list.workspace_id != workspace.pk:
        errors["contact_list"] = [_("That list does not exist.")]
    if options.on_existing not in ContactImport.OnExisting.values:
        errors["on_existing"] = [_("Choose what to do with existing contacts.")]
    country = (options.default_country or workspace.default_country).upper()
    if country not in phonenumbers.SUPPORTED_REGIONS:
        errors["default_country"] = [
            _("Use the two-letter code of a country, such as AZ: “%(code)s” is none.")
            % {"code": country}
        ]
    mapping: dict[str, Any] = {}
    if not inspecting:
        try:
            mapping = _clean_mapping(
                options.mapping,
                len(locked.columns),
                known_keys=contact_attribute_keys(workspace=workspace, limit=1000),
            )
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    if inspecting:
        locked.pending_options = {
            "mapping": dict(options.mapping or {}),
            "has_header": options.has_header,
        }
    else:
        locked.mapping = mapping
        if options.has_header is not None:
            locked.has_header = options.has_header
    locked.default_country = country
    locked.on_existing = options.on_existing
    locked.contact_list = options.contact_list
    locked.tags = clean_tags(options.tags)
    locked.consent_confirmed_at = timezone.now()
    locked.consent_source = (options.consent_source or _("Import")).strip()[:120]
    if not inspecting:
        locked.status = ContactImport.Status.QUEUED
    locked.save()
    audit_record(
        workspace=workspace,
        action="contact_import.start",
        actor=actor,
        api_key=api_key,
        target=locked,
        details={"file": locked.original_name, "consent_source": locked.consent_source},
    )
    if not inspecting:
        _run_queue_on_commit(workspace=workspace, contact_import=locked)
    return locked


def _file_info(contact_import: ContactImport) -> FileInfo:
    return FileInfo(
        file_format=contact_import.file_format,
        encoding=contact_import.encoding,
        delimiter=contact_import.delimiter,
        has_header=contact_import.has_header,
    )


class _CursorMoved(Exception):  # noqa: N818
    """Another run of the same import advanced the cursor: this one stops."""


def _write_chunk(
    *,
    workspace: Workspace,
    contact_import: ContactImport,
    prepared: Prepared,
    expected_cursor: int,
) -> ChunkResult:
    """Write one prepared chunk, its rejections, counters and the cursor in ONE transaction,
    after checking under lock that the cursor is where this run left it."""
    result, rejections = prepared.result, prepared.rejections
    phones, rows_json = prepared.phones, prepared.rows_json
    with transaction.atomic():
        _import_lock(workspace=workspace, contact_import=contact_import, cursor=expected_cursor)
        # Numbers erased at a recipient's request stay out unless they give fresh consent.
        suppressed = phones_suppressed(workspace_id=workspace.pk, phones=phones)
        if suppressed:  # rare: decode, filter, encode again
            phones, rows_json, rejections = _suppressed_removed(prepared, suppressed)
            result.invalid += len(suppressed)
        if phones:
            result.opted_out = _opted_out_count(workspace=workspace, phones=phones)
        created, updated = _contacts_upsert(
            workspace=workspace, contact_import=contact_import, rows_json=rows_json
        )
        result.created += created
        result.updated += updated
        result.unchanged += len(phones) - created - updated
        opt_outs = [phone for phone in prepared.opt_outs if phone not in suppressed]
        if opt_outs:
            result.opted_out += _contacts_opt_out(
                workspace=workspace, contact_import=contact_import, phones=opt_outs
            )
        if contact_import.contact_list_id and phones:
            _list_members_add(workspace=workspace, contact_import=contact_import, phones=phones)
        _rejections_insert(contact_import, rejections)
        _import_counters_add(workspace=workspace, contact_import=contact_import, result=result)
    return result


def _import_lock(*, workspace: Workspace, contact_import: ContactImport, cursor: int) -> None:
    """Lock the import's row; raise _CursorMoved unless it still runs and its cursor is where
    this run left it (a second run, or a cancel, got there first)."""
    locked = (
        ContactImport.objects.for_workspace(workspace)
        .select_for_update()
        .only("cursor", "status")
        .get(pk=contact_import.pk)
    )
    if locked.cursor != cursor or locked.status != ContactImport.Status.RUNNING:
        raise _CursorMoved


def _suppressed_removed(
    prepared: Prepared, suppressed: set[str]
) -> tuple[list[str], str, list[Rejected]]:
    """The chunk's phones, encoded rows and rejections without the suppressed numbers, each
    of them reported as a rejected row."""
    phones = [phone for phone in prepared.phones if phone not in suppressed]
    rows_json = json.dumps(
        [row for row in json.loads(prepared.rows_json) if row["phone"] not in suppressed],
        ensure_ascii=False,
    )
    rejections = prepared.rejections + [
        Rejected(line=prepared.lines[phone], reason=reasons.SUPPRESSED, params={}, row=[phone])
        for phone in sorted(suppressed)
    ]
    return phones, rows_json, rejections


def _opted_out_count(*, workspace: Workspace, phones: list[str]) -> int:
    """How many of the chunk's numbers belong to contacts already opted out (they stay out)."""
    # Raw `= ANY(array)`: one parameter instead of 2,000 placeholders to compile.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM messaging_contact WHERE workspace_id = %s "
            "AND phone = ANY(%s) AND opted_out_at IS NOT NULL",
            [workspace.pk, phones],
        )
        count: int = cursor.fetchone()[0]
        return count


def _contacts_upsert(
    *, workspace: Workspace, contact_import: ContactImport, rows_json: str
) -> tuple[int, int]:
    """Create or update the chunk's contacts, with the import as their consent proof; returns
    (created, updated)."""
    return contacts_upsert_encoded(
        workspace=workspace,
        rows_json=rows_json,
        update_existing=contact_import.on_existing == ContactImport.OnExisting.UPDATE,
        created_via=CreatedVia.IMPORT,
        consent_source=contact_import.consent_source,
        consent_proof={
            "import": str(contact_import.public_id),
            "file": contact_import.original_name,
            "confirmed_at": (
                contact_import.consent_confirmed_at.isoformat()
                if contact_import.consent_confirmed_at
                else None
            ),
        },
    )


def _contacts_opt_out(
    *, workspace: Workspace, contact_import: ContactImport, phones: list[str]
) -> int:
    """The file says these people opted out: they stay out of every campaign from now.
    Returns how many contacts were opted out by this chunk."""
    with connection.cursor() as cursor:
        now = timezone.now()
        cursor.execute(
            "UPDATE messaging_contact SET opted_out_at = %s, opt_out_source = %s, "
            "opt_out_reason = %s, updated_at = %s "
            "WHERE workspace_id = %s AND phone = ANY(%s) AND opted_out_at IS NULL",
            [
                now,
                OptOutSource.IMPORT,
                f"import {contact_import.original_name}"[:255],
                now,
                workspace.pk,
                phones,
            ],
        )
        count: int = cursor.rowcount
        return count


def _list_members_add(
    *, workspace: Workspace, contact_import: ContactImport, phones: list[str]
) -> None:
    """Put the chunk's contacts on the list the import was asked to fill."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO messaging_contactlistmembership "
            "(workspace_id, contact_list_id, contact_id, added_at) "
            "SELECT %s, %s, id, %s FROM messaging_contact "
            "WHERE workspace_id = %s AND phone = ANY(%s) "
            "ON CONFLICT (contact_list_id, contact_id) DO NOTHING",
            [
                workspace.pk,
                contact_import.contact_list_id,
                timezone.now(),
                workspace.pk,
                phones,
            ],
        )


def _import_counters_add(
    *, workspace: Workspace, contact_import: ContactImport, result: ChunkResult
) -> None:
    """Move the cursor past the chunk and add its counts to the import's (under the lock)."""
    ContactImport.objects.for_workspace(workspace).filter(pk=contact_import.pk).update(
        cursor=F("cursor") + result.rows,
        created_count=F("created_count") + result.created,
        updated_count=F("updated_count") + result.updated,
        unchanged_count=F("unchanged_count") + result.unchanged,
        duplicate_count=F("duplicate_count") + result.duplicates,
        invalid_count=F("invalid_count") + result.invalid,
        opted_out_count=F("opted_out_count") + result.opted_out,
    )


def _rejections_insert(contact_import: ContactImport, rejections: Sequence[Rejected]) -> None:
    """One statement per chunk (a JSON parameter), not a model instance per rejected row."""
    if not rejections:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO messaging_contactimportrejection "
            "(workspace_id, contact_import_id, line, reason, params, message, row) "
            "SELECT %s, %s, r.line, r.reason, r.params, '', r.row "
            "FROM jsonb_to_recordset(%s::jsonb) AS r(line integer, reason text, params jsonb, "
            "row jsonb)",
            [
                contact_import.workspace_id,
                contact_import.pk,
                json.dumps(
                    [
                        {"line": r.line, "reason": r.reason, "params": r.params, "row": r.row}
                        for r in rejections
                    ],
                    ensure_ascii=False,
                ),
            ],
        )


def contact_import_run(
    *, workspace: Workspace, import_id: int, time_budget: float = RUN_SLICE_SECONDS
) -> bool:
    """Process chunks until the file ends or the time budget is spent. Returns True when work
    remains (the task re-queues itself). Safe to call twice at once and after a crash."""
    with transaction.atomic():
        contact_import = (
            ContactImport.objects.for_workspace(workspace).select_for_update().get(pk=import_id)
        )
        if contact_import.status not in (
            ContactImport.Status.QUEUED,
            ContactImport.Status.RUNNING,
        ):
            return False
        if contact_import.status == ContactImport.Status.QUEUED:
            contact_import.status = ContactImport.Status.RUNNING
            contact_import.started_at = timezone.now()
            contact_import.save(update_fields=["status", "started_at"])
    deadline = time.monotonic() + time_budget
    info = _file_info(contact_import)
    try:
        cursor = contact_import.cursor
        with prepared_chunks(contact_import, info) as chunks:
            if contact_import.total_rows is None:  # counted while the parse process starts
                with contact_import.file.open("rb") as handle:
                    total = count_rows(handle, info)
                ContactImport.objects.for_workspace(workspace).filter(pk=import_id).update(
                    total_rows=total
                )
            for prepared in chunks:
                _write_chunk(
                    workspace=workspace,
                    contact_import=contact_import,
                    prepared=prepared,
                    expected_cursor=cursor,
                )
                cursor += prepared.result.rows
                if time.monotonic() > deadline:
                    return True  # the task re-queues itself; the next slice resumes here
    except _CursorMoved:
        return False
    except FileRejected as exc:
        contact_import_fail(workspace=workspace, import_id=import_id, error=str(exc))
        return False
    _finish(workspace=workspace, import_id=import_id)
    return False


@transaction.atomic
def _finish(*, workspace: Workspace, import_id: int) -> None:
    contact_import = (
        ContactImport.objects.for_workspace(workspace).select_for_update().get(pk=import_id)
    )
    if contact_import.status != ContactImport.Status.RUNNING:
        return
    contact_import.status = ContactImport.Status.COMPLETED
    contact_import.finished_at = timezone.now()
    contact_import.total_rows = contact_import.cursor
    contact_import.save(update_fields=["status", "finished_at", "total_rows"])
    summary = contact_import_summary(contact_import)
    audit_record(
        workspace=workspace,
        action="contact_import.completed",
        actor=contact_import.created_by,
        target=contact_import,
        details=summary,
    )
    from django.urls import reverse

    notify(
        kind="import_finished",
        workspace=workspace,
        user=contact_import.created_by,
        text=PluralNotice.ngettext(
            "Import of %(file)s finished: %(created)d created, %(updated)d updated, "
            "%(invalid)d invalid row.",
            "Import of %(file)s finished: %(created)d created, %(updated)d updated, "
            "%(invalid)d invalid rows.",
            "invalid",
        ),
        params={
            "file": contact_import.original_name,
            "created": contact_import.created_count,
            "updated": contact_import.updated_count,
            "invalid": contact_import.invalid_count,
        },
        link=reverse(
            "messaging:import_detail",
            kwargs={"workspace_slug": workspace.slug, "import_id": contact_import.public_id},
        ),
        email=contact_import.created_by is not None,
    )


@transaction.atomic
def contact_import_cancel(
    *, workspace: Workspace, contact_import: ContactImport, actor: User | None
) -> ContactImport:
    """Stop an import. Rows already written stay (each chunk commits with its cursor); the
    running task stops before its next chunk, because every chunk checks the status under
    lock. A finished import cannot be cancelled."""
    locked = (
        ContactImport.objects.for_workspace(workspace).select_for_update().get(pk=contact_import.pk)
    )
    if locked.status not in (
        ContactImport.Status.INSPECTING,
        ContactImport.Status.UPLOADED,
        ContactImport.Status.QUEUED,
        ContactImport.Status.RUNNING,
    ):
        raise ValidationError(_("This import has already ended."))
    locked.status = ContactImport.Status.CANCELLED
    locked.finished_at = timezone.now()
    locked.save(update_fields=["status", "finished_at"])
    audit_record(
        workspace=workspace,
        action="contact_import.cancelled",
        actor=actor,
        target=locked,
        details={"rows_written": locked.cursor},
    )
    return locked


def contact_import_files_purge(*, now: datetime | None = None) -> int:
    """Delete uploaded files of imports that ended more than IMPORT_FILE_RETENTION_DAYS ago,
    and of uploads never mapped within that time (the report and its counts stay)."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=int(getattr(settings, "IMPORT_FILE_RETENTION_DAYS", 7)))
    ended = (
        ContactImport.Status.COMPLETED,
        ContactImport.Status.FAILED,
        ContactImport.Status.CANCELLED,
    )
    due = ContactImport.objects.filter(file_deleted_at__isnull=True).filter(
        Q(status__in=ended, finished_at__lt=cutoff)
        | Q(
            status__in=[ContactImport.Status.UPLOADED, ContactImport.Status.INSPECTING],
            created_at__lt=cutoff,
        )
    )
    purged = 0
    for contact_import in due.iterator(chunk_size=200):
        if contact_import.file:
            contact_import.file.delete(save=False)
        ContactImport.objects.filter(pk=contact_import.pk).update(file_deleted_at=now)
        purged += 1
    return purged


@transaction.atomic
def contact_import_fail(*, workspace: Workspace, import_id: int, error: str) -> None:
    """Mark an import failed (the task's on_failure hook and unreadable files land here)."""
    ContactImport.objects.for_workspace(workspace).filter(
        pk=import_id,
        status__in=[
            ContactImport.Status.INSPECTING,
            ContactImport.Status.QUEUED,
            ContactImport.Status.RUNNING,
        ],
    ).update(status=ContactImport.Status.FAILED, error=error[:2000], finished_at=timezone.now())


def contact_import_summary(contact_import: ContactImport) -> dict[str, int]:
    """The report's numbers. rows = created + updated + unchanged + duplicates + invalid;
    opted_out (kept opted out) overlaps updated/unchanged."""
    return {
        "rows": contact_import.cursor,
        "created": contact_import.created_count,
        "updated": contact_import.updated_count,
        "unchanged": contact_import.unchanged_count,
        "duplicates": contact_import.duplicate_count,
        "invalid": contact_import.invalid_count,
        "opted_out": contact_import.opted_out_count,
    }
