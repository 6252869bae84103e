"""Recipient erasure: one person's number erased across a workspace, or platform-wide, and
kept off the suppression list's way back in. The number's data lives in other apps (contacts,
messages, replies are messaging's): each erases its part through its privacy door, and the
number is read by the app that keeps recipients' numbers."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils import timezone

from accounts.models import User, Workspace
from accounts.services import audit_record
from privacy import registry
from privacy.services.identifiers import subject_hash
from privacy.services.scrub import residual_scrub

SCOPE_WORKSPACE = "workspace"
SCOPE_PLATFORM = "platform"


def recipient_phone(*, workspace: Workspace | None, phone: str) -> str:
    """The E.164 form of a number as a person typed it: "050 123 45 67" in a workspace whose
    default country is Azerbaijan is +994501234567. Read by the door of the app that keeps
    recipients' numbers (messaging), so there is one reading of a phone number in the product.
    Raises ValidationError with a message a person can act on."""
    for door in registry.doors():
        e164 = door.recipient_phone(workspace=workspace, phone=phone)
        if e164 is not None:
            return e164
    raise ImproperlyConfigured("No installed app reads recipients' numbers (privacy doors).")


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
    on the suppression list so a re-import needs fresh consent. `phone` may be typed in any
    common form; national forms are read in the workspace's default country."""
    e164 = recipient_phone(workspace=workspace, phone=phone)
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
