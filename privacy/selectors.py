from __future__ import annotations

from django.utils import timezone

from .models import PolicyDocument


def policy_current(*, kind: str) -> PolicyDocument | None:
    """The version in force now: the latest whose effective date has passed."""
    return (
        PolicyDocument.objects.filter(kind=kind, effective_at__lte=timezone.now())
        .order_by("-effective_at", "-id")
        .first()
    )


def policy_history(*, kind: str) -> list[PolicyDocument]:
    return list(PolicyDocument.objects.filter(kind=kind).order_by("-effective_at", "-id"))
