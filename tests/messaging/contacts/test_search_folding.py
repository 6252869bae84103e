"""Contact search folds Azerbaijani letters, accents and the Latin spellings people type
("shirinova", "şirinova", "sirinova" all find "Şirinova"), through a stored, indexed column
that every write path keeps right, including the bulk upsert behind imports."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client

from accounts.models import User, Workspace
from messaging.contacts import selectors, services
from messaging.contacts.models import Contact
from messaging.imports import services as imports_services
from messaging.imports.models import ContactImport

pytestmark = pytest.mark.django_db


def found(workspace: Workspace, term: str) -> set[str]:
    return {
        c.full_name
        for c in selectors.contacts_matching(workspace=workspace, filters={"search": term})
    }


@pytest.fixture
def people(workspace: Workspace, make_contact: Callable[..., Contact]) -> Workspace:
    for i, (first, last) in enumerate(
        [
            ("Aysel", "Şirinova"),
            ("Ramil", "Məmmədov"),
            ("Çiçək", "Ağayeva"),
            ("Gülşən", "Xəlilova"),
            ("İlkin", "Qılıncov"),
            ("Zöhrə", "Ünal"),
            ("Renée", "Dubois"),
            ("Tural", "Həsənli"),
        ]
    ):
        make_contact(workspace, f"+99450100{i:04d}", first_name=first, last_name=last)
    return workspace


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("shirinova", "Aysel Şirinova"),
        ("şirinova", "Aysel Şirinova"),
        ("sirinova", "Aysel Şirinova"),
        ("ŞİRİNOVA", "Aysel Şirinova"),
        ("Shirinova", "Aysel Şirinova"),
        ("aysel shir", "Aysel Şirinova"),
        ("məmmədov", "Ramil Məmmədov"),
        ("memmedov", "Ramil Məmmədov"),
        ("mammadov", "Ramil Məmmədov"),
        ("cicek", "Çiçək Ağayeva"),
        ("chichak", "Çiçək Ağayeva"),
        ("aghayeva", "Çiçək Ağayeva"),
        ("agayeva", "Çiçək Ağayeva"),
        ("gulsen", "Gülşən Xəlilova"),
        ("gulshan", "Gülşən Xəlilova"),
        ("khalilova", "Gülşən Xəlilova"),
        ("xelilova", "Gülşən Xəlilova"),
        ("ilkin qilincov", "İlkin Qılıncov"),
        ("ilkin", "İlkin Qılıncov"),
        ("qilinc", "İlkin Qılıncov"),
        ("zohre", "Zöhrə Ünal"),
        ("unal", "Zöhrə Ünal"),
        ("renee", "Renée Dubois"),
        ("hasanli", "Tural Həsənli"),
        ("  tural   hesenli ", "Tural Həsənli"),
    ],
)
def test_each_spelling_finds_the_contact(people: Workspace, term: str, expected: str) -> None:
    assert found(people, term) == {expected}


def test_a_search_finds_nothing_it_should_not(people: Workspace) -> None:
    assert found(people, "petrov") == set()
    assert found(people, "zz%") == set()
    assert found(people, "_") == set()


def test_the_contacts_page_search_folds_too(people: Workspace, member_client: Client) -> None:
    page = member_client.get(f"/w/{people.slug}/contacts/", {"search": "shirinova"}).content
    text = page.decode()
    assert "Şirinova" in text
    assert "Məmmədov" not in text


def test_renaming_a_contact_updates_what_search_finds(
    workspace: Workspace, make_contact: Callable[..., Contact]
) -> None:
    contact = make_contact(workspace, first_name="Aysel", last_name="Şirinova")
    services.contact_update(workspace=workspace, contact=contact, data={"last_name": "Həsənova"})

    assert found(workspace, "shirinova") == set()
    assert found(workspace, "hasanova") == {"Aysel Həsənova"}
    # A write that bypasses every service (an admin action, a data fix) is covered as well.
    Contact.objects.filter(pk=contact.pk).update(first_name="Çiçək")
    assert found(workspace, "chichek") == {"Çiçək Həsənova"}


def test_the_bulk_upsert_keeps_the_column_right(
    workspace: Workspace, make_contact: Callable[..., Contact]
) -> None:
    make_contact(workspace, "+994501110001", first_name="Old", last_name="Şirinova")
    make_contact(workspace, "+994501110002", first_name="Kept", last_name="Əliyev")

    services.contacts_upsert_rows(
        workspace=workspace,
        rows=[
            # a new name replaces the old one
            services.UpsertRow(phone="+994501110001", first_name="Aysel", last_name="Ağayeva"),
            # a blank name keeps the stored one (the merge rule), and so does the search column
            services.UpsertRow(phone="+994501110002", first_name="", last_name="Məmmədli"),
            services.UpsertRow(phone="+994501110003", first_name="Gülər", last_name="Öztürk"),
        ],
    )

    assert found(workspace, "aghayeva") == {"Aysel Ağayeva"}
    assert found(workspace, "shirinova") == set()
    assert found(workspace, "kept mammadli") == {"Kept Məmmədli"}
    assert found(workspace, "guler ozturk") == {"Gülər Öztürk"}
    stored = dict(Contact.objects.for_workspace(workspace).values_list("phone", "search_text"))
    assert stored == {
        "+994501110001": "aysel agayeva",
        "+994501110002": "kept memmedli | kept mammadli",
        "+994501110003": "guler ozturk | gular ozturk",
    }


def test_an_imported_file_is_searchable_by_any_spelling(
    workspace: Workspace,
    owner: User,
    settings: Any,
    tmp_path: Path,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    settings.MEDIA_ROOT = str(tmp_path)
    csv = "phone;first_name;last_name\n0501234567;Şəhla;Şirinova\n0552223344;Çingiz;Ağazadə\n"
    contact_import = imports_services.contact_import_create(
        workspace=workspace, uploaded=SimpleUploadedFile("people.csv", csv.encode())
    )
    with django_capture_on_commit_callbacks(execute=True):
        imports_services.contact_import_configure(
            workspace=workspace,
            contact_import=contact_import,
            actor=owner,
            options=imports_services.ImportOptions(
                mapping=contact_import.mapping, consent_confirmed=True
            ),
        )
    contact_import.refresh_from_db()
    assert contact_import.status == ContactImport.Status.COMPLETED

    assert found(workspace, "shahla shirinova") == {"Şəhla Şirinova"}
    assert found(workspace, "chingiz aghazade") == {"Çingiz Ağazadə"}


def test_the_search_uses_the_trigram_index(people: Workspace) -> None:
    # Without the workspace condition (a handful of rows: its b-tree would win) and without
    # sequential scans, the plan shows which index the search condition itself can use.
    qs = Contact.objects.filter(selectors.contact_filter_q({"search": "shirinova"}))
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        plan = qs.explain()
    # The term is folded once, at plan time (a constant), and the trigram index answers it.
    assert "'%sirinova%'" in plan
    assert "messaging_contact_search_trgm" in plan


@pytest.mark.django_db(transaction=True)
def test_the_migration_fills_the_column_for_existing_contacts(workspace: Workspace) -> None:
    executor = MigrationExecutor(connection)
    executor.migrate([("messaging", "0016_sender_capped_until")])
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO messaging_contact (public_id, workspace_id, phone, first_name,"
                " last_name, language, country, time_zone, attributes, tags, consent_source,"
                " consent_proof, opt_out_source, opt_out_reason, whatsapp_status,"
                " whatsapp_error, created_via, created_at, updated_at) VALUES"
                " (gen_random_uuid(), %s, '+994501234567', 'Aysel', 'Şirinova', '', '', '',"
                " '{}', '{}', '', '{}', '', '', 'unknown', '', 'manual', now(), now())",
                [workspace.pk],
            )
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
    assert found(workspace, "shirinova") == {"Aysel Şirinova"}
