"""Recipient erasure: one person's number erased across a workspace, or platform-wide, and
kept off the suppression list's way back in. The number's data lives in other apps (contacts,
messages, replies are messaging's): each erases its part through its privacy door."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import User, Workspace
from accounts.services import audit_record

from .. import registry
from .identifiers import phone_normalize, subject_hash
from .scrub import residual_scrub

SCOPE_WORKSPACE = "workspace"
SCOPE_PLATFORM = "platform"


@transaction.atomic
def recipient_erase(
    *,
    workspace: Workspace | None,
    phone: str,
    actor: User | None,
    reason: str = "",
    ip: str | None = None,
) -> dict[str, Any]:
    """Erase one recipient's number in one workspace, or platform-wide when workspace is
    None: contact rows deleted, phone and text removed from messages, and a salted hash put
    on the suppression list so a re-import needs fresh consent."""
    e164 = phone_normalize(phone)
    digest = subject_hash(e164)
    counts: dict[str, int] = {}
    for door in registry.doors():
        counts.update(
            door.erase_recipient(workspace=workspace, phone_e164=e164, reason=reason, actor=actor)
        )
    counts["residual_scrubbed"] = residual_scrub(
        [e164, e164[1:]],
        f"erased-{digest[:12]}",
        workspace_id=workspace.pk if workspace else None,
    )
    proof = {
        "subject_hash": digest,
        "scope": SCOPE_WORKSPACE if workspace else SCOPE_PLATFORM,
        "workspace_id": workspace.pk if workspace else None,
        "counts": counts,
        "erased_at": timezone.now().isoformat(),
        "by": f"user #{actor.pk}" if actor is not None else "system",
    }
    audit_record(
        workspace=workspace, action="privacy.recipient_erased", actor=actor, ip=ip, details=proof
    )
    return proof
