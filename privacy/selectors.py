"""Reads shared by views, admin, tasks and other apps (the importer asks
`phone_is_suppressed`)."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.db.models import Q
from django.utils import timezone

from accounts.models import AuditEvent, LoginEvent, Membership, User, Workspace
from accounts.permissions import Role
from privacy.models import Consent, DataExport, DataRequest, PolicyDocument, PrivacyProfile

ACCEPTANCE_KINDS = (PolicyDocument.Kind.TERMS, PolicyDocument.Kind.PRIVACY)


def policy_current(*, kind: str) -> PolicyDocument | None:
    """The version in force now: the latest whose effective date has passed."""
    return (
        PolicyDocument.objects.filter(kind=kind, effective_at__lte=timezone.now())
        .order_by("-effective_at", "-id")
        .first()
    )


def policy_history(*, kind: str) -> list[PolicyDocument]:
    return list(PolicyDocument.objects.filter(kind=kind).order_by("-effective_at", "-id"))


def policy_upcoming(*, kind: str) -> PolicyDocument | None:
    """A published version that is not in force yet (announced ahead of its date)."""
    return (
        PolicyDocument.objects.filter(kind=kind, effective_at__gt=timezone.now())
        .order_by("effective_at", "id")
        .first()
    )


def policies_in_force_for_acceptance() -> list[PolicyDocument]:
    """The terms and privacy versions in force now, in one query."""
    return list(
        PolicyDocument.objects.filter(kind__in=ACCEPTANCE_KINDS, effective_at__lte=timezone.now())
        .order_by("kind", "-effective_at", "-id")
        .distinct("kind")
    )


def policy_pending_for_user(
    *, user: User, in_force: list[PolicyDocument] | None = None
) -> list[PolicyDocument]:
    """Terms/privacy versions in force that the user must accept before going on: versions
    that took effect after they joined and that they have not accepted. (Whoever signed up
    under a version accepted it at sign-up.)"""
    candidates = [
        doc
        for doc in (in_force if in_force is not None else policies_in_force_for_acceptance())
        if doc.effective_at > user.date_joined
    ]
    if not candidates:
        return []
    accepted = set(
        Consent.objects.filter(user=user, document__in=candidates, granted=True).values_list(
            "document_id", flat=True
        )
    )
    return [doc for doc in candidates if doc.pk not in accepted]


def marketing_allowed(*, user: User) -> bool:
    """Whether a marketing e-mail may go to this user: opted in, not restricted or objecting,
    and active. Every marketing sender must ask this first."""
    if not user.is_active:
        return False
    profile = PrivacyProfile.objects.filter(user=user).first()
    return bool(profile and profile.marketing_opt_in and not profile.is_restricted)


def analytics_allowed(*, user: User | None, cookie_choice: str) -> bool:
    """Analytics only with the visitor's consent, and never for a restricted account."""
    if cookie_choice != "analytics":
        return False
    if user is None or not user.is_authenticated:
        return True
    profile = PrivacyProfile.objects.filter(user=user).first()
    return not (profile and profile.is_restricted)


def phone_hash_for(phone: str) -> str:
    from privacy.services import phone_normalize, subject_hash

    return subject_hash(phone_normalize(phone))


def phone_is_suppressed(*, workspace: Workspace, phone: str) -> bool:
    """True when the number was erased in this workspace or platform-wide: the importer must
    not bring it back without fresh consent. An unparsable number is not suppressed (the
    importer rejects it on its own terms)."""
    from django.core.exceptions import ValidationError

    from privacy.models import SuppressedPhone

    try:
        digest = phone_hash_for(phone)
    except ValidationError:
        return False
    return SuppressedPhone.objects.filter(
        Q(scope=SuppressedPhone.Scope.PLATFORM) | Q(workspace=workspace), phone_hash=digest
    ).exists()


def consent_state(*, user: User) -> dict[str, bool]:
    """The latest grant/withdrawal per purpose."""
    state: dict[str, bool] = {}
    for purpose, granted in (
        Consent.objects.filter(user=user)
        .order_by("created_at", "id")
        .values_list("purpose", "granted")
    ):
        state[purpose] = granted
    return state


def privacy_profile_of(*, user: User) -> PrivacyProfile | None:
    return PrivacyProfile.objects.filter(user=user).first()


def _count(label: str, workspace_ids: list[int]) -> int | None:
    try:
        model = apps.get_model(label)
    except LookupError:
        return None
    return model._base_manager.filter(workspace_id__in=workspace_ids).count()


def privacy_centre_summary(*, user: User) -> list[dict[str, Any]]:
    """What we hold about the user, by the privacy policy's categories, with counts."""
    owned = list(
        Membership.objects.filter(user=user, role=Role.OWNER).values_list("workspace_id", flat=True)
    )
    rows: list[dict[str, Any]] = [
        {"category": "account", "count": 1},
        {"category": "login_events", "count": LoginEvent.objects.filter(user=user).count()},
        {"category": "audit_events", "count": AuditEvent.objects.filter(actor_user=user).count()},
        {"category": "consents", "count": Consent.objects.filter(user=user).count()},
        {"category": "memberships", "count": Membership.objects.filter(user=user).count()},
        {"category": "workspaces_owned", "count": len(owned)},
    ]
    for category, label in (
        ("numbers", "messaging.Sender"),
        ("contacts", "messaging.Contact"),
        ("templates", "messaging.MessageTemplate"),
        ("messages", "messaging.Message"),
        ("orders", "billing.Order"),
    ):
        count = _count(label, owned)
        if count is not None:
            rows.append({"category": category, "count": count})
    return rows


def exports_for_user(*, user: User) -> list[DataExport]:
    return list(DataExport.objects.filter(user=user).order_by("-created_at")[:10])


def requests_for_user(*, user: User) -> list[DataRequest]:
    return list(DataRequest.objects.filter(user=user).order_by("-received_at")[:20])


def phones_suppressed(*, workspace_id: int, phones: list[str]) -> set[str]:
    """The subset of `phones` (E.164) erased in this workspace or platform-wide: one query for
    a whole import chunk."""
    from django.db.models import Q

    from privacy.models import SuppressedPhone
    from privacy.services import subject_hash

    if not phones:
        return set()
    relevant = SuppressedPhone.objects.filter(
        Q(workspace_id=workspace_id) | Q(scope=SuppressedPhone.Scope.PLATFORM)
    )
    if not relevant.exists():  # the usual case: nobody to keep out, no hashing, no big query
        return set()
    by_hash = {subject_hash(phone): phone for phone in phones}
    # `= ANY(array)`: one parameter instead of thousands of placeholders to compile.
    hits = relevant.extra(  # noqa: S610 - a fixed clause; the hashes travel as one parameter
        where=["phone_hash = ANY(%s)"], params=[list(by_hash)]
    ).values_list("phone_hash", flat=True)
    return {by_hash[digest] for digest in hits}
