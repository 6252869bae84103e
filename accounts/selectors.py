"""Reads shared by views, the API and tasks."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import (
    BooleanField,
    Case,
    DateTimeField,
    DurationField,
    ExpressionWrapper,
    F,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from accounts.models import (
    ApiKey,
    AuditEvent,
    Invitation,
    Membership,
    Notification,
    NotificationRead,
    User,
    UserSession,
    Workspace,
    WorkspaceSlugRedirect,
)
from core.queries import by_name


def membership_for_user(*, user: User, workspace_slug: str) -> Membership | None:
    return (
        Membership.objects.select_related("workspace")
        .filter(user=user, workspace__slug=workspace_slug)
        .first()
    )


def workspace_moved_for_member(*, user: User, old_slug: str) -> Workspace | None:
    """The workspace that used to answer to `old_slug`, if `user` is a member of it (else
    None: a non-member must not learn that the address ever existed)."""
    redirect = (
        WorkspaceSlugRedirect.objects.select_related("workspace")
        .filter(slug=old_slug, workspace__memberships__user=user)
        .first()
    )
    return redirect.workspace if redirect else None


def memberships_of_user(*, user: User) -> QuerySet[Membership]:
    return (
        Membership.objects.select_related("workspace")
        .filter(user=user)
        .order_by(by_name("workspace__name"))
    )


def team_members(*, workspace: Workspace) -> QuerySet[Membership]:
    return (
        Membership.objects.select_related("user")
        .filter(workspace=workspace)
        .order_by("user__email")
    )


def invitations_open(*, workspace: Workspace) -> QuerySet[Invitation]:
    from django.utils import timezone

    return Invitation.objects.filter(
        workspace=workspace,
        accepted_at__isnull=True,
        revoked_at__isnull=True,
        expires_at__gt=timezone.now(),
    ).order_by("-created_at")


def invitations_open_for(*, email: str) -> QuerySet[Invitation]:
    """The open invitations sent to an address, across workspaces (the invitee's own view)."""
    from django.utils import timezone

    return (
        Invitation.objects.filter(
            email__iexact=email,
            accepted_at__isnull=True,
            revoked_at__isnull=True,
            expires_at__gt=timezone.now(),
        )
        .select_related("workspace")
        .order_by("-created_at")[:5]
    )


def get_membership_for_workspace(*, workspace: Workspace, membership_id: int) -> Membership:
    from django.shortcuts import get_object_or_404

    return get_object_or_404(
        Membership.objects.select_related("user").filter(workspace=workspace), pk=membership_id
    )


def get_invitation_for_workspace(*, workspace: Workspace, invitation_id: str) -> Invitation:
    from django.shortcuts import get_object_or_404

    return get_object_or_404(
        Invitation.objects.filter(workspace=workspace), public_id=invitation_id
    )


def api_keys_of_workspace(*, workspace: Workspace) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(workspace=workspace).select_related("created_by")


def get_api_key_for_workspace(*, workspace: Workspace, api_key_id: str) -> ApiKey:
    from django.shortcuts import get_object_or_404

    return get_object_or_404(ApiKey.objects.filter(workspace=workspace), public_id=api_key_id)


def audit_events_of_workspace(
    *, workspace: Workspace, action_prefix: str = ""
) -> QuerySet[AuditEvent]:
    qs = AuditEvent.objects.filter(workspace=workspace).select_related(
        "actor_user", "actor_api_key"
    )
    if action_prefix:
        qs = qs.filter(action__startswith=action_prefix)
    return qs.order_by("-created_at", "-id")


def _notifications_seen_by(*, user: User, workspace: Workspace | None) -> QuerySet[Notification]:
    """The user's personal notices and, in a workspace, its shared ones, each annotated with
    ``is_read`` for this user (personal: the row's read time; shared: NotificationRead)."""
    from django.db.models import Exists, OuterRef, Q

    scope = Q(user=user)
    if workspace is not None:
        scope |= Q(workspace=workspace, user__isnull=True)
    read_by_user = NotificationRead.objects.filter(notification=OuterRef("pk"), user=user)
    return (
        Notification.objects.filter(scope)
        .annotate(shared_read=Exists(read_by_user))
        .annotate(
            is_read=Case(
                When(user__isnull=False, then=Q(read_at__isnull=False)),
                default=F("shared_read"),
                output_field=BooleanField(),
            )
        )
    )


def notifications_unread_count(*, user: User, workspace: Workspace | None) -> int:
    from django.db.models import Exists, OuterRef, Q

    unread = Q(user=user, read_at__isnull=True)
    if workspace is not None:
        read_by_user = NotificationRead.objects.filter(notification=OuterRef("pk"), user=user)
        unread |= Q(Q(workspace=workspace, user__isnull=True), ~Exists(read_by_user))
    return Notification.objects.filter(unread).count()


def notifications_recent(
    *, user: User, workspace: Workspace | None, limit: int = 20
) -> list[Notification]:
    return list(
        _notifications_seen_by(user=user, workspace=workspace).order_by("-created_at")[:limit]
    )


def message_retention_cutoff(*, now: datetime, workspace_path: str = "workspace") -> Any:
    """An SQL expression for "older than this row's workspace's message retention period":
    rows whose time is below it are due. `workspace_path` leads from the filtered model to its
    workspace. One statement serves every workspace (each with its own period, or the
    platform's default when its owner never chose one), never a loop over workspaces."""
    days = Coalesce(
        F(f"{workspace_path}__message_retention_days"),
        Value(int(settings.MESSAGE_TEXT_RETENTION_DAYS)),
    )
    period = ExpressionWrapper(days * Value(timedelta(days=1)), output_field=DurationField())
    return ExpressionWrapper(Value(now) - period, output_field=DateTimeField())


def user_sessions_active(*, user: User) -> QuerySet[UserSession]:
    """The user's sessions that may still be signed in, most recently seen first: a session
    unseen for longer than SESSION_COOKIE_AGE has expired in the store (its "last seen" write
    also saves the session, which pushes its expiry on)."""
    from datetime import timedelta

    from django.conf import settings
    from django.utils import timezone

    since = timezone.now() - timedelta(seconds=int(settings.SESSION_COOKIE_AGE))
    return UserSession.objects.filter(user=user, last_seen_at__gte=since).order_by(
        "-last_seen_at", "-pk"
    )


def get_user_session_of_user(*, user: User, session_id: str) -> UserSession:
    """One of the user's own sessions by its public id; another user's or none is a 404."""
    from django.shortcuts import get_object_or_404

    return get_object_or_404(UserSession, user=user, public_id=session_id)
