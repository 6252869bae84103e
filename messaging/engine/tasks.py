"""Thin Celery tasks for the engine: ids in, one service call, nothing more. Every task is
short (a fan-out chunk, a drain slice, a tick); retries and schedules live in Postgres."""

from __future__ import annotations

from celery import shared_task

# Each `type: ignore[untyped-decorator]` below: celery ships no type hints (no py.typed, no
# stubs installed), so mypy sees `shared_task` as untyped; the bodies are still checked.


@shared_task(name="messaging.tasks.dispatch_sender_task", acks_late=True)  # type: ignore[untyped-decorator]
def dispatch_sender_task(*, sender_id: int) -> dict[str, int]:
    from messaging.engine.dispatch import drain
    from messaging.engine.kick import dispatch_continue, dispatch_wake

    result = drain(sender_id=sender_id)
    if result.more:
        # behind new work of other numbers (and, for a large workspace, of small workspaces)
        dispatch_continue(sender_id=sender_id, workspace_numbers=result.workspace_numbers)
    elif result.next_due_in is not None:
        # a paced campaign's next message: sent when it falls due, not at the next tick
        dispatch_wake(
            sender_id=sender_id,
            in_seconds=result.next_due_in,
            workspace_numbers=result.workspace_numbers,
        )
    return {"claimed": result.claimed, "accepted": result.accepted, "failed": result.failed}


@shared_task(name="messaging.tasks.campaign_fanout_task", acks_late=True)  # type: ignore[untyped-decorator]
def campaign_fanout_task(*, campaign_id: int) -> None:
    from messaging.engine.fanout import fanout_chunk

    if fanout_chunk(campaign_id=campaign_id):
        campaign_fanout_task.apply_async(kwargs={"campaign_id": campaign_id})


@shared_task(name="messaging.tasks.engine_tick_task")  # type: ignore[untyped-decorator]
def engine_tick_task() -> dict[str, int]:
    from messaging.engine.recovery import tick

    return tick()


@shared_task(name="messaging.tasks.credits_reconcile_task")  # type: ignore[untyped-decorator]
def credits_reconcile_task() -> int:
    """Credits spent vs messages accepted, for campaigns open or finished in the last 2 days."""
    from datetime import timedelta

    from django.utils import timezone

    from messaging.engine.reconcile import credits_reconcile_report

    return credits_reconcile_report(active_since=timezone.now() - timedelta(days=2))
