"""Thin tasks for webhook events: parse a stored event, requeue stale ones."""

from celery import shared_task


@shared_task(name="messaging.tasks.webhook_event_process_task", acks_late=True)
def webhook_event_process_task(*, event_id: int) -> None:
    from messaging.numbers.services import webhook_event_parse

    webhook_event_parse(event_id=event_id)


@shared_task(name="messaging.tasks.webhook_events_drain_task", acks_late=True)
def webhook_events_drain_task(*, slot: int = 0) -> int:
    from messaging.numbers.services import webhook_events_drain

    return webhook_events_drain(slot=slot)


@shared_task(name="messaging.tasks.webhook_events_requeue_stale_task")
def webhook_events_requeue_stale_task() -> int:
    from messaging.numbers.services import webhook_events_requeue_stale

    return webhook_events_requeue_stale()


@shared_task(name="messaging.tasks.numbers_health_refresh_task")
def numbers_health_refresh_task() -> int:
    """Beat: ask Meta about every live Cloud API number (one task each)."""
    from messaging.numbers.health import numbers_health_refresh_due

    ids = numbers_health_refresh_due()
    for sender_id in ids:
        number_health_refresh_task.delay(sender_id=sender_id)
    return len(ids)


@shared_task(name="messaging.tasks.number_health_refresh_task")
def number_health_refresh_task(*, sender_id: int, event: str = "hourly") -> bool:
    from messaging.numbers.health import number_health_refresh
    from messaging.numbers.models import Sender

    # Platform job, one number by its id (no request, no workspace to scope by).
    sender = Sender.objects.filter(pk=sender_id, removed_at__isnull=True).first()
    if sender is None or sender.provider != Sender.Provider.CLOUD_API:
        return False
    return number_health_refresh(sender=sender, event=event).ok


@shared_task(name="messaging.tasks.numbers_keep_alive_task")
def numbers_keep_alive_task() -> dict[str, int]:
    """Beat: judge the warm-up plans' previous day, protect numbers whose block or opt-out
    rate rose, and raise the pace of protected numbers that are healthy again (issue #21)."""
    from messaging.numbers.protection import numbers_protect_due, numbers_restore_due
    from messaging.numbers.warmup import warmups_evaluate

    return {
        "warmups": len(warmups_evaluate()),
        "protected": len(numbers_protect_due()),
        "restored": len(numbers_restore_due()),
    }
