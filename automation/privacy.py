"""Automation's privacy door: what the privacy app may do with automation's data.

Privacy finds this module at start-up (`privacy.registry`) and calls these functions; they
follow `privacy.registry.PrivacyDoor` without importing privacy. Rules and their runs belong to
a workspace; a run points at a reply and a contact (messaging's), which the recipient erasure
removes, and it keeps no number of its own."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from django.apps import apps

from accounts.models import User, Workspace
from accounts.tenancy import workspace_rows_delete

ExportRows = Callable[[], Iterable[Mapping[str, Any]]]


def export_for_workspaces(*, workspace_ids: list[int]) -> list[tuple[str, ExportRows, list[str]]]:
    return []


def summary_for_workspaces(*, workspace_ids: list[int]) -> list[tuple[str, int]]:
    return []


def workspace_keeps_records(*, workspace: Workspace) -> bool:
    return False


def erase_workspace(*, workspace: Workspace) -> dict[str, int]:
    return workspace_rows_delete(
        workspace=workspace, model_classes=apps.get_app_config("automation").get_models()
    )


def pseudonymise_person(
    *, user_id: int, workspace_ids: list[int], identifiers: list[str], pseudonym: str
) -> int:
    return 0


def recipient_phone(*, workspace: Workspace | None, phone: str) -> str | None:
    return None  # automation keeps no recipients' numbers


def erase_recipient(
    *, workspace: Workspace | None, phone_e164: str, reason: str, actor: User | None
) -> dict[str, int]:
    # Runs of the erased contact's replies go with the replies (a cascade from messaging).
    return {}


def purge_message_bodies(*, now: datetime, batch: int) -> int:
    return 0
