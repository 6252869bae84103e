"""The engine's tick kicks the drainers of the numbers that have a message due now, and only
those (a number whose queue waits for later, or is empty, is left alone)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from messaging.campaigns.models import Message
from messaging.engine import recovery
from messaging.numbers.models import Sender


@pytest.mark.django_db
def test_the_tick_kicks_only_the_numbers_with_a_message_due_now(workspace, monkeypatch) -> None:
    kicked: list[list[int]] = []
    monkeypatch.setattr(recovery, "dispatch_kick", lambda *, sender_ids: kicked.append(sender_ids))
    due, later, idle, sent = (
        Sender.objects.create(workspace=workspace, provider="sandbox", status="active")
        for _ in range(4)
    )
    now = timezone.now()

    def message(sender: Sender, *, status: str = "queued", at: timedelta = timedelta(0)) -> None:
        Message.objects.create(
            workspace=workspace,
            sender=sender,
            phone="+994501234567",
            status=status,
            next_attempt_at=now + at,
        )

    message(due, at=-timedelta(seconds=5))
    message(due, at=timedelta(hours=1))
    message(later, at=timedelta(minutes=10))  # a retry that waits
    message(sent, status="accepted", at=-timedelta(minutes=1))

    recovery.tick()

    assert kicked == [[due.pk]]
