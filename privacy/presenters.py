"""How privacy's audit actions read to a person (see `accounts.presenters`)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _l

AUDIT_SENTENCES: dict[str, Any] = {
    "privacy.account_deletion_scheduled": _l(
        "%(target)s asked to delete their account (deleted after 30 days unless restored)"
    ),
    "privacy.account_deactivated": _l("%(target)s deactivated their account"),
    "privacy.account_reactivated": _l("%(target)s restored their account"),
    "privacy.account_erased": _l("An account was erased"),
    "privacy.erasure_proposed": _l(
        "%(actor)s proposed erasing an account (a second person must approve)"
    ),
    "privacy.erasure_approved": _l("%(actor)s approved erasing an account"),
    "privacy.consent_granted": _l("%(actor)s gave consent: %(purpose)s"),
    "privacy.consent_withdrawn": _l("%(actor)s withdrew consent: %(purpose)s"),
    "privacy.export_requested": _l("%(actor)s asked for a copy of their data"),
    "privacy.export_ready": _l("A copy of the data is ready to download"),
    "privacy.export_downloaded": _l("%(actor)s downloaded a copy of their data"),
    "privacy.restriction_applied": _l("%(actor)s restricted the use of their data"),
    "privacy.objection_recorded": _l("%(actor)s objected to the use of their data"),
    "privacy.restriction_lifted": _l("%(actor)s lifted the restriction on their data"),
    "privacy.policy_accepted": _l("%(actor)s accepted the %(kind)s"),
    "privacy.policy_published": _l("A new version of the %(kind)s was published"),
    "privacy.policy_translation_published": _l(
        "A language version of the %(kind)s was published (%(language)s)"
    ),
    "privacy.recipient_erased": _l("A recipient's number was erased"),
    "privacy.request_received": _l("A data request was received (%(kind)s)"),
    "privacy.request_verified": _l("A data request was confirmed by its requester"),
    "privacy.request_assigned": _l("A data request was assigned to iSend staff"),
    "privacy.request_edited": _l("A data request was updated"),
    "privacy.request_completed": _l("A data request was completed (%(kind)s)"),
    "privacy.request_rejected": _l("A data request was rejected: %(reason)s"),
    "privacy.request_withdrawn": _l("A data request was withdrawn (%(kind)s)"),
}
