"""What an export contains: the categories of the privacy policy, each a section of the
archive. The account's own data (accounts and privacy) is listed here; every other app adds
the sections of the workspaces the user owns through its privacy door."""

from __future__ import annotations

from typing import Any

from django.db.models import Case, F, Q, QuerySet, Value, When
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from accounts.models import ApiKey, AuditEvent, LoginEvent, Membership, Notification, User
from accounts.permissions import Role
from privacy import registry
from privacy.models import Consent
from privacy.registry import ExportDescription, ExportSection

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
#: API keys of the workspaces the user owns: never the key itself nor its hash.
API_KEY_FIELDS = [
    "workspace_slug",
    "public_id",
    "name",
    "prefix",
    "scopes",
    "created_at",
    "expires_at",
    "last_used_at",
    "revoked_at",
]
NOTIFICATION_FIELDS = [
    "workspace_slug",
    "recipient",
    "kind",
    "text",
    "link",
    "created_at",
    "read_at",
]


def owned_workspace_ids(user: User) -> list[int]:
    """The workspaces whose data is the user's to take (and to lose with the account)."""
    return list(
        Membership.objects.filter(user=user, role=Role.OWNER).values_list("workspace_id", flat=True)
    )


#: Rows fetched per round trip (sign-in and audit records grow without bound).
EXPORT_CHUNK = 2000


def _section(name: str, queryset: QuerySet[Any], fields: list[str]) -> ExportSection:
    # Read when the section is built, not when the list of sections is made, from a
    # server-side cursor in chunks.
    return (name, lambda: queryset.values(*fields).iterator(chunk_size=EXPORT_CHUNK), fields)


def _account_sections(user: User) -> list[ExportSection]:
    """The account itself, its consents, sign-ins, actions and memberships; the API keys of
    the workspaces the user owns; the notifications sent to them and to those workspaces."""
    owned = owned_workspace_ids(user)
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
        _section(
            "api_keys",
            ApiKey.objects.filter(workspace_id__in=owned)
            .annotate(workspace_slug=F("workspace__slug"))
            .order_by("pk"),
            API_KEY_FIELDS,
        ),
        _section(
            "notifications",
            Notification.objects.filter(Q(user=user) | Q(user__isnull=True, workspace_id__in=owned))
            .annotate(
                workspace_slug=F("workspace__slug"),
                recipient=Case(
                    When(user__isnull=True, then=Value("workspace")), default=Value("you")
                ),
            )
            .order_by("created_at", "pk"),
            NOTIFICATION_FIELDS,
        ),
    ]


#: Columns that mean the same in every file, described once.
COMMON_COLUMNS: dict[str, str | Promise] = {
    "workspace_slug": _("The workspace, by its short name (the /w/<name>/ of its pages)."),
    "public_id": _("The record's public id (the id the pages and the API use)."),
    "created_at": _("When it was created."),
    "updated_at": _("When it was last changed."),
}


def _account_descriptions() -> dict[str, ExportDescription]:
    return {
        "account": (
            _("Your account and profile."),
            {
                "email": _("Your e-mail address."),
                "first_name": _("First name."),
                "last_name": _("Last name."),
                "company_name": _("Company name."),
                "phone": _("Phone number."),
                "date_joined": _("When you signed up."),
                "last_login": _("When you last signed in."),
                "confirmed_adult_at": _("When you confirmed you are 18 or older."),
            },
        ),
        "consents": (
            _("What you agreed to, and when (each change is a row)."),
            {
                "purpose": _("What the consent is for."),
                "granted": _("True: given; False: withdrawn."),
                "document__version": _("Version of the policy agreed to, if any."),
                "ip": _("IP address it was given from."),
                "created_at": _("When it was given or withdrawn."),
            },
        ),
        "login_events": (
            _("Sign-ins to your account, successful or not."),
            {
                "created_at": _("When the sign-in happened."),
                "success": _("Whether the sign-in succeeded."),
                "ip": _("IP address."),
                "browser": _("Browser."),
                "os": _("Operating system."),
                "device_type": _("Kind of device."),
            },
        ),
        "audit_events": (
            _("Actions you took (the audit trail)."),
            {
                "created_at": _("When it was done."),
                "action": _("What was done."),
                "target_type": _("Kind of record it was done to."),
                "ip": _("IP address."),
                "workspace__name": _("The workspace it happened in."),
            },
        ),
        "memberships": (
            _("The workspaces you belong to, and your role in each."),
            {
                "workspace__name": _("Workspace name."),
                "workspace__slug": _("The workspace's short name (the /w/<name>/ of its pages)."),
                "role": _("Your role."),
                "created_at": _("When you joined."),
            },
        ),
        "api_keys": (
            _(
                "API keys of the workspaces you own (the keys themselves are never stored "
                "readable and are not exported)."
            ),
            {
                "name": _("The name given to the key."),
                "prefix": _("The key's first characters, which identify it on its pages."),
                "scopes": _("What the key may do (JSON list)."),
                "expires_at": _("When it stops working, if it does."),
                "last_used_at": _("When it was last used."),
                "revoked_at": _("When it was revoked, if it was."),
            },
        ),
        "notifications": (
            _("Notifications sent to you, and to the workspaces you own."),
            {
                "workspace_slug": _("The workspace it is about (empty: your account)."),
                "recipient": _("you: to you alone; workspace: to the workspace's team."),
                "kind": _("Kind of notification."),
                "text": _("The notification."),
                "link": _("The page it links to."),
                "created_at": _("When it was sent."),
                "read_at": _("When you read a notice sent to you alone (empty otherwise)."),
            },
        ),
    }


def export_descriptions() -> dict[str, ExportDescription]:
    """What each section's file holds and what its columns mean (the README), the account's
    and every door's. Columns shared by many files come from COMMON_COLUMNS."""
    return {**_account_descriptions(), **registry.export_descriptions()}


def export_sections(user: User) -> list[ExportSection]:
    """Every section, in a fixed order (the export's cursor is the list of names done): the
    account's, then each door's for the workspaces the user owns."""
    workspace_ids = owned_workspace_ids(user)
    sections = _account_sections(user)
    for door in registry.doors():
        sections.extend(door.export_for_workspaces(workspace_ids=workspace_ids))
    return sections
