"""How privacy's audit actions read to a person (see `accounts.presenters`)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy

AUDIT_SENTENCES: dict[str, Any] = {
    "privacy.account_deletion_scheduled": gettext_lazy(
        "%(target)s asked to delete their account (deleted after 30 days unless restored)"
    ),
    "privacy.account_deactivated": gettext_lazy("%(target)s deactivated their account"),
    "privacy.account_reactivated": gettext_lazy("%(target)s restored their account"),
    "privacy.account_erased": gettext_lazy("An account was erased"),
    "privacy.erasure_proposed": gettext_lazy(
        "%(actor)s proposed erasing an account (a second person must approve)"
    ),
    "privacy.erasure_approved": gettext_lazy("%(actor)s approved erasing an account"),
    "privacy.consent_granted": gettext_lazy("%(actor)s gave consent: %(purpose)s"),
    "privacy.consent_withdrawn": gettext_lazy("%(actor)s withdrew consent: %(purpose)s"),
    "privacy.export_requested": gettext_lazy("%(actor)s asked for a copy of their data"),
    "privacy.export_ready": gettext_lazy("A copy of the data is ready to download"),
    "privacy.export_downloaded": gettext_lazy("%(actor)s downloaded a copy of their data"),
    "privacy.restriction_applied": gettext_lazy("%(actor)s restricted the use of their data"),
    "privacy.objection_recorded": gettext_lazy("%(actor)s objected to the use of their data"),
    "privacy.restriction_lifted": gettext_lazy("%(actor)s lifted the restriction on their data"),
    "privacy.policy_accepted": gettext_lazy("%(actor)s accepted the %(kind)s"),
    "privacy.policy_published": gettext_lazy("A new version of the %(kind)s was published"),
    "privacy.policy_translation_published": gettext_lazy(
        "A language version of the %(kind)s was published (%(language)s)"
    ),
    "privacy.recipient_erased": gettext_lazy("A recipient's number was erased"),
    "privacy.request_received": gettext_lazy("A data request was received (%(kind)s)"),
    "privacy.request_verified": gettext_lazy("A data request was confirmed by its requester"),
    "privacy.request_assigned": gettext_lazy("A data request was assigned to iSend staff"),
    "privacy.request_edited": gettext_lazy("A data request was updated"),
    "privacy.request_completed": gettext_lazy("A data request was completed (%(kind)s)"),
    "privacy.request_rejected": gettext_lazy("A data request was rejected: %(reason)s"),
    "privacy.request_withdrawn": gettext_lazy("A data request was withdrawn (%(kind)s)"),
}
