"""Carrying out a request from the queue: each kind handed to the service that does the work,
then the request completed with its proof."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.services import audit_record
from privacy.models import DataExport, DataRequest, PrivacyProfile
from privacy.services.erasure import account_ensure_staff_may_act, account_erase
from privacy.services.export import export_request
from privacy.services.profile import processing_restrict
from privacy.services.recipients import recipient_erase
from privacy.services.requests import data_request_complete, data_request_take

# The channels through which an account's owner asks for erasure themselves (the privacy
# centre, or an e-mailed request confirmed through the link sent to the registered address).
OWNER_CHANNELS = (DataRequest.Channel.WEB, DataRequest.Channel.EMAIL)


def erasure_asked_by_owner(request: DataRequest) -> bool:
    """The account's owner asked for this erasure: an erasure request of theirs, made from
    their registered address and confirmed by them (signed in, or through the link)."""
    user = request.user
    return (
        request.kind == DataRequest.Kind.ERASURE
        and user is not None
        and request.channel in OWNER_CHANNELS
        and request.confirmed_at is not None
        and request.status in (DataRequest.Status.VERIFIED, DataRequest.Status.IN_PROGRESS)
        and request.requester_email.lower() == user.email.lower()
    )


def _account_erasure_checked(request: DataRequest, actor: User | None) -> User:
    if request.kind != DataRequest.Kind.ERASURE:
        raise ValidationError(_("This is not an erasure request."))
    if request.user is None:
        raise ValidationError(_("This request is not linked to an account."))
    if not request.is_open:
        raise ValidationError(_("This request is closed."))
    account_ensure_staff_may_act(target=request.user, actor=actor)
    return request.user


def _locked(request: DataRequest) -> DataRequest:
    return (
        DataRequest.objects.select_for_update(of=("self",))
        .select_related("user")
        .get(pk=request.pk)
    )


@transaction.atomic
def data_request_propose_erasure(*, request: DataRequest, actor: User) -> DataRequest:
    """The first pair of eyes: a staff member proposes to erase the request's account. It
    is carried out only when another staff member approves it."""
    request = (
        DataRequest.objects.select_for_update(of=("self",))
        .select_related("user")
        .get(pk=request.pk)
    )
    user = _account_erasure_checked(request, actor)
    if request.erasure_reason != "minor":  # a minor's account goes at once (DESIGN: Privacy)
        _grace_ensure_over(user)
    if request.erasure_proposed_by_id is not None:
        raise ValidationError(
            _("This erasure was already proposed; another staff member approves it.")
        )
    request.erasure_proposed_by = actor
    request.erasure_proposed_at = timezone.now()
    request.save(update_fields=["erasure_proposed_by", "erasure_proposed_at"])
    audit_record(
        workspace=None, action="privacy.erasure_proposed", actor=actor, target=request, details={}
    )
    return request


@transaction.atomic
def data_request_approve_erasure(*, request: DataRequest, actor: User) -> DataRequest:
    """The second pair of eyes: another staff member approves the proposed erasure, and the
    account is erased at once."""
    request = (
        DataRequest.objects.select_for_update(of=("self",))
        .select_related("user")
        .get(pk=request.pk)
    )
    user = _account_erasure_checked(request, actor)
    if request.erasure_reason != "minor":
        _grace_ensure_over(user)
    if request.erasure_proposed_by_id is None:
        raise ValidationError(_("Propose the erasure first; another staff member approves it."))
    if request.erasure_proposed_by_id == actor.pk:
        raise ValidationError(
            _("The staff member who proposed an erasure cannot approve it: ask a colleague.")
        )
    request.erasure_approved_by = actor
    request.erasure_approved_at = timezone.now()
    request.save(update_fields=["erasure_approved_by", "erasure_approved_at"])
    audit_record(
        workspace=None,
        action="privacy.erasure_approved",
        actor=actor,
        target=request,
        details={"proposed_by": request.erasure_proposed_by_id},
    )
    account_erase(
        user=user,
        actor=actor,
        reason=request.erasure_reason or "data_request",
        data_request=request,
    )
    request.refresh_from_db()
    return request


@transaction.atomic
def data_request_apply_restriction(*, request: DataRequest, actor: User) -> DataRequest:
    if request.user is None:
        raise ValidationError(_("This request is not linked to an account."))
    account_ensure_staff_may_act(target=request.user, actor=actor)
    processing_restrict(
        user=request.user, actor=actor, objection=request.kind == DataRequest.Kind.OBJECTION
    )
    return data_request_complete(request=request, actor=actor, note="restriction applied")


@transaction.atomic
def data_request_build_export(*, request: DataRequest, actor: User) -> DataExport:
    if request.user is None:
        raise ValidationError(_("This request is not linked to an account."))
    account_ensure_staff_may_act(target=request.user, actor=actor)
    locked = data_request_take(request=request, actor=actor, note="export queued")
    return export_request(user=request.user, actor=actor, data_request=locked)


def _grace_ensure_over(user: User) -> None:
    """An account deactivated on its owner's request keeps its 30 days: the owner was told the
    link restores it until then, and the purge job erases it (and completes the request) when
    they end. Staff cannot cut that short."""
    purge_after = (
        PrivacyProfile.objects.filter(user=user, user__is_active=False)
        .values_list("purge_after", flat=True)
        .first()
    )
    if purge_after is not None and purge_after > timezone.now():
        raise ValidationError(
            _(
                "This account is in its 30-day grace period: its owner can still restore it "
                "until %(date)s. It is erased automatically then, and this request completed."
            )
            % {"date": timezone.localtime(purge_after).strftime("%Y-%m-%d")}
        )


def data_request_execute_erasure(*, request: DataRequest, actor: User | None) -> DataRequest:
    """Run an erasure request: the account (if linked) or the contact's number. An account is
    erased here only when its owner asked (their own confirmed request) or when a second
    staff member approved the proposal (`data_request_approve_erasure`, which erases)."""
    if request.status not in (
        DataRequest.Status.VERIFIED,
        DataRequest.Status.IN_PROGRESS,
        DataRequest.Status.RECEIVED,
    ):
        raise ValidationError(_("Only a verified or received request can be executed."))
    if request.user is not None:
        account_ensure_staff_may_act(target=request.user, actor=actor)
        _grace_ensure_over(request.user)
        if not erasure_asked_by_owner(request):
            raise ValidationError(
                _(
                    "The account's owner did not ask for this erasure: it needs a second "
                    "staff member's approval. Propose it; a colleague approves it."
                )
            )
        account_erase(user=request.user, actor=actor, reason="data_request", data_request=request)
    elif request.contact_phone:
        proof = recipient_erase(
            workspace=request.workspace,
            phone=request.contact_phone,
            actor=actor,
            reason=f"data request {request.public_id}",
        )
        DataRequest.objects.filter(pk=request.pk).update(contact_phone="")
        request.refresh_from_db()
        data_request_complete(request=request, actor=actor, note="number erased", proof=proof)
    else:
        raise ValidationError(_("Nothing to erase: no account and no phone number."))
    request.refresh_from_db()
    return request
