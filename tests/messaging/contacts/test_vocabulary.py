"""The workspace's vocabulary of tags and attribute names (filter menus, template validation)
and the contacts page's capped count: what stays fast at a million contacts must still be
right."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client

from accounts.models import User, Workspace
from messaging.contacts import selectors
from messaging.contacts import services as contacts_services
from messaging.contacts import views as contact_views
from messaging.contacts.models import Contact
from messaging.contacts.services import BulkAction, UpsertRow
from messaging.imports import services as imports_services
from privacy import services as privacy_services

pytestmark = pytest.mark.django_db


def tags(workspace: Workspace) -> list[str]:
    return selectors.contact_tags_of_workspace(workspace=workspace)


def attributes(workspace: Workspace) -> set[str]:
    return selectors.contact_attribute_keys(workspace=workspace)


def test_an_import_registers_its_tags_and_columns(
    workspace: Workspace,
    owner: User,
    settings: Any,
    tmp_path: Path,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    settings.MEDIA_ROOT = str(tmp_path)
    content = "Telefon;Ad;Şəhər;Tags\n050 123 45 67;Aysel;Bakı;vip, spring\n".encode()
    contact_import = imports_services.contact_import_create(
        workspace=workspace, uploaded=SimpleUploadedFile("c.csv", content)
    )
    with django_capture_on_commit_callbacks(execute=True):
        imports_services.contact_import_configure(
            workspace=workspace,
            contact_import=contact_import,
            actor=owner,
            options=imports_services.ImportOptions(
                mapping=contact_import.mapping, consent_confirmed=True, tags=["import-1"]
            ),
        )
    assert tags(workspace) == ["import-1", "spring", "vip"]
    assert attributes(workspace) == {"city"}  # "Şəhər" is the common `city`


def test_every_writer_registers_names_and_other_workspaces_see_none(
    workspace: Workspace, other_workspace: Workspace, make_contact: Callable[..., Contact]
) -> None:
    # the service, the bulk upsert, a bulk tag and a raw UPDATE (as the admin or a fix would)
    contact = make_contact(workspace, tags=["a"], attributes={"city": "Baku"})
    contacts_services.contacts_upsert_rows(
        workspace=workspace, rows=[UpsertRow(phone="+994551234567", tags=["b"])]
    )
    contacts_services.contacts_bulk_action(
        workspace=workspace,
        contacts=Contact.objects.for_workspace(workspace),
        action=BulkAction.TAG,
        tag="c",
    )
    Contact.objects.filter(pk=contact.pk).update(attributes={"city": "Baku", "plan": "gold"})
    assert tags(workspace) == ["a", "b", "c"]
    assert attributes(workspace) == {"city", "plan"}
    assert tags(other_workspace) == []
    assert attributes(other_workspace) == set()


def test_untagging_and_deleting_forget_names_nobody_uses(
    workspace: Workspace, make_contact: Callable[..., Contact]
) -> None:
    first = make_contact(workspace, phone="+994501111111", tags=["vip", "old"])
    make_contact(workspace, phone="+994502222222", tags=["vip"], attributes={"city": "Gəncə"})
    everyone = Contact.objects.for_workspace(workspace)
    # when "vip" is taken off one contact, another still has it: it stays
    contacts_services.contacts_bulk_action(
        workspace=workspace, contacts=everyone.filter(pk=first.pk), action=BulkAction.UNTAG,
        tag="vip",
    )  # fmt: skip
    assert tags(workspace) == ["old", "vip"]
    # when "old" is taken off its only contact, it goes
    contacts_services.contacts_bulk_action(
        workspace=workspace, contacts=everyone, action=BulkAction.UNTAG, tag="old"
    )
    assert tags(workspace) == ["vip"]
    # deleting the last contact with a name forgets it too
    contacts_services.contacts_bulk_action(
        workspace=workspace, contacts=everyone.exclude(pk=first.pk), action=BulkAction.DELETE
    )
    assert tags(workspace) == []
    assert attributes(workspace) == set()


def test_the_daily_prune_catches_edits_and_erasure_forgets_a_name_only_they_had(
    workspace: Workspace, make_contact: Callable[..., Contact]
) -> None:
    kept = make_contact(workspace, phone="+994501111111", tags=["vip"])
    make_contact(workspace, phone="+994502222222", tags=["vip", "Aysel's cousin"])
    # erasure takes a name only the erased person had, at once
    privacy_services.recipient_erase(workspace=workspace, phone="+994502222222", actor=None)
    assert tags(workspace) == ["vip"]
    # an edit that drops the last "vip" leaves it listed until the daily prune
    Contact.objects.filter(pk=kept.pk).update(tags=[])
    assert tags(workspace) == ["vip"]
    from messaging.contacts.tasks import contact_vocabulary_prune_task

    assert contact_vocabulary_prune_task() == 1
    assert tags(workspace) == []


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_of_the_same_new_names_neither_deadlock_nor_duplicate(
    workspace: Workspace,
) -> None:
    # given two transactions that write contacts with the same new tags, in opposite orders
    barrier = threading.Barrier(2, timeout=10)
    errors: list[BaseException] = []

    def write(phone_base: int, tag_order: list[str]) -> None:
        try:
            from django.db import transaction

            with transaction.atomic():
                for offset, tag in enumerate(tag_order):
                    contacts_services.contacts_upsert_rows(
                        workspace=workspace,
                        rows=[UpsertRow(phone=f"+99450{phone_base + offset:07d}", tags=[tag])],
                    )
                    if offset == 0:
                        barrier.wait()  # both hold their first name's lock now
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=write, args=(1000000, ["x", "y"])),
        threading.Thread(target=write, args=(2000000, ["y", "x"])),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    # then: neither waits for the other (no lock is taken on a name), and each name is
    # listed once
    assert errors == []
    assert tags(workspace) == ["x", "y"]
    assert Contact.objects.for_workspace(workspace).count() == 4


def test_the_contacts_page_counts_up_to_a_cap(
    workspace: Workspace,
    member_client: Client,
    make_contact: Callable[..., Contact],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for i in range(7):
        make_contact(workspace, phone=f"+99450{1000000 + i}", first_name="Leyla")
    make_contact(workspace, phone="+994559999999", first_name="Orxan")
    base = f"/w/{workspace.slug}/contacts/"
    monkeypatch.setattr(contact_views, "COUNT_CAP", 5)
    monkeypatch.setattr(contact_views, "PAGE_SIZE", 2)
    # more than the cap: said so, and only the counted pages are offered
    page = member_client.get(base).content.decode()
    assert "More than 5 contacts" in page
    assert "1 / 3" in page
    # under the cap: the exact count
    page = member_client.get(base, {"search": "orx"}).content.decode()
    assert "1 contact" in page
    assert "More than" not in page


def test_the_few_matches_ordering_is_the_same_order(
    workspace: Workspace, make_contact: Callable[..., Contact]
) -> None:
    # given contacts, some created at the same instant (ties are broken by id)
    from datetime import timedelta

    from django.utils import timezone

    now = timezone.now()
    for i in range(6):
        contact = make_contact(workspace, phone=f"+99450{1000000 + i}", first_name="Leyla")
        Contact.objects.filter(pk=contact.pk).update(created_at=now - timedelta(hours=i // 2))
    filters = {"search": "ley"}
    usual = selectors.contacts_matching(workspace=workspace, filters=filters)
    few = selectors.contacts_matching(workspace=workspace, filters=filters, few=True)
    assert list(few) == list(usual)
    assert len(usual) == 6
