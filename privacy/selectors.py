"""Reads shared by views, admin and tasks. (Whether a number is suppressed is messaging's to
say: `messaging.selectors.phones_suppressed`.)"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone

from accounts.models import AuditEvent, LoginEvent, Membership, User
from accounts.permissions import Role
from privacy import registry
from privacy.models import (
    Consent,
    DataExport,
    DataRequest,
    PolicyDocument,
    PolicyTranslation,
    PrivacyProfile,
)

ACCEPTANCE_KINDS = (PolicyDocument.Kind.TERMS, PolicyDocument.Kind.PRIVACY)


def policy_current(*, kind: str) -> PolicyDocument | None:
    """The version in force now: the latest whose effective date has passed."""
    return (
        PolicyDocument.objects.filter(kind=kind, effective_at__lte=timezone.now())
        .order_by("-effective_at", "-id")
        .first()
    )


@dataclass(frozen=True)
class PolicyText:
    """What a reader is shown of one policy version: its text in their language when that
    language version exists, else the English text (``language`` says which)."""

    title: str
    body: str
    language: str


def policy_text(*, document: PolicyDocument, language: str) -> PolicyText:
    """The language version of ``document`` for a reader of ``language``, falling back to the
    English original."""
    language = language.split("-")[0]
    if language != settings.LANGUAGE_CODE:
        translated = (
            PolicyTranslation.objects.filter(document=document, language=language)
            .only("title", "body", "language")
            .first()
        )
        if translated is not None:
            return PolicyText(translated.title, translated.body, translated.language)
    return PolicyText(document.title, document.body, settings.LANGUAGE_CODE)


def policy_titles(*, documents: list[PolicyDocument], language: str) -> dict[int, str]:
    """Each document's title in ``language`` where a language version exists (one query)."""
    titles = {d.pk: d.title for d in documents}
    titles.update(
        PolicyTranslation.objects.filter(
            document__in=documents, language=language.split("-")[0]
        ).values_list("document_id", "title")
    )
    return titles


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
    # The data of the workspaces they own, as each app counts it (its privacy door).
    for door in registry.doors():
        rows.extend(
            {"category": category, "count": count}
            for category, count in door.summary_for_workspaces(workspace_ids=owned)
        )
    return rows


def exports_for_user(*, user: User) -> list[DataExport]:
    return list(DataExport.objects.filter(user=user).order_by("-created_at")[:10])


def requests_for_user(*, user: User) -> list[DataRequest]:
    return list(DataRequest.objects.filter(user=user).order_by("-received_at")[:20])


@dataclass(frozen=True)
class WorkspaceCredits:
    name: str
    credits: int
    erased: bool  # deleted with the account (no other owner or admin to take it over)


@dataclass(frozen=True)
class CreditsAtDeletion:
    """The credits an account's deletion forfeits, shown before the user confirms: unused
    credits are not refunded (terms 6.6, "No refunds"), whichever way the deletion is asked for."""

    workspaces: list[WorkspaceCredits] = field(default_factory=list)

    @property
    def forfeited(self) -> int:
        return sum(w.credits for w in self.workspaces if w.erased)

    @property
    def kept(self) -> int:
        return sum(w.credits for w in self.workspaces if not w.erased)


def credits_at_deletion(*, user: User) -> CreditsAtDeletion:
    """The workspaces the user owns, each with the credits it holds and whether it goes with
    the account (it does unless another owner or an admin remains: see `account_erase`).
    Two queries whatever the number of workspaces."""
    owned = list(
        Membership.objects.filter(user=user, role=Role.OWNER)
        .select_related("workspace")
        .annotate(
            successors=Count(
                "workspace__memberships",
                filter=Q(workspace__memberships__role__in=[Role.OWNER, Role.ADMIN])
                & ~Q(workspace__memberships__user=user),
            )
        )
        .order_by("workspace__name")
    )
    held = registry.credits_held(workspace_ids=[m.workspace_id for m in owned])
    return CreditsAtDeletion(
        workspaces=[
            WorkspaceCredits(
                name=m.workspace.name,
                credits=held.get(m.workspace_id, 0),
                erased=not m.successors,
            )
            for m in owned
        ]
    )
