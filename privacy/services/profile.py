"""Per-user privacy state: restriction of and objection to processing."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.services import audit_record
from privacy.models import PrivacyProfile


def privacy_profile_get(*, user: User) -> PrivacyProfile:
    profile, _created = PrivacyProfile.objects.get_or_create(user=user)
    return profile


@transaction.atomic
def processing_restrict(
    *, user: User, actor: User | None, objection: bool = False, ip: str | None = None
) -> PrivacyProfile:
    """Restrict (or object to) processing: excluded from marketing, analytics and
    non-essential processing until lifted. Marketing opt-in is switched off."""
    profile = PrivacyProfile.objects.select_for_update().get(pk=privacy_profile_get(user=user).pk)
    now = timezone.now()
    if objection:
        profile.objected_at = profile.objected_at or now
    else:
        profile.restricted_at = profile.restricted_at or now
    profile.marketing_opt_in = False
    profile.save(update_fields=["objected_at", "restricted_at", "marketing_opt_in"])
    audit_record(
        workspace=None,
        action="privacy.objection_recorded" if objection else "privacy.restriction_applied",
        actor=actor,
        target=profile,
        ip=ip,
    )
    return profile


@transaction.atomic
def processing_lift(*, user: User, actor: User | None, ip: str | None = None) -> PrivacyProfile:
    profile = PrivacyProfile.objects.select_for_update().get(pk=privacy_profile_get(user=user).pk)
    profile.restricted_at = None
    profile.objected_at = None
    profile.save(update_fields=["objected_at", "restricted_at"])
    audit_record(
        workspace=None, action="privacy.restriction_lifted", actor=actor, target=profile, ip=ip
    )
    return profile
