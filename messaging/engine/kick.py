"""Start drainers now (time to first send about a second), not at the next tick. Tasks are
named, not imported: the engine never imports a task module (messaging/engine/tasks.py is a
thin layer over the engine).

Fairness between tenants: a drain slice that re-queues itself (its number still has work) is
published with a low priority, a kick (new work: a launch, a single send, a resume, the tick)
with none. Kombu's Redis transport keeps one list per priority step and always pops the
lowest-numbered step first, so a small workspace's new campaign is taken by the next free
dispatch thread instead of waiting behind every slice of a large workspace's drain (FIFO: 20
numbers x 5 s slices / 8 threads was about 12 s before its first send). A large workspace's
slices (more than LARGE_WORKSPACE_NUMBERS active numbers) also wait behind a small one's, so
a small campaign longer than one slice is not stretched either."""

from __future__ import annotations

import logging

import redis
from celery import current_app
from django.conf import settings

from messaging.engine.runtime import broker_client, redis_client

log = logging.getLogger(__name__)

DISPATCH_TASK = "messaging.tasks.dispatch_sender_task"
#: Kombu's Redis transport: priority steps 0, 3, 6, 9, lower served first; no priority is 0.
CONTINUE_PRIORITY = 6
#: A workspace sending on more numbers than this is large: its slices wait behind the slices
#: of smaller workspaces too (a small tenant's campaign is not stretched by a big one's queue).
LARGE_WORKSPACE_NUMBERS = 3
CONTINUE_PRIORITY_LARGE = 9
DISPATCH_QUEUE = "dispatch"
#: Kombu's Redis transport keeps a list per priority step: the queue's name for step 0, the
#: name, "\x06\x16" and the step for the others.
_KOMBU_PRIORITY_SEPARATOR = "\x06\x16"
#: The lists served before a large workspace's slices: no priority (kicks), step 3 (unused
#: today) and a small workspace's slices.
_AHEAD_OF_LARGE = [
    DISPATCH_QUEUE,
    *(f"{DISPATCH_QUEUE}{_KOMBU_PRIORITY_SEPARATOR}{step}" for step in (3, CONTINUE_PRIORITY)),
]


def dispatch_kick(*, sender_ids: list[int]) -> None:
    if not settings.ENGINE_KICK_DRAINERS:  # tests drive the drainers themselves
        return
    for sender_id in sender_ids:
        current_app.signature(
            DISPATCH_TASK, kwargs={"sender_id": sender_id}, queue="dispatch"
        ).apply_async()


def dispatch_continue(*, sender_id: int, workspace_numbers: int = 1) -> None:
    """The number's next slice, behind new work of other numbers, and, for a workspace with
    many active numbers, behind the slices of smaller workspaces (see the module's note)."""
    large = workspace_numbers > LARGE_WORKSPACE_NUMBERS
    current_app.signature(
        DISPATCH_TASK, kwargs={"sender_id": sender_id}, queue="dispatch"
    ).apply_async(priority=CONTINUE_PRIORITY_LARGE if large else CONTINUE_PRIORITY)


def work_waiting_ahead_of_large() -> bool:
    """Whether the dispatch queue holds work served before a large workspace's slices (a kick,
    a small workspace's next slice) that no thread has taken: every dispatch thread is busy.
    A large workspace's slice then ends at its next batch and gives the thread way, so a small
    tenant's new campaign starts within a batch, not within a whole slice of every thread
    (8 threads held by a 20-number drain: first send 0.3-2.7 s after launch). A broker that
    does not answer is no reason to stop sending: the slice goes on."""
    if not settings.ENGINE_KICK_DRAINERS:  # no Celery dispatch here (tests drive drainers)
        return False
    try:
        pipe = broker_client().pipeline(transaction=False)
        for key in _AHEAD_OF_LARGE:
            pipe.llen(key)
        return any(pipe.execute())
    except redis.RedisError:
        log.warning("dispatch queue not readable", exc_info=True)
        return False


#: A message due within this long is not worth a delayed task: the next slice runs at once.
WAKE_NOW_SECONDS = 0.05


def dispatch_wake(*, sender_id: int, in_seconds: float, workspace_numbers: int = 1) -> bool:
    """Drain the number again when its next message falls due (a paced campaign's), as a
    delayed task. One wake per number is pending at a time (a Redis key living until it is
    due): the drainers a kick starts meanwhile must not each schedule their own, multiplying
    the chains. Returns whether one was scheduled. Losing Redis or the task costs nothing but
    precision: the tick wakes the number anyway."""
    if not settings.ENGINE_KICK_DRAINERS:  # tests drive the drainers themselves
        return False
    if in_seconds <= WAKE_NOW_SECONDS:
        dispatch_continue(sender_id=sender_id, workspace_numbers=workspace_numbers)
        return True

    try:
        first = redis_client().set(
            f"isend:drain-wake:{sender_id}", 1, nx=True, px=int(in_seconds * 1000) + 1
        )
    except redis.RedisError:
        return False
    if not first:
        return False
    large = workspace_numbers > LARGE_WORKSPACE_NUMBERS
    current_app.signature(
        DISPATCH_TASK, kwargs={"sender_id": sender_id}, queue="dispatch"
    ).apply_async(
        countdown=in_seconds, priority=CONTINUE_PRIORITY_LARGE if large else CONTINUE_PRIORITY
    )
    return True


#: How long a pause is announced to drainers with a batch in flight: longer than any batch.
PAUSE_SIGNAL_SECONDS = 60


def pause_key(campaign_id: int) -> str:
    return f"isend:campaign-paused:{campaign_id}"


def campaigns_pause_signal(*, campaign_ids: list[int]) -> None:
    """Tell drainers whose batch holds these campaigns' messages that they were paused: the
    batch stops before its next send (`dispatch.campaigns_stopped`). Claimed messages wait
    for their slot up to a couple of seconds; without the signal, "Paused" was shown while
    the last ones still went out. Redis lost: only that precision is lost."""
    if not campaign_ids:
        return
    try:
        pipe = redis_client().pipeline(transaction=False)
        for campaign_id in campaign_ids:
            pipe.set(pause_key(campaign_id), 1, ex=PAUSE_SIGNAL_SECONDS)
        pipe.execute()
    except redis.RedisError:
        log.warning("pause signal not sent for campaigns %s", campaign_ids, exc_info=True)


def campaigns_resume_signal(*, campaign_ids: list[int]) -> None:
    """A resumed campaign's pause signal goes: a batch claimed for it must not stop."""
    if not campaign_ids:
        return
    try:
        redis_client().delete(*(pause_key(i) for i in campaign_ids))
    except redis.RedisError:
        log.warning("pause signal not cleared for campaigns %s", campaign_ids, exc_info=True)
