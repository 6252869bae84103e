"""Thin tasks: take ids, call one service."""

from __future__ import annotations

from celery import shared_task

from privacy import services


@shared_task(acks_late=True)
def export_build_task(export_id: int) -> None:
    """One section per run; re-queues itself until the archive is done (resumable)."""
    try:
        finished = services.export_build_step(export_id=export_id)
    except Exception as exc:
        services.export_fail(export_id=export_id, error=repr(exc))
        raise
    if not finished:
        export_build_task.delay(export_id)


@shared_task
def data_request_execute_erasure_task(request_id: int) -> None:
    from privacy.models import DataRequest

    request = DataRequest.objects.filter(pk=request_id).select_related("user").first()
    if request is not None and request.is_open:
        services.data_request_execute_erasure(request=request, actor=None)


@shared_task
def accounts_purge_due_task() -> int:
    return services.accounts_purge_due()


@shared_task
def exports_purge_expired_task() -> int:
    return services.exports_purge_expired()


@shared_task
def login_events_purge_task() -> int:
    return services.login_events_purge()


@shared_task
def audit_events_purge_task() -> int:
    return services.audit_events_purge()


@shared_task
def message_bodies_purge_task() -> int:
    return services.message_bodies_purge()


@shared_task
def sessions_purge_task() -> int:
    return services.sessions_and_devices_purge()
