"""Browser tests: Playwright driving Debian's Chromium against pytest-django's live server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.browser import chromium, publish_initial_policies


@pytest.fixture(scope="package")
def browser() -> Iterator[object]:
    with chromium() as browser:
        yield browser


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    context = browser.new_context(locale="en-US")  # type: ignore[attr-defined]
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture(autouse=True)
def _initial_policies(transactional_db: None) -> None:
    """A transactional test flushes every table, including the policy versions that a data
    migration publishes; sign-up needs them, so publish them again the same way."""
    publish_initial_policies()
