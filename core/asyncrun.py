"""Running one coroutine to completion from synchronous code (a web request, a Celery task).

`asyncio.run` refuses to start while an event loop already runs in the calling thread, and
then leaves the coroutine it was given never awaited: the call silently did not happen. Web
requests and tasks have no loop of their own, but a caller that does (Playwright's sync API in
the browser tests runs one in the test thread, which ran eager Celery tasks) would lose the
call. Such a caller gets the coroutine run on a thread of its own."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
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
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="run_sync") as pool:
        return pool.submit(lambda: asyncio.run(main())).result()
