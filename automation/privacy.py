"""Automation's privacy door: what the privacy app may do with automation's data.

Privacy finds this module at start-up (`privacy.registry`) and calls these functions; they
follow `privacy.registry.PrivacyDoor` without importing privacy. Rules and their runs belong to
a workspace; a run points at a reply and a contact (messaging's), which the recipient erasure
removes, and it keeps no number of its own."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

from django.apps import apps
from django.db.models import F
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from accounts.models import User, Workspace
from accounts.tenancy import workspace_rows_delete
from automation.models import AutomationRule, AutomationRun

ExportRows = Callable[[], Iterable[Mapping[str, Any]]]


#: Rows fetched per round trip: memory stays flat however many rules a workspace has.
EXPORT_CHUNK = 2000

#: The keyword rules, named as the pages name them: the workspace by its slug, the number,
#: template and list by what they are called, never by internal integer keys.
RULE_FIELDS = [
    "workspace_slug",
    "public_id",
    "name",
    "number",
    "match_kind",
    "keywords",
    "pattern",
    "reply_template_name",
    "tags",
    "contact_list_name",
    "priority",
    "active",
    "stop_after_match",
    "times_fired",
    "last_fired_at",
    "created_at",
    "updated_at",
]


def _rule_rows(workspace_ids: list[int]) -> ExportRows:
    """Read when the export builds the section, from a server-side cursor in chunks."""

    def rows() -> Iterator[dict[str, Any]]:
        computed = {
            "workspace_slug": F("workspace__slug"),
            "number": F("sender__phone_number"),
            "reply_template_name": F("reply_template__name"),
            "contact_list_name": F("contact_list__name"),
        }
        return (
            AutomationRule._base_manager.filter(workspace_id__in=workspace_ids)
            .order_by("pk")
            .values(*(f for f in RULE_FIELDS if f not in computed), **computed)
            .iterator(chunk_size=EXPORT_CHUNK)
        )

    return rows


#: The run log: each rule applied to a message received, and what it did.
RUN_FIELDS = [
    "workspace_slug",
    "public_id",
    "rule_public_id",
    "rule_name",
    "phone",
    "outcome",
    "detail",
    "actions",
    "created_at",
]


def _run_rows(workspace_ids: list[int]) -> ExportRows:
    """Read when the export builds the section, from a server-side cursor in chunks."""

    def rows() -> Iterator[dict[str, Any]]:
        computed = {
            "workspace_slug": F("workspace__slug"),
            "rule_public_id": F("rule__public_id"),
            "rule_name": F("rule__name"),
            "phone": F("inbound__phone"),
        }
        return (
            AutomationRun._base_manager.filter(workspace_id__in=workspace_ids)
            .order_by("pk")
            .values(*(f for f in RUN_FIELDS if f not in computed), **computed)
            .iterator(chunk_size=EXPORT_CHUNK)
        )

    return rows


def export_for_workspaces(*, workspace_ids: list[int]) -> list[tuple[str, ExportRows, list[str]]]:
    return [
        ("automation_rules", _rule_rows(workspace_ids), RULE_FIELDS),
        ("automation_runs", _run_rows(workspace_ids), RUN_FIELDS),
    ]


def export_descriptions() -> dict[str, tuple[str | Promise, dict[str, str | Promise]]]:
    """Optional door function: what each export file holds and what its columns mean, for
    the archive's README (columns every file shares are described by privacy)."""
    return {
        "automation_rules": (
            _("Automatic replies: rules run on messages received."),
            {
                "name": _("Rule name."),
                "number": _("The number whose messages it watches (empty: every number)."),
                "match_kind": _(
                    "How a message is matched: exact, contains or regex (the pattern)."
                ),
                "keywords": _("Keywords matched (JSON list)."),
                "pattern": _("Regular expression matched, for a regex rule."),
                "reply_template_name": _("Template replied with."),
                "tags": _("Tags given to the contact (JSON list)."),
                "contact_list_name": _("List the contact is added to."),
                "priority": _("Higher runs first."),
                "active": _("Whether the rule is on."),
                "stop_after_match": _("Whether later rules are skipped after this one matches."),
                "times_fired": _("Times it ran."),
                "last_fired_at": _("When it last ran."),
            },
        ),
        "automation_runs": (
            _("The automatic replies' run log: each rule run on a message received."),
            {
                "rule_public_id": _("The rule (public_id in automation_rules)."),
                "rule_name": _("Rule name."),
                "phone": _("Number of the contact whose message it ran on (E.164)."),
                "outcome": _("fired, no_credits, reply_failed or skipped_opt_out."),
                "detail": _("Details of the outcome."),
                "actions": _("What it did (JSON object)."),
                "created_at": _("When it ran."),
            },
        ),
    }


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
