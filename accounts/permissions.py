"""Roles and what each may do. One matrix, read by views, the API and templates."""

from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    OWNER = "owner", _("Owner")
    ADMIN = "admin", _("Admin")
    MEMBER = "member", _("Member")
    VIEWER = "viewer", _("Viewer")


class Perm:
    VIEW = "workspace.view"
    CONTACTS_WRITE = "contacts.write"
    TEMPLATES_WRITE = "templates.write"
    CAMPAIGNS_RUN = "campaigns.run"
    NUMBERS_MANAGE = "numbers.manage"
    TEAM_MANAGE = "team.manage"
    API_KEYS_MANAGE = "api_keys.manage"
    SETTINGS_MANAGE = "settings.manage"
    ACTIVITY_VIEW = "activity.view"
    BILLING_MANAGE = "billing.manage"
    WORKSPACE_DELETE = "workspace.delete"


_VIEWER = {Perm.VIEW}
_MEMBER = _VIEWER | {Perm.CONTACTS_WRITE, Perm.TEMPLATES_WRITE, Perm.CAMPAIGNS_RUN}
_ADMIN = _MEMBER | {
    Perm.NUMBERS_MANAGE,
    Perm.TEAM_MANAGE,
    Perm.API_KEYS_MANAGE,
    Perm.SETTINGS_MANAGE,
    Perm.ACTIVITY_VIEW,
}
_OWNER = _ADMIN | {Perm.BILLING_MANAGE, Perm.WORKSPACE_DELETE}

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    Role.VIEWER: frozenset(_VIEWER),
    Role.MEMBER: frozenset(_MEMBER),
    Role.ADMIN: frozenset(_ADMIN),
    Role.OWNER: frozenset(_OWNER),
}


def role_has(role: str, perm: str) -> bool:
    return perm in ROLE_PERMISSIONS.get(role, frozenset())


def role_may_grant(actor_role: str, role: str) -> bool:
    """Whether a member with ``actor_role`` (who manages the team) may give ``role`` (invite
    with it, change someone to it) or deal with someone who has it (change their role, remove
    them): only an owner may create, change or remove owners."""
    return role != Role.OWNER or actor_role == Role.OWNER


def roles_grantable(actor_role: str) -> list[tuple[str, str | Promise]]:
    """The role choices a team manager with ``actor_role`` is offered."""
    return [(value, label) for value, label in Role.choices if role_may_grant(actor_role, value)]


# API key scopes: "<area>:read" or "<area>:write". Write implies read.
API_SCOPES: dict[str, str | Promise] = {
    "contacts:read": _("Read contacts, lists and segments"),
    "contacts:write": _("Create, change and delete contacts, lists and imports"),
    "templates:read": _("Read templates"),
    "templates:write": _("Create and change templates"),
    "campaigns:read": _("Read campaigns and messages"),
    "campaigns:write": _("Create, launch and control campaigns; send messages"),
    "numbers:read": _("Read WhatsApp numbers, their quality and messaging limits"),
    "numbers:write": _("Connect WhatsApp numbers"),
    "billing:read": _("Read balance, ledger and orders"),
    "stats:read": _("Read statistics"),
    "webhooks:read": _("Read webhook endpoints and their deliveries"),
    "webhooks:write": _("Manage webhook endpoints"),
    "workspace:read": _("Read the workspace's profile"),
    "automation:read": _("Read keyword automation rules and their runs"),
    "automation:write": _("Create, change and delete keyword automation rules"),
    "inbox:read": _("Read team-inbox conversations and their messages"),
    "inbox:write": _("Reply to, assign and close team-inbox conversations"),
}


def scope_granted(scopes: list[str], required: str) -> bool:
    if required in scopes:
        return True
    area, _sep, level = required.partition(":")
    return level == "read" and f"{area}:write" in scopes
