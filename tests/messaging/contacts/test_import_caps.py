"""F4 (issue 17): a spreadsheet zip bomb is refused from the archive's directory alone,
before anything is unpacked, with a clear error on the import page; sheets with too many rows
or columns are refused; normal workbooks still import."""

from __future__ import annotations

import io
import time
import tracemalloc
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from openpyxl import Workbook

from accounts.models import User, Workspace
from messaging.contacts.models import Contact
from messaging.imports import services as imports_services
from messaging.imports.models import ContactImport

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media_root(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")


def _workbook(rows: list[list[Any]]) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _zip_bomb(shared_strings_mb: int) -> bytes:
    """A real workbook whose sharedStrings.xml holds `shared_strings_mb` MB of one repeated
    string: a few hundred KB compressed, hundreds of MB unpacked (the probe's file)."""
    source = zipfile.ZipFile(io.BytesIO(_workbook([["phone"], ["+994501234567"]])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bomb:
        for item in source.infolist():
            if item.filename != "xl/sharedStrings.xml":
                bomb.writestr(item, source.read(item.filename))
        with bomb.open("xl/sharedStrings.xml", "w", force_zip64=True) as strings:
            strings.write(b'<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/')
            strings.write(b'spreadsheetml/2006/main"><si><t>')
            block = b"A" * (1024 * 1024)
            for _ in range(shared_strings_mb):
                strings.write(block)
            strings.write(b"</t></si></sst>")
    return out.getvalue()


def test_a_zip_bomb_is_refused_quickly_without_being_unpacked(
    workspace: Workspace, member_client: Client
) -> None:
    bomb = _zip_bomb(400)
    assert len(bomb) < 2 * 1024 * 1024  # small on the wire

    tracemalloc.start()
    started = time.monotonic()
    response = member_client.post(
        f"/w/{workspace.slug}/contacts/imports/",
        {"file": SimpleUploadedFile("contacts.xlsx", bomb)},
    )
    elapsed = time.monotonic() - started
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    assert response.status_code == 200
    page = response.content.decode()
    assert "unpacks to 400 MB" in page
    assert not ContactImport.objects.for_workspace(workspace).exists()
    # not unpacked: far less memory than the 400 MB of strings (the request itself is ~2 MB)
    assert peak < 50 * 1024 * 1024
    assert elapsed < 10  # generous: the unfixed code parsed 400 MB here


def test_a_highly_compressed_member_is_refused(workspace: Workspace, settings: Any) -> None:
    settings.IMPORT_XLSX_MAX_UNCOMPRESSED_BYTES = 10**10  # only the ratio cap applies

    with pytest.raises(ValidationError) as caught:
        imports_services.contact_import_create(
            workspace=workspace, uploaded=SimpleUploadedFile("c.xlsx", _zip_bomb(20))
        )

    assert "possible zip bomb" in caught.value.message_dict["file"][0]


def test_a_sheet_with_too_many_rows_is_refused_with_a_clear_error(
    workspace: Workspace,
    owner: User,
    settings: Any,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    settings.IMPORT_MAX_ROWS = 50
    content = _workbook([["phone"], *[[f"+99450{n:07d}"] for n in range(60)]])
    contact_import = imports_services.contact_import_create(
        workspace=workspace, uploaded=SimpleUploadedFile("c.xlsx", content)
    )

    with django_capture_on_commit_callbacks(execute=True):
        imports_services.contact_import_configure(
            workspace=workspace,
            contact_import=contact_import,
            actor=owner,
            options=imports_services.ImportOptions(
                mapping=contact_import.mapping, consent_confirmed=True, consent_source="Form"
            ),
        )

    contact_import.refresh_from_db()
    assert contact_import.status == ContactImport.Status.FAILED
    assert "more than 50 rows" in contact_import.error
    assert not Contact.objects.for_workspace(workspace).exists()


def test_millions_of_blank_rows_do_not_hold_the_upload(workspace: Workspace) -> None:
    # 200,000 blank rows then a contact: the upload reads only the first rows for the preview
    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    for _ in range(200_000):
        sheet.append([None])
    sheet.append(["+994501234567"])
    buffer = io.BytesIO()
    book.save(buffer)

    with pytest.raises(ValidationError) as caught:
        imports_services.contact_import_create(
            workspace=workspace, uploaded=SimpleUploadedFile("c.xlsx", buffer.getvalue())
        )

    assert "The first 1000 rows of the sheet are empty" in caught.value.message_dict["file"][0]


def test_too_many_columns_is_refused(workspace: Workspace, settings: Any) -> None:
    settings.IMPORT_MAX_COLUMNS = 5
    content = _workbook([["phone", "a", "b", "c", "d", "e", "f"], ["+994501234567"] * 7])

    with pytest.raises(ValidationError) as caught:
        imports_services.contact_import_create(
            workspace=workspace, uploaded=SimpleUploadedFile("c.xlsx", content)
        )

    assert "more than 5 columns" in caught.value.message_dict["file"][0]
