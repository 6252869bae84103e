"""Start drainers now (time to first send about a second), not at the next tick. Tasks are
named, not imported: the engine never imports a task module (messaging/engine/tasks.py is a
thin layer over the engine)."""

from __future__ import annotations

from celery import current_app
from django.conf import settings

DISPATCH_TASK = "messaging.tasks.dispatch_sender_task"


def dispatch_kick(*, sender_ids: list[int]) -> None:
    if not settings.ENGINE_KICK_DRAINERS:  # tests drive the drainers themselves
        return
    for sender_id in sender_ids:
        current_app.signature(
            DISPATCH_TASK, kwargs={"sender_id": sender_id}, queue="dispatch"
        ).apply_async()
