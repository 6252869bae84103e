"""Thin tasks for webhook events: parse a stored event, requeue stale ones."""

from celery import shared_task


@shared_task(name="messaging.tasks.webhook_event_process_task", acks_late=True)
def webhook_event_process_task(*, event_id: int) -> None:
    from messaging.numbers.services import webhook_event_parse

    webhook_event_parse(event_id=event_id)


@shared_task(name="messaging.tasks.webhook_events_requeue_stale_task")
def webhook_events_requeue_stale_task() -> int:
    from messaging.numbers.services import webhook_events_requeue_stale

    return webhook_events_requeue_stale()
