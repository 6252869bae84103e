from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from django.db import transaction

from accounts.models import User

from .models import Consent, PolicyDocument
from .selectors import policy_current


@transaction.atomic
def consent_record_signup(*, user: User, ip: str | None, user_agent: str = "") -> list[Consent]:
    """Record what a new user accepted at sign-up: the current terms and privacy policy
    versions, and the 18+ confirmation, with time and IP."""
    consents: list[Consent] = []
    for kind in (PolicyDocument.Kind.TERMS, PolicyDocument.Kind.PRIVACY):
        document = policy_current(kind=kind)
        if document is None:
            raise ImproperlyConfigured(f"No {kind} document is in force; run migrations.")
        consents.append(
            Consent(user=user, purpose=kind, document=document, ip=ip, user_agent=user_agent)
        )
    consents.append(
        Consent(user=user, purpose=Consent.Purpose.AGE_CONFIRMATION, ip=ip, user_agent=user_agent)
    )
    return Consent.objects.bulk_create(consents)
