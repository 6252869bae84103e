"""Thin tasks for outgoing webhooks (the `webhooks` queue, settings.CELERY_TASK_ROUTES)."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="integrations.tasks.webhook_deliveries_send_task", acks_late=True)
def webhook_deliveries_send_task() -> dict[str, int]:
    """One slice of due deliveries (every workspace's: a platform job); re-queues itself while
    due work remains. Beat runs it every few seconds too, so a lost kick costs one tick."""
    from integrations.services import webhook_deliveries_send_due

    result = webhook_deliveries_send_due()
    if result["more"]:
        webhook_deliveries_send_task.delay()
    return result
