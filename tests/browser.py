"""Debian's Chromium under Playwright's sync API, shared by the browser test packages
(tests/e2e, tests/journeys): each package's conftest opens one browser with `chromium()`."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextmanager
def chromium() -> Iterator[Any]:
    """One headless Chromium for the duration of the block (skip when it is not installed)."""
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (make browsers installs it)")
    # Playwright's sync API runs an event loop in this thread; Django refuses ORM calls from a
    # thread with a running loop unless told this is deliberate (browser tests only).
    # Use it at package scope: the sync API's loop must be gone before other tests use
    # asyncio.run().
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "1"
    from playwright.sync_api import sync_playwright

    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
            )
            try:
                yield browser
            finally:
                browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def publish_initial_policies() -> None:
    """A transactional test flushes every table, including the policy versions that a data
    migration publishes; sign-up needs them, so publish them again the same way."""
    import importlib

    from django.apps import apps

    importlib.import_module("privacy.migrations.0002_initial_policies").publish(apps, None)
