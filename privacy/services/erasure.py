"""Account erasure: for good, after the 30 days of a deletion, at once for a minor's account,
or when a confirmed request is carried out. Workspaces the person alone owned go with them
(each app erases its rows through its privacy door); records the law keeps stay, with the
person's identifiers replaced by a pseudonym."""

from __future__ import annotations

import logging
import shutil
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import DatabaseError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import (
    ApiKey,
    ApiRequestLog,
    AuditEvent,
    Invitation,
    LoginEvent,
    Membership,
    Notification,
    User,
    Workspace,
    WorkspaceSlugRedirect,
)
from accounts.permissions import Role
from accounts.services import audit_record
from accounts.tenancy import workspace_rows_delete
from privacy import registry
from privacy.models import DataExport, DataRequest, PrivacyProfile
from privacy.services.deactivation import user_sessions_delete
from privacy.services.export import export_dir
from privacy.services.identifiers import pseudonym_for, subject_hash
from privacy.services.requests import data_request_complete, data_request_create
from privacy.services.scrub import residual_scrub

logger = logging.getLogger(__name__)

# The rows of a workspace that privacy erases itself (accounts' and its own); every other
# app's go through its door. tests/privacy/test_doors.py checks nothing is left out.
OWN_WORKSPACE_MODELS: tuple[type[models.Model], ...] = (
    Membership,
    Invitation,
    ApiKey,
    AuditEvent,
    Notification,
    ApiRequestLog,
    DataRequest,
    WorkspaceSlugRedirect,  # former addresses can name the company
)


def _add(counts: dict[str, int], more: dict[str, int]) -> None:
    for label, n in more.items():
        if n:
            counts[label] = counts.get(label, 0) + n


def workspace_erase(*, workspace: Workspace) -> dict[str, Any]:
    """Erase a workspace and everything in it. If an app keeps records of it by law (billing:
    5 years) the workspace row stays as a nameless tombstone holding only them."""
    doors = registry.doors()
    keeps_records = any(door.workspace_keeps_records(workspace=workspace) for door in doors)
    counts: dict[str, int] = {}
    for door in doors:
        _add(counts, door.erase_workspace(workspace=workspace))
    if not keeps_records:
        _n, per_model = workspace.delete()
        _add(counts, per_model)
        return {"workspace": "deleted", "counts": counts}
    _add(counts, workspace_rows_delete(workspace=workspace, model_classes=OWN_WORKSPACE_MODELS))
    pseudonym = f"erased-workspace-{workspace.pk}"
    Workspace.objects.filter(pk=workspace.pk).update(
        name=pseudonym,
        slug=pseudonym,
        status=Workspace.Status.SUSPENDED,
        suspended_reason="erased",
        suspended_at=timezone.now(),
    )
    return {"workspace": "tombstone_kept_for_billing", "counts": counts}


def _owned_workspaces_settle(*, user: User, actor: User | None) -> list[dict[str, Any]]:
    """What becomes of each workspace the user owns: nothing when another owner remains;
    handed to the longest-standing admin (made owner) if there is one; otherwise erased."""
    outcomes: list[dict[str, Any]] = []
    for membership in Membership.objects.filter(user=user, role=Role.OWNER).select_related(
        "workspace"
    ):
        ws = membership.workspace
        others = Membership.objects.filter(workspace=ws).exclude(user=user)
        if others.filter(role=Role.OWNER).exists():
            continue
        heir = others.filter(role=Role.ADMIN).order_by("created_at").first()
        if heir is not None:
            Membership.objects.filter(pk=heir.pk).update(role=Role.OWNER)
            audit_record(
                workspace=ws,
                action="team.ownership_transferred",
                actor=actor,
                details={"reason": "previous owner's account erased", "to_user": heir.user_id},
            )
            outcomes.append({"id": ws.pk, "outcome": "handed_over"})
            continue
        outcomes.append({"id": ws.pk, **workspace_erase(workspace=ws)})
    return outcomes


def _account_traces_remove(
    *,
    user: User,
    email: str,
    identifiers: list[str],
    pseudonym: str,
    erased_workspace_ids: list[int],
) -> dict[str, int]:
    """Everything about the person outside their user row: keys revoked, kept records
    pseudonymised (each app's door), invitations and sign-in attempts deleted, audit entries
    relabelled, sessions ended, export files deleted, requests' identifiers cleared."""
    traces: dict[str, int] = {}
    traces["api_keys_revoked"] = ApiKey.objects.filter(
        created_by=user, revoked_at__isnull=True
    ).update(revoked_at=timezone.now())
    traces["billing_pseudonymised"] = sum(
        door.pseudonymise_person(
            user_id=user.pk,
            workspace_ids=erased_workspace_ids,
            identifiers=identifiers,
            pseudonym=pseudonym,
        )
        for door in registry.doors()
    )
    traces["invitations_deleted"] = Invitation.objects.filter(email__iexact=email).delete()[0]
    traces["login_attempts_deleted"] = LoginEvent.objects.filter(
        models.Q(user=user) | models.Q(email_attempted__iexact=email)
    ).delete()[0]
    AuditEvent.objects.filter(actor_user=user).update(actor_label=pseudonym)
    traces["sessions_ended"] = user_sessions_delete(user)
    for export in DataExport.objects.filter(user=user):
        shutil.rmtree(export_dir(export), ignore_errors=True)
    # Requests by this person: identifiers cleared, the proof stays.
    DataRequest.objects.filter(
        models.Q(user=user) | models.Q(requester_email__iexact=email)
    ).update(requester_email="", token_hash="")
    return traces


@transaction.atomic
def account_erase(
    *,
    user: User,
    actor: User | None,
    reason: str,
    data_request: DataRequest | None = None,
) -> dict[str, Any]:
    """Erase an account for good.

    Workspaces the user solely owns are handed to an admin if there is one (made owner),
    otherwise erased with everything in them; API keys they created are revoked; invoices
    and payments are kept with the person's identifiers replaced by a pseudonym; then the
    user row and everything hanging off it is deleted. Returns the proof (counts, a salted
    hash, no personal data), which is also kept on the request and in the audit trail."""
    user = User.objects.select_for_update().get(pk=user.pk)
    if data_request is None:
        # A deletion asked for by e-mail waits in progress for this purge: it completes here.
        data_request = DataRequest.objects.filter(
            user=user,
            kind=DataRequest.Kind.ERASURE,
            status__in=[DataRequest.Status.VERIFIED, DataRequest.Status.IN_PROGRESS],
        ).first()
    email, phone = user.email, user.phone
    names = [n for n in {user.get_full_name().strip(), user.company_name.strip()} if n]
    pseudonym = pseudonym_for(email)
    proof: dict[str, Any] = {
        "subject_hash": subject_hash(email),
        "reason": reason,
        "erased_at": timezone.now().isoformat(),
        "by": f"staff #{actor.pk}" if actor is not None and actor.pk != user.pk else "self/system",
    }
    member_of = list(Membership.objects.filter(user=user).values_list("workspace_id", flat=True))
    proof["workspaces"] = _owned_workspaces_settle(user=user, actor=actor)
    proof.update(
        _account_traces_remove(
            user=user,
            email=email,
            identifiers=[v for v in (email, phone, *names) if v],
            pseudonym=pseudonym,
            # Records of the workspaces that went with the person are theirs; a workspace
            # handed over to an admin lives on and keeps its records as they are.
            erased_workspace_ids=[w["id"] for w in proof["workspaces"] if "workspace" in w],
        )
    )
    _n, deleted = user.delete()
    proof["rows_deleted"] = {k: v for k, v in deleted.items() if v}
    # The e-mail is the account's own (unique, confirmed): scrubbed everywhere. The phone is
    # only what the person typed, possibly another tenant's number: scrubbed in the person's
    # workspaces and platform rows, never in another tenant's records.
    proof["residual_scrubbed"] = residual_scrub([email], pseudonym) + (
        residual_scrub([phone], pseudonym, own_workspace_ids=member_of) if phone else 0
    )
    audit_record(workspace=None, action="privacy.account_erased", actor=actor, details=dict(proof))
    if data_request is not None:
        data_request_complete(request=data_request, actor=actor, note="account erased", proof=proof)
    return proof


def account_erase_by_id(*, user_id: int, actor: User | None, reason: str) -> dict[str, Any] | None:
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        return None
    return account_erase(user=user, actor=actor, reason=reason)


def account_ensure_staff_may_act(*, target: User, actor: User | None) -> None:
    """Staff act on an account only within these limits (issue #17 F5): support staff (staff
    who are not superusers) never act on a staff account; nobody acts through these tools on
    a superuser's account or on their own."""
    if actor is None:
        return  # the system (the 30-day purge) carries out what the owner asked
    if target.pk == actor.pk:
        raise ValidationError(_("Staff do not act on their own account through the queue."))
    if target.is_superuser:
        raise ValidationError(_("A superuser's account is not handled through the queue."))
    if target.is_staff and not actor.is_superuser:
        raise ValidationError(_("Support staff never act on staff accounts."))


@transaction.atomic
def account_flag_minor(*, user: User, actor: User) -> DataRequest:
    """Staff found the account belongs to someone under 18: an erasure request is opened and
    proposed (the first pair of eyes). When another staff member approves it the account is
    erased at once, with no grace period (issue #17 F5: no account is erased by one person
    unless its owner asked)."""
    account_ensure_staff_may_act(target=user, actor=actor)
    request = data_request_create(
        kind=DataRequest.Kind.ERASURE,
        channel=DataRequest.Channel.STAFF,
        user=user,
        actor=actor,
        status=DataRequest.Status.IN_PROGRESS,
        notes="account of a minor: erased at once once a second staff member approves",
    )
    DataRequest.objects.filter(pk=request.pk).update(
        erasure_reason="minor", erasure_proposed_by=actor, erasure_proposed_at=timezone.now()
    )
    audit_record(
        workspace=None, action="privacy.erasure_proposed", actor=actor, target=request, details={}
    )
    request.refresh_from_db()
    return request


def accounts_purge_due(*, now: datetime | None = None, limit: int = 50) -> int:
    """Erase deactivated accounts whose 30 days have passed (bounded per run)."""
    now = now or timezone.now()
    due = list(
        PrivacyProfile.objects.filter(
            purge_after__lte=now, user__is_active=False, user__deactivated_at__isnull=False
        ).values_list("user_id", flat=True)[:limit]
    )
    for user_id in due:
        try:
            account_erase_by_id(user_id=user_id, actor=None, reason="deactivation_grace_ended")
        except DatabaseError:
            logger.exception("purge of user %s failed; retried next run", user_id)
    return len(due)
