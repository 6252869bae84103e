"""What an export contains: the categories of the privacy policy, each a section of the
archive. The account's own data (accounts and privacy) is listed here; every other app adds
the sections of the workspaces the user owns through its privacy door."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from accounts.models import AuditEvent, LoginEvent, Membership, User
from accounts.permissions import Role
from privacy import registry
from privacy.models import Consent
from privacy.registry import ExportSection

ACCOUNT_FIELDS = [
    "email",
    "first_name",
    "last_name",
    "company_name",
    "phone",
    "date_joined",
    "last_login",
    "confirmed_adult_at",
]
CONSENT_FIELDS = ["purpose", "granted", "document__version", "ip", "created_at"]
LOGIN_EVENT_FIELDS = ["created_at", "success", "ip", "browser", "os", "device_type"]
AUDIT_EVENT_FIELDS = ["created_at", "action", "target_type", "ip", "workspace__name"]
MEMBERSHIP_FIELDS = ["workspace__name", "workspace__slug", "role", "created_at"]


def owned_workspace_ids(user: User) -> list[int]:
    """The workspaces whose data is the user's to take (and to lose with the account)."""
    return list(
        Membership.objects.filter(user=user, role=Role.OWNER).values_list("workspace_id", flat=True)
    )


def _section(name: str, queryset: QuerySet[Any], fields: list[str]) -> ExportSection:
    # Read when the section is built, not when the list of sections is made.
    return (name, lambda: list(queryset.values(*fields)), fields)


def _account_sections(user: User) -> list[ExportSection]:
    """The account itself, its consents, sign-ins, actions and memberships."""
    return [
        _section("account", User.objects.filter(pk=user.pk), ACCOUNT_FIELDS),
        _section(
            "consents", Consent.objects.filter(user=user).order_by("created_at"), CONSENT_FIELDS
        ),
        _section(
            "login_events",
            LoginEvent.objects.filter(user=user).order_by("created_at"),
            LOGIN_EVENT_FIELDS,
        ),
        _section(
            "audit_events",
            AuditEvent.objects.filter(actor_user=user).order_by("created_at"),
            AUDIT_EVENT_FIELDS,
        ),
        _section("memberships", Membership.objects.filter(user=user), MEMBERSHIP_FIELDS),
    ]


def export_sections(user: User) -> list[ExportSection]:
    """Every section, in a fixed order (the export's cursor is the list of names done): the
    account's, then each door's for the workspaces the user owns."""
    workspace_ids = owned_workspace_ids(user)
    sections = _account_sections(user)
    for door in registry.doors():
        sections.extend(door.export_for_workspaces(workspace_ids=workspace_ids))
    return sections
