"""`run_sync`: a coroutine run from synchronous code happens, even where the calling thread
already runs an event loop (where `asyncio.run` refused and left the call undone)."""

from __future__ import annotations

import asyncio
import warnings

import pytest

from core.asyncrun import run_sync


async def _answer() -> int:
    await asyncio.sleep(0)
    return 42


async def _refuse() -> int:
    raise ValueError("refused")


def test_it_runs_the_call_from_plain_synchronous_code() -> None:
    assert run_sync(_answer) == 42


def test_it_runs_the_call_where_an_event_loop_already_runs() -> None:
    async def caller_with_a_loop() -> int:
        return run_sync(_answer)  # synchronous code called from inside a running loop

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "coroutine ... was never awaited" fails the test
        assert asyncio.run(caller_with_a_loop()) == 42


def test_the_calls_error_reaches_the_caller_either_way() -> None:
    async def caller_with_a_loop() -> int:
        return run_sync(_refuse)

    with pytest.raises(ValueError, match="refused"):
        run_sync(_refuse)
    with pytest.raises(ValueError, match="refused"):
        asyncio.run(caller_with_a_loop())
