from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from accounts.permissions import ROLE_PERMISSIONS
from accounts.selectors import (
    membership_for_user,
    memberships_of_user,
    notifications_unread_count,
)


def shell(request: HttpRequest) -> dict[str, Any]:
    """What the base layout needs: the workspace switcher, the role's permissions, the unread
    notification count; and the support address, for pages shown signed out too (the
    inactive account's page)."""
    context: dict[str, Any] = {
        "STRIPE_ENABLED": settings.STRIPE_ENABLED,
        "support_email": settings.SUPPORT_EMAIL,
    }
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return context

    workspace = getattr(request, "workspace", None)
    membership = getattr(request, "membership", None)
    if workspace is None and (last := request.session.get("last_workspace")):
        # Pages outside /w/<slug>/ (the privacy centre, profile, password, 2FA) keep the
        # shell of the workspace the user was in, still only through their membership.
        membership = membership_for_user(user=user, workspace_slug=last)
        workspace = membership.workspace if membership else None
    context.update(
        {
            "current_workspace": workspace,
            "current_membership": membership,
            "perms_in_workspace": ROLE_PERMISSIONS.get(membership.role, frozenset())
            if membership
            else frozenset(),
            "my_memberships": memberships_of_user(user=user),  # lazily evaluated by the template
            "unread_notifications": notifications_unread_count(user=user, workspace=workspace),
        }
    )
    return context
