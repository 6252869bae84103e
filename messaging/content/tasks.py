"""Celery tasks of the content wing: thin, they take ids and call one service."""

from __future__ import annotations

from celery import shared_task
from django.core.exceptions import ValidationError


@shared_task(name="messaging.tasks.whatsapp_templates_sync_task", acks_late=True)
def whatsapp_templates_sync_task(*, sender_id: int) -> dict[str, int] | None:
    """Sync one number's WABA templates (after connecting it, or for an unknown template)."""
    from messaging.content.services import whatsapp_templates_sync
    from messaging.numbers.models import Sender

    sender = Sender.objects.select_related("workspace").filter(pk=sender_id).first()
    if sender is None:
        return None
    try:
        result = whatsapp_templates_sync(workspace=sender.workspace, sender=sender)
    except ValidationError:
        return None  # Meta refused (credentials, WABA): the daily sync and the button retry
    return {"created": result.created, "updated": result.updated, "removed": result.removed}


@shared_task(name="messaging.tasks.whatsapp_templates_sync_all_task")
def whatsapp_templates_sync_all_task() -> dict[str, int]:
    """The daily sync: one short task per WABA (a refused number never stops the others)."""
    from messaging.content.services import whatsapp_templates_sync_due_numbers

    numbers = whatsapp_templates_sync_due_numbers()
    for sender_id in numbers:
        whatsapp_templates_sync_task.delay(sender_id=sender_id)
    return {"queued": len(numbers)}
