"""Contact imports: encodings, delimiters, the exact report, idempotence, streaming, XLSX,
refusals and resuming from the cursor."""

from __future__ import annotations

import codecs
import io
import tracemalloc
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.urls import reverse
from openpyxl import Workbook

from accounts.models import User, Workspace
from messaging.contacts import services as contacts_services
from messaging.contacts.models import Contact
from messaging.imports import parsing as import_parsing
from messaging.imports import selectors
from messaging.imports import services as import_services
from messaging.imports import services as imports_services
from messaging.imports.files import detect_encoding
from messaging.imports.models import ContactImport

from .conftest import upload

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media_root(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")


def summary(contact_import: ContactImport) -> dict[str, int]:
    return imports_services.contact_import_summary(contact_import)


CYRILLIC = "phone;first_name;last_name\n0501234567;Иван;Петров\n+7 916 123 45 67;Ольга;Смирнова\n"
TURKISH = "phone;first_name;last_name\n0501234567;Gülşen;Yıldız\n+90 532 123 45 67;Çağrı;Öztürk\n"


@pytest.mark.parametrize(
    ("text", "encoding", "detected", "names"),
    [
        (CYRILLIC, "utf-8", "utf-8", {"Иван", "Ольга"}),
        (CYRILLIC, "utf-8-sig", "utf-8-sig", {"Иван", "Ольга"}),
        (CYRILLIC.replace(";", "\t"), "utf-16", "utf-16", {"Иван", "Ольга"}),
        (CYRILLIC, "cp1251", "cp1251", {"Иван", "Ольга"}),
        (TURKISH, "cp1254", "cp1254", {"Gülşen", "Çağrı"}),
        (TURKISH, "utf-8", "utf-8", {"Gülşen", "Çağrı"}),
    ],
)
def test_every_encoding_imports_names_intact(
    workspace: Workspace,
    run_import: Callable[..., ContactImport],
    text: str,
    encoding: str,
    detected: str,
    names: set[str],
) -> None:
    # given a file as Excel or an old Windows program would save it
    content = text.encode(encoding)
    # when
    contact_import = run_import(workspace, content)
    # then
    assert contact_import.encoding == detected
    assert contact_import.status == ContactImport.Status.COMPLETED
    assert (
        set(Contact.objects.for_workspace(workspace).values_list("first_name", flat=True)) == names
    )


def test_utf16_without_bom_is_detected() -> None:
    assert detect_encoding("phone\n0501234567\n".encode("utf-16-le")) == "utf-16-le"


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiters(
    workspace: Workspace, run_import: Callable[..., ContactImport], delimiter: str
) -> None:
    rows = [
        ["phone", "name", "city"],
        ["050 123 45 67", "Aysel", "Baku"],
        ["055-765-43-21", "Orxan", "Ganja"],
    ]
    content = "\n".join(delimiter.join(r) for r in rows).encode()
    contact_import = run_import(workspace, content)
    assert contact_import.delimiter == delimiter
    assert summary(contact_import)["created"] == 2
    aysel = Contact.objects.for_workspace(workspace).get(phone="+994501234567")
    assert (aysel.first_name, aysel.attributes) == ("Aysel", {"city": "Baku"})


REPORT_FILE = (
    b"Phone,First name,City,Tags\n"
    b"050 111 11 11,New,Baku,vip\n"  # line 2: created
    b"+994502222222,Changed,Baku,\n"  # line 3: existing, name changes -> updated
    b"994503333333,Same,,\n"  # line 4: existing, identical -> unchanged
    b"not a phone,X,,\n"  # line 5: invalid
    b"123,Y,,\n"  # line 6: invalid (too short)
    b"0501111111,Again,,\n"  # line 7: duplicate of line 2
    b"+994504444444,Stopped,,\n"  # line 8: existing, opted out -> kept opted out (updated)
    b"9.94505555555E+11,Sci,,\n"  # line 9: scientific notation -> created
    b"994506666666.0,Float,,\n"  # line 10: Excel float -> created
    b",,,\n"  # blank row: skipped silently
)


def test_a_file_with_bad_duplicate_and_opted_out_rows_gives_the_exact_report(
    workspace: Workspace,
    run_import: Callable[..., ContactImport],
    make_contact: Callable[..., Contact],
) -> None:
    # given
    make_contact(workspace, "+994502222222", first_name="Before")
    contacts_services.contact_create(  # consent already on record: nothing for the import to add
        workspace=workspace,
        data={"phone": "+994503333333", "first_name": "Same"},
        consent_source="Shop",
    )
    stopped = make_contact(workspace, "+994504444444", first_name="Old")
    contacts_services.contact_opt_out(workspace=workspace, contact=stopped, reason="STOP")
    # when
    contact_import = run_import(workspace, REPORT_FILE)
    # then
    assert summary(contact_import) == {
        "rows": 9,
        "created": 3,
        "updated": 2,
        "unchanged": 1,
        "duplicates": 1,
        "invalid": 2,
        "opted_out": 1,
    }
    rejections = list(
        selectors.contact_import_rejections(
            workspace=workspace, contact_import=contact_import
        ).values_list("line", "reason")
    )
    assert rejections == [(5, "not_a_number"), (6, "too_short"), (7, "duplicate")]
    stopped.refresh_from_db()
    assert stopped.opted_out_at is not None
    assert stopped.first_name == "Stopped"
    new = Contact.objects.for_workspace(workspace).get(phone="+994501111111")
    assert new.tags == ["vip"]
    assert new.consent_source == "Website form"
    assert new.consent_proof["import"] == str(contact_import.public_id)
    assert (
        Contact.objects.for_workspace(workspace)
        .filter(phone__in=["+994505555555", "+994506666666"])
        .count()
        == 2
    )


def test_rejected_rows_download_as_csv(
    workspace: Workspace, run_import: Callable[..., ContactImport], member_client: Any
) -> None:
    contact_import = run_import(workspace, REPORT_FILE)
    response = member_client.get(
        f"/w/{workspace.slug}/contacts/imports/{contact_import.public_id}/rejected.csv"
    )
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    lines = body.strip().splitlines()
    assert lines[0] == "line,reason,message,Phone,First name,City,Tags"
    assert lines[1].startswith("5,not_a_number,")
    assert lines[3].startswith("7,duplicate,Same phone number as line 2.")


def test_reimporting_the_same_file_changes_nothing(
    workspace: Workspace, run_import: Callable[..., ContactImport]
) -> None:
    contact_list = contacts_services.contact_list_create(workspace=workspace, name="Imported")
    first = run_import(workspace, REPORT_FILE, contact_list=contact_list, tags=["batch"])
    before = list(Contact.objects.for_workspace(workspace).order_by("phone").values())
    second = run_import(workspace, REPORT_FILE, contact_list=contact_list, tags=["batch"])
    after = list(Contact.objects.for_workspace(workspace).order_by("phone").values())
    assert summary(first)["created"] == 6
    assert summary(second) == {
        "rows": 9,
        "created": 0,
        "updated": 0,
        "unchanged": 6,
        "duplicates": 1,
        "invalid": 2,
        "opted_out": 0,
    }
    assert before == after
    assert contact_list.contacts.count() == 6


def test_skip_existing_leaves_existing_contacts_alone(
    workspace: Workspace,
    run_import: Callable[..., ContactImport],
    make_contact: Callable[..., Contact],
) -> None:
    make_contact(workspace, "+994502222222", first_name="Before")
    contact_import = run_import(workspace, REPORT_FILE, on_existing="skip")
    assert summary(contact_import)["updated"] == 0
    assert (
        Contact.objects.for_workspace(workspace).get(phone="+994502222222").first_name == "Before"
    )


def test_a_resumed_import_continues_at_the_cursor_and_counts_the_same(
    workspace: Workspace,
    owner: User,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    # given: chunks of 3 rows and a run that stops after each chunk (as a crash would)
    monkeypatch.setattr(import_parsing, "CHUNK_ROWS", 3)
    contact_import = upload(workspace, REPORT_FILE)
    with django_capture_on_commit_callbacks(execute=False):
        imports_services.contact_import_configure(
            workspace=workspace,
            contact_import=contact_import,
            actor=owner,
            options=imports_services.ImportOptions(
                mapping=contact_import.mapping, consent_confirmed=True
            ),
        )
    # when
    more = imports_services.contact_import_run(
        workspace=workspace, import_id=contact_import.pk, time_budget=0
    )
    contact_import.refresh_from_db()
    assert more is True
    assert contact_import.cursor == 3
    while imports_services.contact_import_run(
        workspace=workspace, import_id=contact_import.pk, time_budget=0
    ):
        pass
    # then: the duplicate on line 7 (of line 2, in an earlier run) is still recognised
    contact_import.refresh_from_db()
    assert contact_import.status == ContactImport.Status.COMPLETED
    assert summary(contact_import) == {
        "rows": 9, "created": 6, "updated": 0, "unchanged": 0,
        "duplicates": 1, "invalid": 2, "opted_out": 0,
    }  # fmt: skip
    # and a redelivered task after the end does nothing
    assert (
        imports_services.contact_import_run(workspace=workspace, import_id=contact_import.pk)
        is False
    )


def test_xlsx_with_numeric_phone_cells(
    workspace: Workspace, run_import: Callable[..., ContactImport]
) -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Telefon", "Ad", "Şəhər"])
    sheet.append([994501234567, "Leyla", "Bakı"])  # a number cell
    sheet.append([994551234567.0, "Orxan", "Gəncə"])  # a float cell
    sheet.append(["050 777 77 77", "Nərmin", None])
    sheet.append(["bad", "Z", None])
    buffer = io.BytesIO()
    workbook.save(buffer)
    contact_import = run_import(workspace, buffer.getvalue(), name="contacts.xlsx")
    assert contact_import.file_format == "xlsx"
    assert summary(contact_import)["created"] == 3
    assert summary(contact_import)["invalid"] == 1
    leyla = Contact.objects.for_workspace(workspace).get(phone="+994501234567")
    assert (leyla.first_name, leyla.attributes) == ("Leyla", {"city": "Bakı"})  # not "seher"


def test_xlsx_date_cells_import_as_dates_and_times_keep_their_minutes(
    workspace: Workspace, member_client: Any, run_import: Callable[..., ContactImport]
) -> None:
    # given: a workbook whose date column Excel stores as datetimes at midnight
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Telefon", "Ad", "Birthday", "Last visit"])
    # (spreadsheet cells have no time zone: openpyxl reads them as naive datetimes)
    birthday, visit = datetime(1990, 3, 21), datetime(2024, 5, 1, 14, 30)  # noqa: DTZ001
    visit_with_seconds = datetime(2024, 5, 2, 9, 5, 7)  # noqa: DTZ001
    sheet.append([994501234567, "Leyla", birthday, visit])
    sheet.append([994551234567, "Orxan", date(1985, 12, 1), visit_with_seconds])
    buffer = io.BytesIO()
    workbook.save(buffer)

    # when: it is imported
    contact_import = run_import(workspace, buffer.getvalue(), name="contacts.xlsx")

    # then: the preview and the contacts hold the date as a date, a time to the minute
    assert contact_import.preview_rows[0][2:] == ["1990-03-21", "2024-05-01 14:30"]
    leyla = Contact.objects.for_workspace(workspace).get(phone="+994501234567")
    assert leyla.attributes == {"birthday": "1990-03-21", "last_visit": "2024-05-01 14:30"}
    orxan = Contact.objects.for_workspace(workspace).get(phone="+994551234567")
    assert orxan.attributes == {"birthday": "1985-12-01", "last_visit": "2024-05-02 09:05:07"}
    page = member_client.get(
        reverse("messaging:contact_detail", args=[workspace.slug, leyla.public_id])
    ).content.decode()
    assert "1990-03-21" in page
    assert "00:00:00" not in page


def test_a_10mb_file_streams_with_flat_memory(
    workspace: Workspace,
    owner: User,
    tmp_path: Path,
    django_capture_on_commit_callbacks: Callable[..., Any],
    run_import: Callable[..., ContactImport],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # warm up: modules and phone metadata load once per process, not per row
    run_import(workspace, REPORT_FILE)
    monkeypatch.setattr(import_parsing, "CHUNK_ROWS", 500)
    # parse in this process, so that tracemalloc sees the reader and the parser as well
    monkeypatch.setattr(import_parsing, "FORK_PARSER", False)
    # given a file over 10 MB on disk (25,000 rows with a long note column)
    path = tmp_path / "big.csv"
    note = "x" * 420
    with path.open("w", encoding="utf-8") as handle:
        handle.write("phone,first_name,note\n")
        for i in range(25_000):
            handle.write(f"+99450{2000000 + i:07d},Name{i},{note}\n")
    size = path.stat().st_size
    assert size > 10 * 1024 * 1024
    with path.open("rb") as handle:
        contact_import = imports_services.contact_import_create(
            workspace=workspace,
            uploaded=UploadedFile(handle, name="big.csv", size=size),
        )
    with django_capture_on_commit_callbacks(execute=False):
        imports_services.contact_import_configure(
            workspace=workspace,
            contact_import=contact_import,
            actor=owner,
            options=imports_services.ImportOptions(
                mapping=contact_import.mapping, consent_confirmed=True
            ),
        )
    # when the run is traced
    tracemalloc.start()  # (tracing is slow: the run may take more than one time slice)
    while imports_services.contact_import_run(workspace=workspace, import_id=contact_import.pk):
        pass
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # then everything is imported, and the run held a chunk and the file's phone map (about
    # 100 bytes a row), never the file
    contact_import.refresh_from_db()
    assert summary(contact_import)["created"] == 25_000
    assert peak < size * 0.7, (peak, size)


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "contacts.csv", "not a spreadsheet"),
        (b"%PDF-1.7\n" + b"\x00" * 100, "contacts.xlsx", "not a spreadsheet"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "contacts.xls", "old Excel"),
        (bytes(range(256)) * 20, "contacts.csv", "not a text table"),
        (b"", "contacts.csv", "empty"),
    ],
)
def test_non_tabular_files_are_refused_by_content(
    workspace: Workspace, content: bytes, name: str, message: str
) -> None:
    with pytest.raises(ValidationError) as excinfo:
        upload(workspace, content, name)
    assert message in excinfo.value.message_dict["file"][0]
    assert not ContactImport.objects.for_workspace(workspace).exists()


def test_a_zip_that_is_not_a_workbook_is_refused_by_the_worker(
    workspace: Workspace, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with django_capture_on_commit_callbacks(execute=True):
        contact_import = upload(workspace, buffer.getvalue(), "contacts.xlsx")
    contact_import.refresh_from_db()
    assert contact_import.status == ContactImport.Status.FAILED
    assert "not an Excel workbook" in contact_import.error


def test_an_oversized_file_is_refused(workspace: Workspace, settings: Any) -> None:
    settings.IMPORT_MAX_BYTES = 1024 * 1024
    with pytest.raises(ValidationError) as excinfo:
        upload(workspace, b"phone\n" + b"0501234567\n" * 120_000)
    assert "the limit is 1 MB" in excinfo.value.message_dict["file"][0]


def test_consent_confirmation_is_required(workspace: Workspace) -> None:
    contact_import = upload(workspace, REPORT_FILE)
    with pytest.raises(ValidationError) as excinfo:
        imports_services.contact_import_configure(
            workspace=workspace,
            contact_import=contact_import,
            options=imports_services.ImportOptions(
                mapping=contact_import.mapping, consent_confirmed=False
            ),
        )
    assert "consent_confirmed" in excinfo.value.message_dict
    contact_import.refresh_from_db()
    assert contact_import.status == ContactImport.Status.UPLOADED


def test_mapping_needs_a_phone_column(workspace: Workspace) -> None:
    contact_import = upload(workspace, REPORT_FILE)
    with pytest.raises(ValidationError) as excinfo:
        imports_services.contact_import_configure(
            workspace=workspace,
            contact_import=contact_import,
            options=imports_services.ImportOptions(
                mapping={"first_name": 1}, consent_confirmed=True
            ),
        )
    assert "mapping" in excinfo.value.message_dict


def test_header_guess_and_preview(workspace: Workspace) -> None:
    contact_import = upload(workspace, REPORT_FILE)
    assert contact_import.has_header
    assert contact_import.columns == ["Phone", "First name", "City", "Tags"]
    assert contact_import.mapping == {
        "phone": 0, "first_name": 1, "tags": 3, "attributes": {"city": 2},
    }  # fmt: skip
    assert contact_import.preview_rows[0] == ["050 111 11 11", "New", "Baku", "vip"]
    headerless = upload(workspace, b"0501234567;Aysel\n0551234567;Orxan\n")
    assert not headerless.has_header
    assert headerless.mapping["phone"] == 0


def test_utf8_sample_cut_inside_a_character_is_still_utf8() -> None:
    text = ("phone,name\n" + "0501234567,Ə\n" * 10).encode()
    assert detect_encoding(text[:-2]) == "utf-8"
    assert codecs.BOM_UTF8 not in text


def test_an_erased_number_is_not_imported_again(
    workspace: Workspace,
    owner: User,
    other_workspace: Workspace,
    run_import: Callable[..., ContactImport],
) -> None:
    from privacy.services import recipient_erase

    # given: one number erased in this workspace, another erased platform-wide
    recipient_erase(workspace=workspace, phone="+994501112233", actor=owner)
    recipient_erase(workspace=None, phone="+994501112244", actor=owner)
    content = b"phone,first_name\n0501112233,Erased\n0501112244,Everywhere\n0501112255,Kept\n"

    # when: a file with them is imported here and in another workspace
    here = run_import(workspace, content)
    there = run_import(other_workspace, content)

    # then: neither erased number comes back here; only the platform-wide one stays out there
    assert set(Contact.objects.filter(workspace=workspace).values_list("phone", flat=True)) == {
        "+994501112255"
    }
    assert summary(here)["invalid"] == 2
    reasons = set(here.rejections.values_list("line", "reason"))
    assert reasons == {(2, "suppressed"), (3, "suppressed")}
    assert set(
        Contact.objects.filter(workspace=other_workspace).values_list("phone", flat=True)
    ) == {
        "+994501112233",
        "+994501112255",
    }
    assert summary(there)["invalid"] == 1


def test_an_opted_out_column_opts_people_out_and_never_back_in(
    workspace: Workspace,
    run_import: Callable[..., ContactImport],
    make_contact: Callable[..., Contact],
) -> None:
    # given: one contact already opted out, whom the file lists as not opted out
    stopped = make_contact(workspace, "+994504444444", first_name="Old")
    contacts_services.contact_opt_out(workspace=workspace, contact=stopped, reason="STOP")
    content = (
        "phone,name,Unsubscribed\n"
        "+994501111111,Ayla,yes\n"
        "+994502222222,Rauf,\n"
        "+994503333333,Nigar,Bəli\n"
        "+994504444444,Old,no\n"
    ).encode()
    # when: the column is recognised by its header
    contact_import = run_import(workspace, content)
    # then
    assert contact_import.mapping["opted_out"] == 2
    contacts = {c.phone: c for c in Contact.objects.for_workspace(workspace)}
    assert contacts["+994501111111"].opted_out_at is not None
    assert contacts["+994501111111"].opt_out_source == "import"
    assert contacts["+994503333333"].opted_out_at is not None
    assert contacts["+994502222222"].opted_out_at is None
    assert contacts["+994504444444"].opted_out_at is not None  # "no" never opts back in
    assert summary(contact_import)["opted_out"] == 3


def test_a_cancelled_import_stops_before_its_next_chunk_and_keeps_what_it_wrote(
    workspace: Workspace,
    owner: User,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Callable[..., Any],
    member_client: Any,
) -> None:
    from django.urls import reverse

    monkeypatch.setattr(import_parsing, "CHUNK_ROWS", 3)
    contact_import = upload(workspace, REPORT_FILE)
    with django_capture_on_commit_callbacks(execute=False):
        imports_services.contact_import_configure(
            workspace=workspace,
            contact_import=contact_import,
            actor=owner,
            options=imports_services.ImportOptions(
                mapping=contact_import.mapping, consent_confirmed=True
            ),
        )
    assert imports_services.contact_import_run(
        workspace=workspace, import_id=contact_import.pk, time_budget=0
    )
    # when: the user stops it from the progress page
    response = member_client.post(
        reverse("messaging:import_cancel", args=[workspace.slug, contact_import.public_id])
    )
    assert response.status_code == 302
    # then: the next slice of the task does nothing more
    assert (
        imports_services.contact_import_run(workspace=workspace, import_id=contact_import.pk)
        is False
    )
    contact_import.refresh_from_db()
    assert contact_import.status == ContactImport.Status.CANCELLED
    assert contact_import.cursor == 3
    assert Contact.objects.for_workspace(workspace).count() == 3
    page = member_client.get(
        reverse("messaging:import_detail", args=[workspace.slug, contact_import.public_id])
    )
    assert 'data-testid="import-cancelled"' in page.content.decode()
    with pytest.raises(ValidationError):
        imports_services.contact_import_cancel(
            workspace=workspace, contact_import=contact_import, actor=owner
        )


def test_uploaded_files_are_deleted_days_after_the_import_ends(
    workspace: Workspace, run_import: Callable[..., ContactImport], settings: Any
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    settings.IMPORT_FILE_RETENTION_DAYS = 7
    done = run_import(workspace, REPORT_FILE)
    never_mapped = upload(workspace, REPORT_FILE, "later.csv")
    storage, done_name = done.file.storage, done.file.name
    assert storage.exists(done_name)

    assert import_services.contact_import_files_purge() == 0  # too recent
    later = timezone.now() + timedelta(days=8)
    assert import_services.contact_import_files_purge(now=later) == 2
    done.refresh_from_db()
    never_mapped.refresh_from_db()
    assert not storage.exists(done_name)
    assert done.file_deleted_at is not None
    assert never_mapped.file_deleted_at is not None
    assert summary(done)["rows"] == 9  # the report stays
    assert import_services.contact_import_files_purge(now=later) == 0


def test_a_cell_too_long_for_csv_fails_the_import_in_words(
    workspace: Workspace, run_import: Callable[..., ContactImport]
) -> None:
    """It failed with Python's own "Error: field larger than field limit (131072)"."""
    content = b"phone,note\n+994501234567,short\n+994501234568," + b"x" * 200_000 + b"\n"

    contact_import = run_import(workspace, content)

    assert contact_import.status == ContactImport.Status.FAILED
    assert "Line 3 holds a cell of more than 131,072 characters" in contact_import.error
    assert "field larger" not in contact_import.error
