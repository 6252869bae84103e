"""Deactivation and self-service deletion: the account is switched off at once (signed out,
keys revoked, sign-in refused); deletion purges it after 30 days unless the e-mailed link
reactivates it first."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.contrib.sessions.models import Session
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.hooks import owner_account_closed, owner_account_reopened
from accounts.models import ApiKey, Membership, User, Workspace
from accounts.permissions import Role
from accounts.services import absolute_url, audit_record, email_send_on_commit
from privacy.models import DataRequest, PrivacyProfile
from privacy.selectors import credits_at_deletion
from privacy.services.profile import privacy_profile_get

logger = logging.getLogger(__name__)

DEACTIVATION_GRACE = timedelta(days=30)
REACTIVATION_SALT = "privacy.account_reactivate"


def user_sessions_delete(user: User) -> int:
    """Sign the user out everywhere. Sessions are signed blobs keyed by id, so they are
    decoded to find the user's; bounded by live sessions only."""
    doomed = []
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if str(session.get_decoded().get("_auth_user_id")) == str(user.pk):
            doomed.append(session.pk)
    Session.objects.filter(pk__in=doomed).delete()
    return len(doomed)


def reactivation_token(user: User, deactivated_at: datetime) -> str:
    # Bound to this deactivation: a link from an earlier one stops working.
    return signing.dumps(
        {"u": str(user.public_id), "d": deactivated_at.isoformat()}, salt=REACTIVATION_SALT
    )


@transaction.atomic
def _workspaces_left_alone(user: User) -> list[Workspace]:
    """The workspaces the person owns where no other active owner or admin could act: while
    the account is off, nobody can pause or cancel what they send. One query."""
    others = Membership.objects.filter(
        workspace=OuterRef("pk"), role__in=[Role.OWNER, Role.ADMIN], user__is_active=True
    ).exclude(user=user)
    return list(
        Workspace.objects.filter(memberships__user=user, memberships__role=Role.OWNER)
        .exclude(Exists(others))
        .order_by("pk")
    )


def account_deactivate(
    *,
    user: User,
    actor: User | None,
    ip: str | None = None,
    reason: str = "self_service",
    purge: bool = True,
) -> PrivacyProfile:
    """Switch the account off at once: signed out everywhere, API keys they created revoked,
    signing in refused. With `purge` (account deletion) the data is erased after 30 days;
    without it (deactivation) it is kept until the user reactivates or deletes. Either way an
    e-mailed link reactivates the account (signing in is refused meanwhile)."""
    now = timezone.now()
    User.objects.filter(pk=user.pk).update(is_active=False, deactivated_at=now)
    for workspace in _workspaces_left_alone(user):
        owner_account_closed.send(sender=User, workspace=workspace)
    profile = privacy_profile_get(user=user)
    profile.deletion_requested_at = now if purge else None
    profile.purge_after = now + DEACTIVATION_GRACE if purge else None
    profile.save(update_fields=["deletion_requested_at", "purge_after"])
    if purge and reason == "self_service":
        _erasure_request_record(user=user, ip=ip, purge_after=profile.purge_after)
    for key in ApiKey.objects.filter(created_by=user, revoked_at__isnull=True):
        ApiKey.objects.filter(pk=key.pk).update(revoked_at=now)
        audit_record(
            workspace=key.workspace, action="api_key.revoked", actor=actor, target=key, ip=ip
        )
    sessions = user_sessions_delete(user)
    audit_record(
        workspace=None,
        action="privacy.account_deletion_scheduled" if purge else "privacy.account_deactivated",
        actor=actor,
        target=user,
        ip=ip,
        details={
            "reason": reason,
            "purge_after": profile.purge_after.isoformat() if profile.purge_after else None,
        },
    )
    logger.info("account %s deactivated, %s sessions ended", user.pk, sessions)
    email_send_on_commit(
        to=[user.email],
        template="privacy_account_deactivated",
        context={
            "link": absolute_url(
                reverse("privacy:account_reactivate", args=[reactivation_token(user, now)])
            ),
            "credits_forfeited": credits_at_deletion(user=user).forfeited if purge else 0,
            "purge_date": (
                timezone.localtime(profile.purge_after).strftime("%Y-%m-%d")
                if profile.purge_after
                else ""
            ),
        },
    )
    return profile


@transaction.atomic
def _erasure_request_record(*, user: User, ip: str | None, purge_after: datetime | None) -> None:
    """A deletion from the privacy centre is the owner's own erasure request: recorded in the
    queue (staff see it; the privacy centre lists it), confirmed by the re-authentication, in
    progress until the purge job completes it when the 30 days end, or withdrawn when the
    owner restores the account. An erasure request of theirs already open is reused."""
    from privacy.services.requests import data_request_create, data_request_note

    open_request = (
        DataRequest.objects.select_for_update()
        .filter(
            user=user,
            kind=DataRequest.Kind.ERASURE,
            status__in=[DataRequest.Status.VERIFIED, DataRequest.Status.IN_PROGRESS],
        )
        .first()
    )
    request = open_request or data_request_create(
        kind=DataRequest.Kind.ERASURE,
        channel=DataRequest.Channel.WEB,
        user=user,
        requester_email=user.email,
        status=DataRequest.Status.IN_PROGRESS,
        ip=ip,
    )
    request.confirmed_at = request.confirmed_at or timezone.now()
    request.status = DataRequest.Status.IN_PROGRESS
    if purge_after is not None:
        request.due_at = purge_after
    purge_date = purge_after.strftime("%Y-%m-%d") if purge_after else "?"
    data_request_note(
        request,
        None,
        f"deletion confirmed in the privacy centre (password re-entered); account deactivated; "
        f"purged on {purge_date} unless restored",
    )
    request.save(update_fields=["confirmed_at", "status", "due_at", "notes"])


@transaction.atomic
def account_reactivate(*, token: str, ip: str | None = None) -> User:
    """Reactivate through the e-mailed signed link. A pending deletion is cancelled; after
    the purge there is nothing left to reactivate."""
    invalid = ValidationError(_("This link has expired or is not valid."))
    try:
        data = signing.loads(token, salt=REACTIVATION_SALT)
    except signing.BadSignature as exc:
        raise invalid from exc
    user = User.objects.select_for_update().filter(public_id=data.get("u"), is_active=False).first()
    if (
        user is None
        or user.deactivated_at is None
        or user.deactivated_at.isoformat() != data.get("d")
    ):
        raise invalid
    User.objects.filter(pk=user.pk).update(is_active=True, deactivated_at=None)
    PrivacyProfile.objects.filter(user=user).update(deletion_requested_at=None, purge_after=None)
    for workspace in _workspaces_left_alone(user):
        owner_account_reopened.send(sender=User, workspace=workspace)
    from privacy.services.requests import data_request_withdraw_erasure

    data_request_withdraw_erasure(user=user, ip=ip)
    audit_record(
        workspace=None, action="privacy.account_reactivated", actor=user, target=user, ip=ip
    )
    user.refresh_from_db()
    return user
