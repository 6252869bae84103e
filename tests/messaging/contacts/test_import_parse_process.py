"""The parse process of an import (messaging/services/import_parsing.py): rows are parsed in a
forked process and streamed to the writer. What a user notices: the same report, the import
stops cleanly when a time slice ends or the parser dies, and no process is left behind."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import User, Workspace
from messaging.contacts.models import Contact
from messaging.imports import parsing as import_parsing
from messaging.imports import services
from messaging.imports.files import FileRejected
from messaging.imports.models import ContactImport

pytestmark = pytest.mark.django_db

ROWS = 40
CSV = ("phone;first_name\n" + "".join(f"050 {2000000 + i};Name{i}\n" for i in range(ROWS))).encode()


@pytest.fixture(autouse=True)
def _small_chunks(settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    monkeypatch.setattr(import_parsing, "CHUNK_ROWS", 10)
    assert import_parsing.FORK_PARSER, "these tests are about the forked parse process"


@pytest.fixture
def configured(
    workspace: Workspace, owner: User, django_capture_on_commit_callbacks: Callable[..., Any]
) -> ContactImport:
    contact_import = services.contact_import_create(
        workspace=workspace, uploaded=SimpleUploadedFile("contacts.csv", CSV)
    )
    with django_capture_on_commit_callbacks(execute=False):  # the test runs the slices
        services.contact_import_configure(
            workspace=workspace,
            contact_import=contact_import,
            actor=owner,
            options=services.ImportOptions(mapping=contact_import.mapping, consent_confirmed=True),
        )
    return contact_import


def _parse_processes() -> list[int]:
    """Parse processes still running, or exited but never reaped (zombies)."""
    return sorted(import_parsing.running)


def test_rows_are_parsed_in_another_process(
    workspace: Workspace, configured: ContactImport, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a parser that notes, in this process's memory, each chunk it prepares
    prepared_here: list[int] = []
    original = import_parsing.prepare_chunk

    def noting(*args: Any, **kwargs: Any) -> import_parsing.Prepared:
        prepared_here.append(os.getpid())
        return original(*args, **kwargs)

    monkeypatch.setattr(import_parsing, "prepare_chunk", noting)
    # when
    assert services.contact_import_run(workspace=workspace, import_id=configured.pk) is False
    # then the whole file was imported, though no chunk was prepared in this process
    assert prepared_here == []
    configured.refresh_from_db()
    assert configured.status == ContactImport.Status.COMPLETED
    assert configured.created_count == ROWS
    assert _parse_processes() == []


def test_a_time_slice_that_ends_mid_file_stops_the_parse_process(
    workspace: Workspace, configured: ContactImport
) -> None:
    # when a slice ends after its first chunk
    more = services.contact_import_run(workspace=workspace, import_id=configured.pk, time_budget=0)
    # then the parser is gone, and the next slices resume where this one stopped
    assert more is True
    assert _parse_processes() == []
    configured.refresh_from_db()
    assert configured.cursor == 10
    while services.contact_import_run(workspace=workspace, import_id=configured.pk, time_budget=0):
        assert _parse_processes() == []
    configured.refresh_from_db()
    assert configured.status == ContactImport.Status.COMPLETED
    assert Contact.objects.for_workspace(workspace).count() == ROWS


def test_a_parse_process_that_dies_fails_the_run_and_keeps_what_was_written(
    workspace: Workspace, configured: ContactImport, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a parser that is killed (say, by the kernel's OOM killer) on its third chunk
    original = import_parsing.prepare_chunk
    calls = {"n": 0}

    def dying(*args: Any, **kwargs: Any) -> import_parsing.Prepared:
        calls["n"] += 1
        if calls["n"] == 3:
            os._exit(137)
        return original(*args, **kwargs)

    monkeypatch.setattr(import_parsing, "prepare_chunk", dying)
    # when
    with pytest.raises(import_parsing.ParseProcessFailed, match="stopped unexpectedly"):
        services.contact_import_run(workspace=workspace, import_id=configured.pk)
    # then the two chunks written stay, counted; nothing is left running
    configured.refresh_from_db()
    assert configured.cursor == 20
    assert configured.created_count == 20
    assert Contact.objects.for_workspace(workspace).count() == 20
    assert _parse_processes() == []


def test_an_error_in_the_parse_process_reaches_the_writer(
    workspace: Workspace,
    configured: ContactImport,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # given a parser that hits a bug on its second chunk
    original = import_parsing.prepare_chunk
    calls = {"n": 0}

    def buggy(*args: Any, **kwargs: Any) -> import_parsing.Prepared:
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyError("a bug")
        return original(*args, **kwargs)

    monkeypatch.setattr(import_parsing, "prepare_chunk", buggy)
    # when
    with pytest.raises(import_parsing.ParseProcessFailed, match="could not be read"):
        services.contact_import_run(workspace=workspace, import_id=configured.pk)
    # then the traceback is logged here, from the other process
    assert "KeyError: 'a bug'" in caplog.text
    configured.refresh_from_db()
    assert configured.cursor == 10


def test_a_file_the_reader_refuses_mid_way_fails_the_import_with_its_message(
    workspace: Workspace, configured: ContactImport, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a reader that finds the file broken after 20 rows
    original = import_parsing.prepare_chunk
    calls = {"n": 0}

    def refusing(*args: Any, **kwargs: Any) -> import_parsing.Prepared:
        calls["n"] += 1
        if calls["n"] == 3:
            raise FileRejected("Row 21 is not valid text in this encoding.")
        return original(*args, **kwargs)

    monkeypatch.setattr(import_parsing, "prepare_chunk", refusing)
    # when
    assert services.contact_import_run(workspace=workspace, import_id=configured.pk) is False
    # then the user reads why, and keeps the 20 rows already imported
    configured.refresh_from_db()
    assert configured.status == ContactImport.Status.FAILED
    assert configured.error == "Row 21 is not valid text in this encoding."
    assert configured.created_count == 20
    assert _parse_processes() == []


def test_a_thread_loading_phone_metadata_at_fork_time_does_not_hang_the_parser(
    workspace: Workspace, configured: ContactImport, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given another thread of the worker (a thread pool) that holds phonenumbers' metadata
    # lock while the import forks its parse process
    import threading
    import time

    from phonenumbers.phonemetadata import PhoneMetadata

    lock = PhoneMetadata._metadata_lock
    held = threading.Event()

    def load_metadata() -> None:
        with lock:
            held.set()
            time.sleep(0.3)

    original = import_parsing.prepare_chunk

    def needing_metadata(*args: Any, **kwargs: Any) -> import_parsing.Prepared:
        # a region loaded for the first time takes this lock in the parse process
        if not lock.acquire(timeout=3):
            raise RuntimeError("the metadata lock was copied held into the parse process")
        lock.release()
        return original(*args, **kwargs)

    monkeypatch.setattr(import_parsing, "prepare_chunk", needing_metadata)
    loader = threading.Thread(target=load_metadata)
    loader.start()
    held.wait(timeout=5)
    # when
    try:
        more = services.contact_import_run(workspace=workspace, import_id=configured.pk)
    finally:
        loader.join()
    # then the fork waited for the lock, and the parser found it free
    assert more is False
    configured.refresh_from_db()
    assert configured.status == ContactImport.Status.COMPLETED
    assert configured.created_count == ROWS
