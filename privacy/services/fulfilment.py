"""Carrying out a request from the queue: each kind handed to the service that does the work,
then the request completed with its proof."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from privacy.models import DataExport, DataRequest
from privacy.services.erasure import account_erase
from privacy.services.export import export_request
from privacy.services.profile import processing_restrict
from privacy.services.recipients import recipient_erase
from privacy.services.requests import data_request_complete, data_request_take


@transaction.atomic
def data_request_apply_restriction(*, request: DataRequest, actor: User) -> DataRequest:
    if request.user is None:
        raise ValidationError(_("This request is not linked to an account."))
    processing_restrict(
        user=request.user, actor=actor, objection=request.kind == DataRequest.Kind.OBJECTION
    )
    return data_request_complete(request=request, actor=actor, note="restriction applied")


@transaction.atomic
def data_request_build_export(*, request: DataRequest, actor: User) -> DataExport:
    if request.user is None:
        raise ValidationError(_("This request is not linked to an account."))
    locked = data_request_take(request=request, actor=actor, note="export queued")
    return export_request(user=request.user, actor=actor, data_request=locked)


def data_request_execute_erasure(*, request: DataRequest, actor: User | None) -> DataRequest:
    """Run an erasure request: the account (if linked) or the contact's number."""
    if request.status not in (
        DataRequest.Status.VERIFIED,
        DataRequest.Status.IN_PROGRESS,
        DataRequest.Status.RECEIVED,
    ):
        raise ValidationError(_("Only a verified or received request can be executed."))
    if request.user is not None:
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
