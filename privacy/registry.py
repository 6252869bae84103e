"""The privacy doors: how privacy reaches the personal data other apps hold.

Every app that holds personal data has a `<app>/privacy.py` module, its *door*, which exports,
counts, erases and purges that app's own data. Privacy never imports those apps and they never
import privacy: at start-up (`PrivacyConfig.ready`) privacy looks for a `privacy` module in every
installed app, checks it has the functions of `PrivacyDoor`, and keeps it here. Doors are kept
in INSTALLED_APPS order, which is the order of their export sections and summary rows.

A door answers for its own app only; the accounts app's data (users, memberships, keys, login
and audit events) is handled inside privacy itself, which sits above accounts. An app with
nothing to do for one of the functions still defines it (returning nothing), so each door says
plainly what its app does with a person's data.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from importlib import import_module
from types import ModuleType
from typing import TYPE_CHECKING, Any, Protocol, cast, runtime_checkable

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.utils.functional import Promise
from django.utils.module_loading import module_has_submodule

if TYPE_CHECKING:
    from accounts.models import User, Workspace

DOOR_MODULE = "privacy"

#: One category of an export: its name (the file name in the archive), a callable giving its
#: rows (called once, when that section is built) and the columns, in order.
ExportSection = tuple[str, Callable[[], Iterable[Mapping[str, Any]]], list[str]]


@runtime_checkable
class PrivacyDoor(Protocol):
    """What an app's `privacy.py` module provides. All functions are keyword-only; counts are
    per model label ("messaging.Contact") unless said otherwise. Writes run inside the caller's
    transaction (privacy's service opens it and writes the audit record in it)."""

    def export_for_workspaces(self, *, workspace_ids: list[int]) -> list[ExportSection]:
        """The app's export sections for these workspaces (the ones the user owns). No
        credentials, tokens or secrets."""
        ...

    def summary_for_workspaces(self, *, workspace_ids: list[int]) -> list[tuple[str, int]]:
        """(category, count) rows for the privacy centre's "what we hold" table."""
        ...

    def workspace_keeps_records(self, *, workspace: Workspace) -> bool:
        """True when the law makes the app keep rows of this workspace after its erasure (the
        workspace row then stays, nameless, as a tombstone holding them)."""
        ...

    def erase_workspace(self, *, workspace: Workspace) -> dict[str, int]:
        """Delete the app's rows of a workspace being erased, except records the law keeps."""
        ...

    def pseudonymise_person(
        self, *, user_id: int, workspace_ids: list[int], identifiers: list[str], pseudonym: str
    ) -> int:
        """An account is being erased: replace the person's identifiers (e-mail, phone, names)
        in records that must be kept. Only records linked to the person by key are touched
        (rows whose user column is `user_id`, rows of `workspace_ids`: the workspaces the person
        alone owned, erased with them), never rows that merely carry the same text: anyone can
        type another tenant's company name into their profile (issue #17 F1). Returns the
        number of fields changed."""
        ...

    def recipient_phone(self, *, workspace: Workspace | None, phone: str) -> str | None:
        """The E.164 form of a recipient's number as typed, read with the workspace's default
        country (the platform's for a platform-wide erasure). None when the app does not keep
        recipients' numbers; ValidationError (a message a person can act on) when it does and
        the number cannot be read."""
        ...

    def erase_recipient(
        self, *, workspace: Workspace | None, phone_e164: str, reason: str, actor: User | None
    ) -> dict[str, int]:
        """Erase one recipient's number in one workspace, or platform-wide when `workspace` is
        None, and keep it from coming back (the suppression list)."""
        ...

    def purge_message_bodies(self, *, now: datetime, batch: int) -> int:
        """Retention: remove the text of messages sent and received (bodies, captions, media
        references) older than their workspace's period at `now`
        (`Workspace.message_text_retention_days`: the owner's choice, else the platform's
        default; `accounts.selectors.message_retention_cutoff` is that cutoff in SQL). The
        delivery record stays. Bulk statements of at most `batch` rows, never a loop over rows.
        Returns the number of messages changed."""
        ...


_doors: dict[str, PrivacyDoor] = {}


def _check(module: ModuleType) -> PrivacyDoor:
    """Fail at start-up, not halfway through an erasure: every function of the protocol, with
    the same keyword-only parameters."""
    for name, member in inspect.getmembers(PrivacyDoor, inspect.isfunction):
        if name.startswith("_"):
            continue
        found = getattr(module, name, None)
        if not callable(found):
            raise ImproperlyConfigured(f"{module.__name__} has no {name}() (privacy door)")
        expected = [p for p in inspect.signature(member).parameters if p != "self"]
        params = inspect.signature(found).parameters
        if list(params) != expected or any(
            p.kind is not inspect.Parameter.KEYWORD_ONLY for p in params.values()
        ):
            raise ImproperlyConfigured(
                f"{module.__name__}.{name} must take exactly the keyword-only arguments "
                f"{', '.join(expected)} (privacy door)"
            )
    return cast(PrivacyDoor, module)


def discover() -> None:
    """Import `<app>.privacy` for every installed app that has one (admin's autodiscover, for
    privacy). Called from `PrivacyConfig.ready()`."""
    _doors.clear()
    for config in apps.get_app_configs():
        if config.name == "privacy" or not module_has_submodule(config.module, DOOR_MODULE):
            continue
        module = import_module(f"{config.name}.{DOOR_MODULE}")
        _doors[config.label] = _check(module)


#: Optional door functions: a door may define them; privacy asks only the doors that do.
#: `credits_held_for_workspaces(*, workspace_ids) -> {workspace id: credits}` tells what a
#: workspace holds that its deletion forfeits (billing: unused credits, never refunded).
OPTIONAL_CREDITS_HELD = "credits_held_for_workspaces"


def credits_held(*, workspace_ids: list[int]) -> dict[int, int]:
    """Credits each workspace holds, summed over the doors that keep any (one query each)."""
    held: dict[int, int] = {}
    for door in _doors.values():
        function = getattr(door, OPTIONAL_CREDITS_HELD, None)
        if function is None:
            continue
        for workspace_id, n in function(workspace_ids=workspace_ids).items():
            held[workspace_id] = held.get(workspace_id, 0) + n
    return held


#: `export_files_for_workspaces(*, workspace_ids) -> Iterable[(name in archive, storage name)]`:
#: files (in `default_storage`) an export carries besides its sections' rows (messaging:
#: campaign header files). A section of the same door describes each file in a row.
OPTIONAL_EXPORT_FILES = "export_files_for_workspaces"


def export_files(*, workspace_ids: list[int]) -> Iterator[tuple[str, str]]:
    """Every file the doors export for the workspaces, lazily (one door at a time)."""
    for door in _doors.values():
        function = getattr(door, OPTIONAL_EXPORT_FILES, None)
        if function is not None:
            yield from function(workspace_ids=workspace_ids)


#: `export_descriptions() -> {section name: (what its file holds, {column: what it means})}`:
#: the archive's README, in the reader's language (lazy translations). Columns many sections
#: share (workspace_slug, public_id, created_at) are described once, by privacy.
OPTIONAL_EXPORT_DESCRIPTIONS = "export_descriptions"

#: What one export file holds, and what each of its columns means.
ExportDescription = tuple[str | Promise, dict[str, str | Promise]]


def export_descriptions() -> dict[str, ExportDescription]:
    """Every door's descriptions of its export sections, merged."""
    described: dict[str, ExportDescription] = {}
    for door in _doors.values():
        function = getattr(door, OPTIONAL_EXPORT_DESCRIPTIONS, None)
        if function is not None:
            described.update(function())
    return described


def doors() -> list[PrivacyDoor]:
    """The doors, in INSTALLED_APPS order."""
    return list(_doors.values())


def door_labels() -> list[str]:
    """The labels of the apps that have a door (for checks and tests)."""
    return list(_doors)
