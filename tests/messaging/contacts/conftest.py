"""Fixtures for contact, import, template and API tests (real Postgres)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import User, Workspace
from messaging.contacts import services
from messaging.contacts.models import Contact
from messaging.imports import services as imports_services
from messaging.imports.models import ContactImport


@pytest.fixture
def make_contact(db: None) -> Callable[..., Contact]:
    def make(workspace: Workspace, phone: str = "+994501234567", **fields: Any) -> Contact:
        return services.contact_create(workspace=workspace, data={"phone": phone, **fields})

    return make


def upload(
    workspace: Workspace, content: bytes, name: str = "contacts.csv", actor: User | None = None
) -> ContactImport:
    return imports_services.contact_import_create(
        workspace=workspace, uploaded=SimpleUploadedFile(name, content), actor=actor
    )


@pytest.fixture
def run_import(
    django_capture_on_commit_callbacks: Callable[..., Any], owner: User
) -> Callable[..., ContactImport]:
    """Upload, map and run to the end (the task runs eagerly on commit)."""

    def run(
        workspace: Workspace,
        content: bytes,
        name: str = "contacts.csv",
        mapping: dict[str, Any] | None = None,
        **options: Any,
    ) -> ContactImport:
        with django_capture_on_commit_callbacks(execute=True):  # a workbook: read by the worker
            contact_import = upload(workspace, content, name, actor=owner)
        contact_import.refresh_from_db()
        with django_capture_on_commit_callbacks(execute=True):
            imports_services.contact_import_configure(
                workspace=workspace,
                contact_import=contact_import,
                actor=owner,
                options=imports_services.ImportOptions(
                    mapping=mapping or contact_import.mapping,
                    consent_confirmed=True,
                    consent_source="Website form",
                    **options,
                ),
            )
        contact_import.refresh_from_db()
        return contact_import

    return run
