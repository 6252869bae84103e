"""Who may change contacts, lists, segments, imports and templates (the pages of the
`messaging` namespace share this)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied

from accounts.permissions import Perm, role_has
from accounts.tenancy import WorkspaceRequest


def can_write_contacts(request: WorkspaceRequest) -> bool:
    return role_has(request.membership.role, Perm.CONTACTS_WRITE)


def require_contacts_write(request: WorkspaceRequest) -> None:
    """A member whose role may only read gets 403 on a write."""
    if not can_write_contacts(request):
        raise PermissionDenied
