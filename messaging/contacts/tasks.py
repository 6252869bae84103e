"""Contact tasks: thin, call one service (names fixed: the beat schedule uses them)."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="messaging.tasks.contact_vocabulary_prune_task")
def contact_vocabulary_prune_task() -> int:
    """Daily: forget tags and attribute names no contact uses any more."""
    from messaging.contacts.services import contact_vocabulary_prune

    return contact_vocabulary_prune()
