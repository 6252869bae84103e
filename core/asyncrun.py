"""Running one coroutine to completion from synchronous code (a web request, a Celery task).

`asyncio.run` refuses to start while an event loop already runs in the calling thread, and
then leaves the coroutine it was given never awaited: the call silently did not happen. Web
requests and tasks have no loop of their own, but a caller that does (Playwright's sync API in
the browser tests runs one in the test thread, which ran eager Celery tasks) would lose the
call. Such a caller gets the coroutine run on a thread of its own."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run_sync(main: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run `main()` to completion and return its result (its exception propagates).

    Takes the coroutine function, not a coroutine, so nothing is created that could be left
    unawaited."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(main())
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["result"] = asyncio.run(main())
        except BaseException as exc:  # handed to the caller below
            outcome["error"] = exc

    thread = threading.Thread(target=work, name="run_sync")
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]
