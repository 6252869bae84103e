"""F4 (issue 17): the upload request never opens a workbook; the worker inspects it under
caps (uncompressed size, compression ratio, rows, columns), refusing a zip bomb from the
archive's directory alone with a clear error on the import page; normal workbooks reach the
mapping step and still import."""

from __future__ import annotations

import io
import time
import tracemalloc
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
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


def _inspected(
    workspace: Workspace,
    content: bytes,
    capture: Callable[..., Any],
    name: str = "contacts.xlsx",
) -> ContactImport:
    """Upload a workbook and let the worker read it (the task runs eagerly on commit)."""
    with capture(execute=True):
        contact_import = imports_services.contact_import_create(
            workspace=workspace, uploaded=SimpleUploadedFile(name, content)
        )
    contact_import.refresh_from_db()
    return contact_import


def test_a_zip_bomb_upload_answers_quickly_without_opening_the_workbook(
    workspace: Workspace,
    member_client: Client,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    # given a 400 MB zip bomb, and openpyxl and zipfile rigged to fail if the request opens it
    bomb = _zip_bomb(400)
    assert len(bomb) < 2 * 1024 * 1024  # small on the wire
    opened: list[str] = []

    def _forbidden(*args: Any, **kwargs: Any) -> Any:
        opened.append("opened")
        raise AssertionError("the upload request opened the workbook")

    monkeypatch.setattr("openpyxl.load_workbook", _forbidden)
    monkeypatch.setattr("messaging.imports.files.zipfile.ZipFile", _forbidden)

    # when it is uploaded (the worker's task is captured, not run)
    tracemalloc.start()
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = member_client.post(
            f"/w/{workspace.slug}/contacts/imports/",
            {"file": SimpleUploadedFile("contacts.xlsx", bomb)},
        )
    elapsed = time.monotonic() - started
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    # then the request stored it and answered at once, "reading the file", without opening it
    contact_import = ContactImport.objects.for_workspace(workspace).get()
    assert response.status_code == 302
    assert response["Location"] == (
        f"/w/{workspace.slug}/contacts/imports/{contact_import.public_id}/"
    )
    assert opened == []
    assert contact_import.status == ContactImport.Status.INSPECTING
    assert contact_import.columns == []
    assert len(callbacks) == 1  # the inspection, queued for the worker
    assert peak < 50 * 1024 * 1024
    assert elapsed < 10
    page = member_client.get(response["Location"]).content.decode()
    assert "Reading the file" in page
    assert 'data-testid="import-inspecting"' in page

    # when the worker runs, the import fails with the clear, translated reason
    monkeypatch.undo()
    callbacks[0]()
    contact_import.refresh_from_db()
    assert contact_import.status == ContactImport.Status.FAILED
    assert "The workbook unpacks to 400 MB" in contact_import.error
    progress = member_client.get(
        f"/w/{workspace.slug}/contacts/imports/{contact_import.public_id}/progress/"
    ).content.decode()
    assert "The import stopped:" in progress
    assert "unpacks to 400 MB, more than the" in progress
    assert not Contact.objects.for_workspace(workspace).exists()


def test_a_normal_workbook_reaches_the_mapping_step_after_the_worker_reads_it(
    workspace: Workspace,
    member_client: Client,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    # given a workbook uploaded from the page, its inspection queued
    content = _workbook([["Telefon", "Ad"], ["+994501234567", "Leyla"]])
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = member_client.post(
            f"/w/{workspace.slug}/contacts/imports/",
            {"file": SimpleUploadedFile("contacts.xlsx", content)},
        )
    detail = response["Location"]
    progress_url = f"{detail}progress/"
    # while the worker has not run, the page polls the progress
    polled = member_client.get(progress_url, HTTP_HX_REQUEST="true")
    assert polled.status_code == 200
    assert "Reading the file" in polled.content.decode()

    # when the worker reads it
    with django_capture_on_commit_callbacks(execute=True):
        for callback in callbacks:
            callback()

    # then the next poll sends the page to the mapping form, which shows the columns
    polled = member_client.get(progress_url, HTTP_HX_REQUEST="true")
    assert polled.status_code == 204
    assert polled["HX-Redirect"] == detail
    page = member_client.get(detail).content.decode()
    assert "Start import" in page
    assert "Telefon" in page
    assert "Leyla" in page
    contact_import = ContactImport.objects.for_workspace(workspace).get()
    assert contact_import.status == ContactImport.Status.UPLOADED
    assert contact_import.columns == ["Telefon", "Ad"]
    assert contact_import.mapping["phone"] == 0


def test_a_highly_compressed_member_is_refused(
    workspace: Workspace, settings: Any, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    settings.IMPORT_XLSX_MAX_UNCOMPRESSED_BYTES = 10**10  # only the ratio cap applies

    contact_import = _inspected(workspace, _zip_bomb(20), django_capture_on_commit_callbacks)

    assert contact_import.status == ContactImport.Status.FAILED
    assert "possible zip bomb" in contact_import.error


def test_a_sheet_with_too_many_rows_is_refused_with_a_clear_error(
    workspace: Workspace,
    owner: User,
    settings: Any,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    settings.IMPORT_MAX_ROWS = 50
    content = _workbook([["phone"], *[[f"+99450{n:07d}"] for n in range(60)]])
    contact_import = _inspected(workspace, content, django_capture_on_commit_callbacks)
    assert contact_import.status == ContactImport.Status.UPLOADED

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


def test_millions_of_blank_rows_do_not_hold_the_worker(
    workspace: Workspace, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    # 200,000 blank rows then a contact: the inspection reads only the first rows
    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    for _ in range(200_000):
        sheet.append([None])
    sheet.append(["+994501234567"])
    buffer = io.BytesIO()
    book.save(buffer)

    contact_import = _inspected(workspace, buffer.getvalue(), django_capture_on_commit_callbacks)

    assert contact_import.status == ContactImport.Status.FAILED
    assert "The first 1000 rows of the sheet are empty" in contact_import.error


def test_too_many_columns_is_refused(
    workspace: Workspace, settings: Any, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    settings.IMPORT_MAX_COLUMNS = 5
    content = _workbook([["phone", "a", "b", "c", "d", "e", "f"], ["+994501234567"] * 7])

    contact_import = _inspected(workspace, content, django_capture_on_commit_callbacks)

    assert contact_import.status == ContactImport.Status.FAILED
    assert "more than 5 columns" in contact_import.error


def test_an_api_upload_of_a_workbook_starts_once_the_worker_has_read_it(
    workspace: Workspace,
    owner: User,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    # given options sent with the upload (as the API does), before the columns are known
    content = _workbook([["phone", "name"], ["+994501234567", "Leyla"], ["+994551234567", "Orxan"]])
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        contact_import = imports_services.contact_import_create(
            workspace=workspace, uploaded=SimpleUploadedFile("c.xlsx", content)
        )
        imports_services.contact_import_configure(
            workspace=workspace,
            contact_import=contact_import,
            actor=owner,
            options=imports_services.ImportOptions(mapping={}, consent_confirmed=True),
        )
        contact_import.refresh_from_db()
        assert contact_import.status == ContactImport.Status.INSPECTING

    # then the worker read it, guessed the mapping and ran the import
    contact_import.refresh_from_db()
    assert contact_import.status == ContactImport.Status.COMPLETED
    assert contact_import.created_count == 2
    assert Contact.objects.for_workspace(workspace).count() == 2


def test_an_api_mapping_that_does_not_fit_the_workbook_fails_the_import(
    workspace: Workspace,
    owner: User,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    content = _workbook([["phone"], ["+994501234567"]])
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        contact_import = imports_services.contact_import_create(
            workspace=workspace, uploaded=SimpleUploadedFile("c.xlsx", content)
        )
        imports_services.contact_import_configure(
            workspace=workspace,
            contact_import=contact_import,
            actor=owner,
            options=imports_services.ImportOptions(mapping={"phone": 7}, consent_confirmed=True),
        )

    contact_import.refresh_from_db()
    assert contact_import.status == ContactImport.Status.FAILED
    assert "There is no such column for phone." in contact_import.error
    assert not Contact.objects.for_workspace(workspace).exists()
