"""Celery tasks of the automation app: thin, take ids, call one service."""

from __future__ import annotations

from celery import shared_task

from accounts.models import Workspace


@shared_task(name="automation.tasks.rules_apply_task", acks_late=True)
def rules_apply_task(*, workspace_id: int, inbound_ids: list[int]) -> int:
    """Apply keyword rules to newly received messages. Safe to redeliver: a rule fires at
    most once per message (a unique run row per rule and message)."""
    from automation.services import rules_apply

    workspace = Workspace.objects.filter(pk=workspace_id).first()
    if workspace is None:
        return 0
    return len(rules_apply(workspace=workspace, inbound_ids=inbound_ids))
