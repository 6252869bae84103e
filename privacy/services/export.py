"""Self-service export: a machine-readable archive (JSON and CSV per category) built in
resumable sections, downloadable by its owner only, for 7 days."""

from __future__ import annotations

import csv
import json
import shutil
import zipfile
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import models, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.language import user_language
from accounts.models import User
from accounts.services import audit_record, notify
from core.spreadsheets import CSV_BOM, formula_safe
from privacy import registry
from privacy.models import DataExport, DataRequest
from privacy.services.export_sections import (
    COMMON_COLUMNS,
    export_descriptions,
    export_sections,
    owned_workspace_ids,
)
from privacy.services.requests import data_request_complete, data_request_create

EXPORT_TTL = timedelta(days=7)
FILE_COPY_CHUNK = 1024 * 1024
# A second "Download my data" this soon after the first is the same request clicked twice.
DOUBLE_CLICK_WINDOW = timedelta(minutes=1)


def export_dir(export: DataExport) -> Path:
    """Where an export's files live while it is built and until it expires."""
    return Path(settings.MEDIA_ROOT) / "exports" / str(export.public_id)


@transaction.atomic
def export_request(
    *, user: User, actor: User | None = None, data_request: DataRequest | None = None
) -> DataExport:
    """Queue an export of the user's data. One open export at a time per user."""
    open_export = DataExport.objects.filter(
        user=user, status__in=[DataExport.Status.PENDING, DataExport.Status.BUILDING]
    ).first()
    if open_export is not None:
        return open_export
    export = DataExport.objects.create(user=user, data_request=data_request)
    audit_record(
        workspace=None, action="privacy.export_requested", actor=actor or user, target=export
    )
    from privacy.tasks import export_build_task

    export_id = export.pk
    transaction.on_commit(lambda: export_build_task.delay(export_id))
    return export


@transaction.atomic
def export_request_by_owner(*, user: User, ip: str | None = None) -> DataExport:
    """ "Download my data" in the privacy centre: the owner's own access request, recorded in
    the queue (staff see it; the privacy centre lists it) and answered by the archive, which
    completes it when it is ready. A second click while an export is being prepared (or
    just after a quick one was) returns that export and records nothing more."""
    User.objects.select_for_update().filter(pk=user.pk).first()  # one click at a time
    open_export = DataExport.objects.filter(
        models.Q(status__in=[DataExport.Status.PENDING, DataExport.Status.BUILDING])
        | models.Q(
            status=DataExport.Status.READY,
            created_at__gt=timezone.now() - DOUBLE_CLICK_WINDOW,
        ),
        user=user,
    ).first()
    if open_export is not None:
        return open_export
    request = data_request_create(
        kind=DataRequest.Kind.ACCESS,
        channel=DataRequest.Channel.WEB,
        user=user,
        requester_email=user.email,
        status=DataRequest.Status.IN_PROGRESS,
        ip=ip,
    )
    request.confirmed_at = request.received_at
    request.save(update_fields=["confirmed_at"])
    return export_request(user=user, data_request=request)


def _plain(value: Any) -> Any:
    """A value as JSON has it: times in ISO 8601 (with their UTC offset), amounts as exact
    decimal text ("12.50", never a float), ids as text."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal | UUID):
        return str(value)
    return value


def _json_default(value: Any) -> Any:
    plain = _plain(value)
    return str(value) if plain is value else plain


def _csv_safe(value: Any) -> Any:
    """One CSV cell. Lists and key-value data (tags, attributes, filters, invoice lines) are
    JSON text, so a program reads them back with a JSON parser (never a Python repr); text a
    spreadsheet would run as a formula is neutralised (one rule: core.spreadsheets). Numbers
    stay numbers; None stays None (the writer leaves the cell empty)."""
    if isinstance(value, dict | list | tuple):
        return formula_safe(json.dumps(value, default=_json_default, ensure_ascii=False))
    value = _plain(value)
    return formula_safe(value) if isinstance(value, str) else value


def _dump_rows(
    rows: Iterable[Mapping[str, Any]], directory: Path, name: str, fields: list[str]
) -> int:
    """Write one category as JSON and CSV, streaming: memory does not grow with the number
    of rows. The CSV starts with the UTF-8 byte order mark, so Excel shows Azerbaijani and
    Cyrillic letters as they are. Returns the row count."""
    directory.mkdir(parents=True, exist_ok=True)
    count = 0
    with (
        (directory / f"{name}.json").open("w", encoding="utf-8") as jf,
        (directory / f"{name}.csv").open("w", newline="", encoding="utf-8") as cf,
    ):
        cf.write(CSV_BOM)
        writer = csv.DictWriter(cf, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        jf.write("[")
        for row in rows:
            item = {k: row.get(k) for k in fields}
            jf.write(("," if count else "") + "\n  ")
            jf.write(json.dumps(item, default=_json_default, ensure_ascii=False))
            writer.writerow({k: _csv_safe(v) for k, v in item.items()})
            count += 1
        jf.write("\n]\n")
    return count


def export_build_step(*, export_id: int) -> bool:
    """Build the next section of an export; True when the archive is finished.

    Sections done are recorded in Postgres after each one, so a redelivered task resumes
    where it stopped instead of starting again."""
    with transaction.atomic():
        export = DataExport.objects.select_for_update().select_related("user").get(pk=export_id)
        if export.status not in (DataExport.Status.PENDING, DataExport.Status.BUILDING):
            return True
        sections = export_sections(export.user)
        remaining = [s for s in sections if s[0] not in export.sections_done]
        if remaining:
            name, rows, fields = remaining[0]
            _dump_rows(rows(), export_dir(export) / "data", name, fields)
            export.sections_done = [*export.sections_done, name]
            export.status = DataExport.Status.BUILDING
            export.save(update_fields=["sections_done", "status"])
            return False
        _export_finish(export, sections=[(name, fields) for name, _rows, fields in sections])
        return True


def _manifest(sections: list[tuple[str, list[str]]]) -> list[dict[str, Any]]:
    """Each section's files, what they hold and what each column means (in the active
    language)."""
    described = export_descriptions()
    manifest = []
    for name, fields in sections:
        about, columns = described.get(name, ("", {}))
        manifest.append(
            {
                "files": [f"{name}.csv", f"{name}.json"],
                "description": str(about),
                "columns": [
                    {"name": f, "description": str(columns.get(f) or COMMON_COLUMNS.get(f, ""))}
                    for f in fields
                ],
            }
        )
    return manifest


def _readme(manifest: list[dict[str, Any]], *, exported_at: datetime) -> str:
    """README.txt: how to read the archive, then every file and column (as manifest.json
    has them, for programs)."""
    lines = [
        _("Your iSend data"),
        "",
        _(
            "A copy of the data iSend holds about your account and the workspaces you own, "
            "made on %(date)s."
        )
        % {"date": exported_at.date().isoformat()},
        _(
            "Each category is in two files with the same rows: a .csv file for spreadsheets "
            "(UTF-8 with a byte order mark, comma-separated, the first row names the columns) "
            "and a .json file for programs. manifest.json lists the files and columns below."
        ),
        _(
            "Times are ISO 8601 with their offset from UTC; amounts are exact decimals. In the "
            "CSV files, lists and key-value columns (tags, attributes, filters) are JSON text, "
            "and text a spreadsheet would run as a formula starts with an apostrophe."
        ),
    ]
    for entry in manifest:
        lines += ["", " / ".join(entry["files"]), f"  {entry['description']}"]
        lines += [f"  - {c['name']}: {c['description']}" for c in entry["columns"]]
    return "\n".join(lines) + "\n"


def _export_finish(export: DataExport, *, sections: list[tuple[str, list[str]]]) -> None:
    """Zip the sections with a README and a manifest (in the user's language), make the
    archive downloadable for 7 days, tell the user, and close the request it answers (if
    any)."""
    directory = export_dir(export)
    now = timezone.now()
    archive = directory / f"isend-export-{now:%Y%m%d}.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        with translation.override(user_language(export.user)):
            manifest = _manifest(sections)
            zf.writestr("README.txt", _readme(manifest, exported_at=now))
        zf.writestr(
            "manifest.json", json.dumps({"files": manifest}, ensure_ascii=False, indent=2) + "\n"
        )
        for path in sorted((directory / "data").glob("*")):
            zf.write(path, arcname=path.name)
        _files_into(zf, user=export.user)
    shutil.rmtree(directory / "data", ignore_errors=True)
    export.file_path = str(archive.relative_to(settings.MEDIA_ROOT))
    export.size_bytes = archive.stat().st_size
    export.status = DataExport.Status.READY
    export.expires_at = timezone.now() + EXPORT_TTL
    export.save(update_fields=["file_path", "size_bytes", "status", "expires_at"])
    audit_record(
        workspace=None,
        action="privacy.export_ready",
        actor=None,
        target=export,
        details={"sections": export.sections_done, "bytes": export.size_bytes},
    )
    notify(
        user=export.user,
        kind="privacy.export_ready",
        text=gettext_noop("Your data export is ready. The link works for 7 days."),
        params={},
        link=reverse("privacy:export_download", args=[export.public_id]),
    )
    if export.data_request is not None:
        data_request_complete(
            request=export.data_request,
            actor=None,
            note="export built and sent",
            proof={"export": str(export.public_id), "sections": export.sections_done},
        )


def _files_into(zf: zipfile.ZipFile, *, user: User) -> None:
    """The files the doors export (campaign header files), copied from storage into the
    archive in chunks (never a whole file in memory), under the names their rows give."""
    for arcname, stored in registry.export_files(workspace_ids=owned_workspace_ids(user)):
        try:
            with default_storage.open(stored, "rb") as source, zf.open(arcname, "w") as target:
                shutil.copyfileobj(source, target, FILE_COPY_CHUNK)
        except FileNotFoundError:
            continue  # deleted between listing and copying: its row shows no size


def export_fail(*, export_id: int, error: str) -> None:
    DataExport.objects.filter(pk=export_id).update(
        status=DataExport.Status.FAILED, error=error[:1000]
    )


def export_file_for_download(*, user: User, public_id: Any) -> tuple[DataExport, Path] | None:
    """The archive, only for its owner and only until it expires. Anything else is None
    (the view answers 404, never 403)."""
    export = DataExport.objects.filter(user=user, public_id=public_id).first()
    if export is None or not export.is_downloadable:
        return None
    path = Path(settings.MEDIA_ROOT) / export.file_path
    if not path.is_file():
        return None
    with transaction.atomic():
        DataExport.objects.filter(pk=export.pk, downloaded_at__isnull=True).update(
            downloaded_at=timezone.now()
        )
        audit_record(workspace=None, action="privacy.export_downloaded", actor=user, target=export)
    return export, path


def exports_purge_expired(*, now: datetime | None = None) -> int:
    """Delete archives past their 7 days (and any left by failed builds)."""
    now = now or timezone.now()
    count = 0
    expired = DataExport.objects.filter(
        models.Q(status=DataExport.Status.READY, expires_at__lte=now)
        | models.Q(status=DataExport.Status.FAILED, created_at__lte=now - EXPORT_TTL)
    )
    for export in expired.iterator():
        shutil.rmtree(export_dir(export), ignore_errors=True)
        DataExport.objects.filter(pk=export.pk).update(
            status=DataExport.Status.EXPIRED, file_path="", size_bytes=0
        )
        count += 1
    return count
