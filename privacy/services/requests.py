"""The data-request queue: requests received (web form, e-mail, staff), confirmed by a link to
the registered address, taken, rejected with a legal reason, or completed with their proof.
Carrying a request out is `fulfilment`'s job."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User, Workspace
from accounts.services import absolute_url, audit_record, email_send_on_commit, notify
from privacy.models import WITHDRAWN_PREFIX, DataRequest

REQUEST_DUE = timedelta(days=30)
AUTHORITY_REQUEST_DUE = timedelta(days=10)
CONFIRMATION_TTL = timedelta(days=7)
CONFIRMATION_RESEND_AFTER = timedelta(minutes=15)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _due_for(kind: str, received: datetime) -> datetime:
    return received + (
        AUTHORITY_REQUEST_DUE if kind == DataRequest.Kind.AUTHORITY_REQUEST else REQUEST_DUE
    )


@transaction.atomic
def data_request_create(
    *,
    kind: str,
    channel: str,
    user: User | None = None,
    requester_email: str = "",
    contact_phone: str = "",
    workspace: Workspace | None = None,
    actor: User | None = None,
    notes: str = "",
    status: str = DataRequest.Status.RECEIVED,
    ip: str | None = None,
) -> DataRequest:
    """Open a request in the queue with its legal due date (30 days; 10 for the authority)."""
    now = timezone.now()
    request = DataRequest(
        kind=kind,
        channel=channel,
        status=status,
        user=user,
        requester_email=(requester_email or (user.email if user else "")).lower(),
        contact_phone=contact_phone,
        workspace=workspace,
        received_at=now,
        due_at=_due_for(kind, now),
        notes=notes,
    )
    request.full_clean()
    request.save()
    audit_record(
        workspace=None,
        action="privacy.request_received",
        actor=actor or user,
        target=request,
        ip=ip,
        details={"kind": kind, "channel": channel},
    )
    return request


def data_request_note(request: DataRequest, actor: User | None, text: str) -> None:
    """Append a stamped line to the request's notes (the caller saves)."""
    stamp = timezone.now().strftime("%Y-%m-%d %H:%M")
    who = f"staff #{actor.pk}" if actor is not None else "system"
    request.notes = (request.notes + f"\n[{stamp}] {who}: {text}").strip()


@transaction.atomic
def deletion_request_by_email(
    *, email: str, channel: str = DataRequest.Channel.WEB, actor: User | None = None, ip: str | None
) -> DataRequest | None:
    """Deletion requested for an address (public form, or staff registering an e-mail).

    A confirmation link goes to the registered address; nothing happens before it is
    followed. For an address with no account nothing is stored and nothing is sent, and the
    caller answers exactly as for a known one, so the form reveals no accounts."""
    email = email.strip().lower()
    user = User.objects.filter(email__iexact=email, is_active=True).first()
    if user is None:
        return None
    recent = DataRequest.objects.filter(
        user=user,
        kind=DataRequest.Kind.ERASURE,
        status=DataRequest.Status.AWAITING_CONFIRMATION,
        received_at__gt=timezone.now() - CONFIRMATION_RESEND_AFTER,
    ).first()
    if recent is not None and channel == DataRequest.Channel.WEB:
        # The form must not become a way to flood someone's inbox: one link per window.
        return recent
    token = secrets.token_urlsafe(32)
    request = data_request_create(
        kind=DataRequest.Kind.ERASURE,
        channel=channel,
        user=user,
        requester_email=user.email,
        actor=actor,
        status=DataRequest.Status.AWAITING_CONFIRMATION,
        ip=ip,
    )
    request.token_hash = _token_hash(token)
    request.save(update_fields=["token_hash"])
    email_send_on_commit(
        to=[user.email],
        template="privacy_deletion_confirm",
        context={
            "link": absolute_url(reverse("privacy:deletion_confirm", args=[token])),
            "days": CONFIRMATION_TTL.days,
        },
    )
    return request


def data_request_find_by_token(*, token: str) -> DataRequest | None:
    request = (
        DataRequest.objects.filter(
            token_hash=_token_hash(token), status=DataRequest.Status.AWAITING_CONFIRMATION
        )
        .select_related("user")
        .first()
    )
    if request is None or request.received_at < timezone.now() - CONFIRMATION_TTL:
        return None
    return request


@transaction.atomic
def data_request_confirm(*, token: str, ip: str | None) -> DataRequest:
    """The holder of the registered address confirmed: the request is verified and, for an
    account's erasure, the account is deactivated at once and purged after the same 30 days
    of grace as a deletion from the privacy centre (restorable until then by the e-mailed
    link; seed 003 §10: confirmed, then deleted). The request stays in progress until the
    purge completes it (`account_erase`) or the holder restores the account (withdrawn)."""
    found = data_request_find_by_token(token=token)
    if found is None:
        raise ValidationError(_("This confirmation link has expired or was already used."))
    request = DataRequest.objects.select_for_update().get(pk=found.pk)
    request.status = DataRequest.Status.VERIFIED
    request.confirmed_at = timezone.now()
    request.token_hash = ""
    data_request_note(request, None, "confirmed through the e-mailed link")
    request.save(update_fields=["status", "confirmed_at", "token_hash", "notes"])
    audit_record(
        workspace=None, action="privacy.request_verified", target=request, ip=ip, details={}
    )
    if request.kind == DataRequest.Kind.ERASURE and request.user is not None:
        from privacy.services.deactivation import account_deactivate

        profile = account_deactivate(
            user=request.user, actor=None, ip=ip, reason="deletion_request", purge=True
        )
        request.status = DataRequest.Status.IN_PROGRESS
        purge_date = profile.purge_after.strftime("%Y-%m-%d") if profile.purge_after else "?"
        data_request_note(
            request, None, f"account deactivated; purged on {purge_date} unless restored"
        )
        request.save(update_fields=["status", "notes"])
    return request


@transaction.atomic
def data_request_withdraw_erasure(*, user: User, ip: str | None = None) -> int:
    """The account holder restored their account during the grace: their pending erasure
    requests are closed as withdrawn (nothing was erased). Returns how many."""
    pending = list(
        DataRequest.objects.select_for_update().filter(
            user=user,
            kind=DataRequest.Kind.ERASURE,
            status__in=[DataRequest.Status.VERIFIED, DataRequest.Status.IN_PROGRESS],
        )
    )
    for request in pending:
        request.status = DataRequest.Status.REJECTED
        request.rejection_reason = f"{WITHDRAWN_PREFIX} the account holder restored the account"
        request.completed_at = timezone.now()
        data_request_note(request, None, "withdrawn: account restored before the purge")
        request.save(update_fields=["status", "rejection_reason", "completed_at", "notes"])
        audit_record(
            workspace=None,
            action="privacy.request_withdrawn",
            actor=user,
            target=request,
            ip=ip,
            details={"kind": request.kind},
        )
    return len(pending)


@transaction.atomic
def data_request_reject(*, request: DataRequest, actor: User, reason: str) -> DataRequest:
    reason = reason.strip()
    if not reason:
        raise ValidationError({"rejection_reason": _("Give the legal reason for the rejection.")})
    request = DataRequest.objects.select_for_update().get(pk=request.pk)
    if not request.is_open:
        raise ValidationError(_("This request is already closed."))
    request.status = DataRequest.Status.REJECTED
    request.rejection_reason = reason
    request.completed_at = timezone.now()
    request.assignee = request.assignee or actor
    data_request_note(request, actor, f"rejected: {reason}")
    request.save()
    audit_record(
        workspace=None,
        action="privacy.request_rejected",
        actor=actor,
        target=request,
        details={"reason": reason},
    )
    if request.user_id:
        notify(
            user=request.user,
            kind="privacy.request_rejected",
            text=_("We could not carry out your %(kind)s request: %(reason)s")
            % {"kind": request.get_kind_display().lower(), "reason": reason},
            link=reverse("privacy:centre"),
        )
    return request


@transaction.atomic
def data_request_complete(
    *, request: DataRequest, actor: User | None, note: str = "", proof: dict[str, Any] | None = None
) -> DataRequest:
    request = DataRequest.objects.select_for_update().get(pk=request.pk)
    if request.status in (DataRequest.Status.COMPLETED, DataRequest.Status.REJECTED):
        return request
    request.status = DataRequest.Status.COMPLETED
    request.completed_at = timezone.now()
    if actor is not None and request.assignee_id is None:
        request.assignee = actor
    if proof:
        request.proof = {**request.proof, **proof}
    data_request_note(request, actor, note or "completed")
    request.save()
    audit_record(
        workspace=None,
        action="privacy.request_completed",
        actor=actor,
        target=request,
        details={"kind": request.kind},
    )
    return request


@transaction.atomic
def data_request_take(*, request: DataRequest, actor: User, note: str) -> DataRequest:
    """Staff start work on a request: in progress, assigned to them unless someone has it,
    with a note of what was started."""
    locked = DataRequest.objects.select_for_update().get(pk=request.pk)
    locked.status = DataRequest.Status.IN_PROGRESS
    locked.assignee = locked.assignee or actor
    data_request_note(locked, actor, note)
    locked.save(update_fields=["status", "assignee", "notes"])
    return locked
