"""Reads of contact imports and their rejections, scoped to a workspace."""

from __future__ import annotations

import uuid

from django.db.models import (
    QuerySet,
)

from accounts.models import Workspace
from core.queries import get_or_404
from messaging.imports.models import ContactImport, ContactImportRejection


def get_contact_import_for_workspace(
    *, workspace: Workspace, import_id: uuid.UUID | str
) -> ContactImport:
    return get_or_404(ContactImport.objects.for_workspace(workspace), public_id=import_id)


def contact_imports_of_workspace(*, workspace: Workspace) -> QuerySet[ContactImport]:
    return ContactImport.objects.for_workspace(workspace).order_by("-created_at")


def contact_import_rejections(
    *, workspace: Workspace, contact_import: ContactImport
) -> QuerySet[ContactImportRejection]:
    return (
        ContactImportRejection.objects.for_workspace(workspace)
        .filter(contact_import=contact_import)
        .order_by("line", "pk")
    )
