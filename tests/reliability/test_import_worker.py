"""An import under a REAL Celery worker with the prefork pool, as the `imports` queue runs in
production (Procfile, docker-compose.yml): the pool's child process forks the parse process
(messaging/services/import_parsing.py), and the import must complete with the exact report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from messaging.contacts.models import Contact
from messaging.imports import services
from messaging.imports.models import ContactImport

from .conftest import CeleryWorker, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(300)]


def test_an_import_completes_under_the_prefork_worker_with_the_exact_report(
    workspace: Any, owner: Any, celery_worker: CeleryWorker, settings: Any, tmp_path: Path
) -> None:
    # given a 5,000-row file (three chunks): 4,600 good numbers, 200 bad, 200 repeated
    media = tmp_path / "media"
    settings.MEDIA_ROOT = str(media)
    celery_worker.env["MEDIA_ROOT"] = str(media)
    lines = ["phone;first_name"]
    for i in range(5000):
        if i % 25 == 1:
            lines.append(f"12{i};Bad{i}")  # 200 rows: not a number anywhere
        elif i % 25 == 2:
            lines.append(f"+994 50 {2000000 + i - 2};Again{i}")  # 200: the row before last
        else:
            lines.append(f"050 {2000000 + i};Name{i}")
    content = ("\n".join(lines) + "\n").encode()
    contact_import = services.contact_import_create(
        workspace=workspace, uploaded=SimpleUploadedFile("contacts.csv", content)
    )
    services.contact_import_configure(  # commits: the task goes to the worker's broker
        workspace=workspace,
        contact_import=contact_import,
        actor=owner,
        options=services.ImportOptions(mapping=contact_import.mapping, consent_confirmed=True),
    )
    # when the worker (prefork pool) takes the task
    celery_worker.start(pool="prefork")

    def finished() -> bool:
        return ContactImport.objects.filter(
            pk=contact_import.pk,
            status__in=[ContactImport.Status.COMPLETED, ContactImport.Status.FAILED],
        ).exists()

    wait_for(
        finished,
        timeout=120,
        interval=0.5,
        what="the import finishes in the worker",
        diagnose=lambda: celery_worker.log_tail(),
    )
    # then
    contact_import.refresh_from_db()
    assert contact_import.status == ContactImport.Status.COMPLETED, contact_import.error
    assert services.contact_import_summary(contact_import) == {
        "rows": 5000, "created": 4600, "updated": 0, "unchanged": 0,
        "duplicates": 200, "invalid": 200, "opted_out": 0,
    }  # fmt: skip
    assert Contact.objects.for_workspace(workspace).count() == 4600
    assert contact_import.rejections.count() == 400
    duplicate = contact_import.rejections.get(line=4)  # data row 3 (i=2) repeats row 1 (i=0)
    assert duplicate.reason == "duplicate"
    assert duplicate.text == "Same phone number as line 2."  # put in words when read
