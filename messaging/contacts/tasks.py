"""Contact tasks: thin, call one service (names fixed: the beat schedule uses them)."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="messaging.tasks.contact_vocabulary_prune_task")
def contact_vocabulary_prune_task() -> int:
    """Daily: forget tags and attribute names no contact uses any more."""
    from messaging.contacts.services import contact_vocabulary_prune

    return contact_vocabulary_prune()


@shared_task(name="messaging.tasks.opt_out_confirmations_send_task")
def opt_out_confirmations_send_task(*, workspace_id: int, inbound_ids: list[int]) -> int:
    """Confirm the opt-outs among newly stored replies (when the workspace asks for it)."""
    from accounts.models import Workspace
    from messaging.campaigns.messages import opt_out_confirmations_send

    workspace = Workspace.objects.get(pk=workspace_id)
    return len(opt_out_confirmations_send(workspace=workspace, inbound_ids=inbound_ids))
