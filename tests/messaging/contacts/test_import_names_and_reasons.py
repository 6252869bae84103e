"""Imports as a user sees them: whole-name columns split into first and last name (English,
Azerbaijani, Russian headers), a header without a phone column, a column named like a contact
field, rejection reasons in the reader's language, and the finished notice's plural."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation
from openpyxl import Workbook

from accounts.models import Notification, User, Workspace
from messaging.contacts.models import Contact
from messaging.content.rendering import contact_values_of, render
from messaging.imports import services as imports_services
from messaging.imports.models import ContactImport, ContactImportRejection

from .conftest import upload

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media_root(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")


def xlsx(rows: list[list[Any]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def names(workspace: Workspace) -> dict[str, tuple[str, str]]:
    return {c.phone: (c.first_name, c.last_name) for c in Contact.objects.for_workspace(workspace)}


def greeting(workspace: Workspace, phone: str) -> str:
    contact = Contact.objects.for_workspace(workspace).get(phone=phone)
    values = contact_values_of(contact)
    return render("Salam {{first_name}} ({{full_name}})", values=values, seed="x").text


@pytest.mark.parametrize(
    "header", ["Full name", "FULL NAME", " full_name ", "Ad Soyad", "Ad və soyad", "Полное имя"]
)
def test_an_xlsx_full_name_column_is_split_into_first_and_last_name(
    workspace: Workspace, run_import: Callable[..., ContactImport], header: str
) -> None:
    # given a workbook whose names are in one column
    content = xlsx([["Phone", header], ["+994501234567", "Şəhla Əliyeva"], [994551234567, "Aysel"]])
    # when
    contact_import = run_import(workspace, content, "clients.xlsx")
    # then
    assert contact_import.status == ContactImport.Status.COMPLETED
    assert names(workspace) == {
        "+994501234567": ("Şəhla", "Əliyeva"),
        "+994551234567": ("Aysel", ""),
    }
    assert greeting(workspace, "+994501234567") == "Salam Şəhla (Şəhla Əliyeva)"
    assert all(not c.attributes for c in Contact.objects.for_workspace(workspace))


def test_a_russian_fio_column_reads_surname_first(
    workspace: Workspace, run_import: Callable[..., ContactImport]
) -> None:
    content = "Телефон;ФИО\n+79161234567;Иванов Иван Петрович\n0501234567;Петрова Ольга\n"
    run_import(workspace, content.encode())
    assert names(workspace) == {
        "+79161234567": ("Иван Петрович", "Иванов"),
        "+994501234567": ("Ольга", "Петрова"),
    }
    assert greeting(workspace, "+994501234567") == "Salam Ольга (Ольга Петрова)"


def test_a_csv_name_column_is_a_full_name_but_beside_a_surname_the_first_name(
    workspace: Workspace, run_import: Callable[..., ContactImport]
) -> None:
    run_import(workspace, "Name,Phone\nŞəhla Əliyeva,0501234567\n".encode())
    assert names(workspace) == {"+994501234567": ("Şəhla", "Əliyeva")}
    assert greeting(workspace, "+994501234567") == "Salam Şəhla (Şəhla Əliyeva)"

    run_import(workspace, b"Name,Surname,Phone\nAnna Maria,Smith,0551234567\n")
    assert names(workspace)["+994551234567"] == ("Anna Maria", "Smith")


def test_the_mapping_page_shows_how_names_split_and_offers_both_orders(
    workspace: Workspace, member_client: Any
) -> None:
    contact_import = upload(workspace, "Phone,Full name\n0501234567,Şəhla Əliyeva\n".encode())
    page = member_client.get(
        f"/w/{workspace.slug}/contacts/imports/{contact_import.public_id}/"
    ).content.decode()
    assert "“Şəhla Əliyeva” → first name “Şəhla”, last name “Əliyeva”" in page
    assert "Full name: surname, then first name" in page  # the user can change the order
    # the other order's example is there, hidden until chosen
    assert "“Şəhla Əliyeva” → first name “Əliyeva”, last name “Şəhla”" in page


def test_a_column_named_like_a_contact_field_is_never_an_attribute(
    workspace: Workspace, run_import: Callable[..., ContactImport]
) -> None:
    # given: the user picked "Attribute" for "Full name" and "Country" (the API, or the form)
    contact_import = upload(workspace, b"Phone,Full name,Country\n0501234567,Ali Veli,AZ\n")
    with pytest.raises(ValidationError) as excinfo:
        imports_services.contact_import_configure(
            workspace=workspace,
            contact_import=contact_import,
            options=imports_services.ImportOptions(
                mapping={"phone": 0, "attributes": {"Full name": 1, "Country": 2}},
                consent_confirmed=True,
            ),
        )
    assert "{{country}} is a contact field" in " ".join(excinfo.value.messages)
    # the guess itself maps "Full name" to the name and leaves "Country" out
    assert contact_import.mapping == {"phone": 0, "full_name": 1, "attributes": {}}


def test_a_file_without_a_phone_column_still_has_its_header(workspace: Workspace) -> None:
    contact_import = upload(workspace, "Name,City\nAysel,Bakı\nOrxan,Gəncə\n".encode())
    assert contact_import.has_header
    assert contact_import.columns == ["Name", "City"]
    assert contact_import.preview_rows == [["Aysel", "Bakı"], ["Orxan", "Gəncə"]]
    # rows of names are not taken for a header
    headerless = upload(workspace, "Aysel,Bakı\nOrxan,Gəncə\n".encode())
    assert not headerless.has_header
    assert headerless.columns == ["#1", "#2"]


REPORT = b"phone,first_name\n0501234567,A\n0501234567,B\n12345,C\n"


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            "ru",
            [
                "Тот же номер телефона, что и в строке 2.",
                "«12345» — слишком короткий номер телефона.",
            ],
        ),
        (
            "az",
            [
                "2 nömrəli sətirdəki ilə eyni telefon nömrəsi.",
                "“12345” telefon nömrəsi üçün çox qısadır.",
            ],
        ),
    ],
)
def test_the_report_reads_its_reasons_in_the_readers_language(
    workspace: Workspace,
    run_import: Callable[..., ContactImport],
    member_client: Any,
    language: str,
    expected: list[str],
) -> None:
    # given an import run by an English-speaking worker
    with translation.override("en"):
        contact_import = run_import(workspace, REPORT)
    rejections = ContactImportRejection.objects.for_workspace(workspace).order_by("line")
    # when the report is read in another language, then its reasons are in that language
    with translation.override(language):
        assert [r.text for r in rejections] == expected
    with translation.override("en"):
        assert [r.text for r in rejections] == [
            "Same phone number as line 2.",
            "“12345” is too short to be a phone number.",
        ]
    # and so are the report page and its CSV, asked for in that language (the override only
    # puts the test's own language back after the requests)
    base = f"/w/{workspace.slug}/contacts/imports/{contact_import.public_id}"
    with translation.override("en"):
        page = member_client.get(f"{base}/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
        csv = b"".join(
            member_client.get(
                f"{base}/rejected.csv", HTTP_ACCEPT_LANGUAGE=language
            ).streaming_content
        ).decode("utf-8-sig")
    for body in (page, csv):
        assert "Same phone number" not in body
        assert expected[0] in body
        assert expected[1] in body


def test_a_reason_stored_as_english_text_before_the_change_stays_readable(
    workspace: Workspace, run_import: Callable[..., ContactImport]
) -> None:
    contact_import = run_import(workspace, REPORT)
    ContactImportRejection.objects.for_workspace(workspace).update(
        params=None, message="Same phone number as line 2."
    )
    with translation.override("ru"):
        assert [r.text for r in contact_import.rejections.order_by("line")] == [
            "Same phone number as line 2.",
            "Same phone number as line 2.",
        ]


def test_the_finished_notice_says_one_invalid_row(
    workspace: Workspace, run_import: Callable[..., ContactImport], mailoutbox: list[Any]
) -> None:
    run_import(workspace, b"phone\n0501234567\n123\n")
    notice = Notification.objects.filter(workspace=workspace, kind="import_finished").get()
    with translation.override("en"):
        assert notice.display_text.endswith("1 created, 0 updated, 1 invalid row.")
    assert notice.text.endswith("1 invalid row.")
    assert [m.subject for m in mailoutbox] == [
        "[iSend] Import of contacts.csv finished: 1 created, 0 updated, 1 invalid row"
    ]
    assert "1 invalid row." in mailoutbox[0].body
    run_import(workspace, b"phone\n1\n2\n")
    latest = Notification.objects.filter(kind="import_finished").order_by("-pk").first()
    assert latest is not None
    with translation.override("en"):
        assert latest.display_text.endswith("0 created, 0 updated, 2 invalid rows.")


def test_a_tab_separated_file_names_its_separator(
    workspace: Workspace, owner: User, member_client: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """The mapping page says “TAB” for a tab-separated file (it printed the tab itself)."""
    from django.urls import reverse

    content = "phone\tfirst_name\n+994501112233\tLeyla\n".encode("utf-16")
    with django_capture_on_commit_callbacks(execute=True):
        contact_import = upload(workspace, content, "contacts.txt", actor=owner)

    page = member_client.get(
        reverse("messaging:import_detail", args=[workspace.slug, contact_import.public_id])
    ).content.decode()

    assert "separator “TAB”" in page


def test_ticking_the_header_box_reads_the_columns_again(
    workspace: Workspace, owner: User, member_client: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """A first row the upload took for data (a name and a number) is made the header, then
    data again: the columns are named from it and their roles guessed again each time."""
    from django.urls import reverse

    content = "Müştəri,Nömrə\nLeyla,+994501112233\nAysel,+994501112244\n".encode()
    with django_capture_on_commit_callbacks(execute=True):
        contact_import = upload(workspace, content, actor=owner)
    url = reverse("messaging:import_detail", args=[workspace.slug, contact_import.public_id])
    was_header = ContactImport.objects.get(pk=contact_import.pk).has_header

    member_client.post(url, {"reread_header": "1", **({} if was_header else {"has_header": "on"})})
    flipped = ContactImport.objects.get(pk=contact_import.pk)
    member_client.post(url, {"reread_header": "1", **({"has_header": "on"} if was_header else {})})
    back = ContactImport.objects.get(pk=contact_import.pk)

    with_header, without = (back, flipped) if was_header else (flipped, back)
    assert with_header.columns == ["Müştəri", "Nömrə"]
    assert with_header.preview_rows[0] == ["Leyla", "+994501112233"]
    assert without.columns == ["#1", "#2"]
    assert without.preview_rows[0] == ["Müştəri", "Nömrə"]
    assert with_header.mapping.get("phone") is not None  # the number column is found each way
    assert without.mapping.get("phone") is not None
    assert "Read the columns again" in member_client.get(url).content.decode()
