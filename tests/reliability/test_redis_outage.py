"""Redis holds only what may be lost: when it fails while a drainer records a batch it has
already sent, the batch is still recorded (once). Before the fix, the cache read of the
webhook-endpoint list and the campaign-refresh throttle raised inside the recording transaction,
rolled it back, and the batch was sent again after its lease expired (found by the Redis-restart
test in test_celery_worker.py)."""

from __future__ import annotations

from typing import Any

import pytest
import redis

from integrations import services as integration_services
from messaging.campaigns.models import Message
from messaging.engine import dispatch, reactions, runtime

pytestmark = pytest.mark.django_db


class _CacheDown:
    """The Django cache while Redis restarts."""

    def get(self, *args: Any, **kwargs: Any) -> Any:
        raise redis.ConnectionError("Connection refused")

    set = get


class _ThrottleDown:
    """The engine's Redis client with the campaign-refresh throttle keys failing (the drain
    lease and the limiter, taken before anything is sent, still work)."""

    def __init__(self, real: redis.Redis) -> None:
        self._real = real

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def set(self, key: str, *args: Any, **kwargs: Any) -> Any:
        if key.startswith("isend:campaign-refresh:"):
            raise redis.ConnectionError("Connection refused")
        return self._real.set(key, *args, **kwargs)


def test_a_redis_failure_while_recording_a_sent_batch_does_not_send_it_again(
    contacts, credits, sandbox_number, launch, engine_sandbox, monkeypatch
) -> None:
    # given: a campaign sent in several batches (100/s) while Redis fails for the cache and the
    # refresh throttle, which the drainer uses while it records each batch
    contacts(300)
    credits(300)
    number = sandbox_number(rate=100)
    campaign = launch([number])
    real = dispatch.redis_client()
    monkeypatch.setattr(integration_services, "cache", _CacheDown())
    # Every engine module that reaches Redis while recording (the send-rate counters in
    # dispatch, the campaign-refresh throttle in reactions) gets the failing client.
    for module in (dispatch, reactions, runtime):
        monkeypatch.setattr(module, "redis_client", lambda: _ThrottleDown(real))

    # when: a drainer sends
    result = dispatch.drain(sender_id=number.pk, slice_seconds=5.0)

    # then: what the gateway accepted is recorded as accepted, nothing waits to be sent again
    accepted = engine_sandbox.number_stats(number.phone_number_id)["accepted"]
    assert result.accepted == accepted > 100  # more than one batch went out
    assert Message.objects.filter(campaign=campaign, status=Message.Status.ACCEPTED).count() == (
        accepted
    )
    assert not Message.objects.filter(campaign=campaign, status=Message.Status.SENDING).exists()
