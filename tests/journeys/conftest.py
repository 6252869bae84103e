"""Journeys: each primary flow of the product, clicked in Debian's Chromium as a person would.

A journey only reads and clicks what a person sees (roles, labels, texts); preconditions that
are not the journey itself may come from factories. Every browser context of a journey records
console errors, uncaught page errors and CSP violations, and the `journey` fixture fails the
test when any was seen. Each step's screenshot goes to `var/journeys/<journey>/<NN-step>.png`
(CI prints where)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings

from tests.browser import chromium, publish_initial_policies
from tests.factories import PASSWORD
from tests.messaging.conftest import sandbox, sandbox_gateway  # noqa: F401  (fixtures)

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "var" / "journeys"

#: Every document of a journey reports CSP violations through a binding (it survives
#: navigations; the page's own policy does not apply to scripts Playwright injects).
_RECORDER = """
document.addEventListener('securitypolicyviolation', (e) => {
  window.__journeyProblem(
    `CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || 'inline'}`
    + ` (${e.sourceFile || document.location.href}:${e.lineNumber})`);
}, true);
"""


#: Every journey module: `pytestmark = JOURNEY`. Transactional (the live server's thread must see
#: the rows); serialized rollback puts the data migrations' rows back for the tests after it.
JOURNEY = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def words(text: str) -> re.Pattern[str]:
    """What a person reads, whole: any case, an optional trailing colon (labels are being
    restyled in parallel; "Sign Up" and "Sign up" are the same button to a person)."""
    return re.compile(rf"^\s*{re.escape(text)}\s*:?\s*$", re.I)


class Journey:
    """The browser side of one journey: its pages, their problems, its screenshots."""

    def __init__(self, browser: Any, name: str, base_url: str) -> None:
        self.browser = browser
        self.name = name
        self.base = base_url
        self.folder = SCREENSHOTS / name
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.problems: list[str] = []
        self.contexts: list[Any] = []
        self.pages: list[Any] = []
        self._step = 0

    def new_page(self, who: str = "user") -> Any:
        """A fresh browser (own cookies) for one person of the journey."""
        context = self.browser.new_context(locale="en-US", viewport={"width": 1366, "height": 900})
        context.expose_binding(
            "__journeyProblem",
            lambda source, text: self.problems.append(f"[{who}] {source['page'].url}: {text}"),
        )
        context.add_init_script(_RECORDER)
        context.on("console", lambda message: self._console(who, message))
        context.on(
            "weberror", lambda error: self.problems.append(f"[{who}] page error: {error.error}")
        )
        page = context.new_page()
        page.set_default_timeout(10_000)
        self.contexts.append(context)
        self.pages.append(page)
        return page

    def _console(self, who: str, message: Any) -> None:
        if message.type == "error":
            where = (message.location or {}).get("url", "")
            self.problems.append(f"[{who}] console error: {message.text} ({where})")

    def shot(self, page: Any, step: str) -> Path:
        """Screenshot of the whole page as `<NN-step>.png`."""
        self._step += 1
        slug = re.sub(r"[^a-z0-9]+", "-", step.lower()).strip("-")
        path = self.folder / f"{self._step:02d}-{slug}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    def sign_in(self, page: Any, email: str, password: str = PASSWORD) -> None:
        """Sign in from the front page's "Sign in" link, as a returning user does."""
        page.goto(f"{self.base}/accounts/login/")
        page.get_by_label(re.compile(r"^\s*e-?mail", re.I)).fill(email)
        page.get_by_label(words("Password")).fill(password)
        page.get_by_role("button", name=words("Sign in")).click()
        page.wait_for_url(re.compile(r"/w/[\w-]+/$"))

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    with chromium() as browser:
        yield browser


@pytest.fixture(autouse=True)
def _initial_policies(transactional_db: None) -> None:
    publish_initial_policies()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call":
        item.stash[_CALL_FAILED] = report.failed
    return report


_CALL_FAILED = pytest.StashKey[bool]()


@pytest.fixture
def journey(request: pytest.FixtureRequest, browser: Any, live_server: Any) -> Iterator[Journey]:
    """The journey's browser; after the test: no console error, page error or CSP violation."""
    name = re.sub(r"^test_", "", request.node.name)
    journey = Journey(browser, name, live_server.url)
    # Links in e-mails and the sandbox's webhooks point at the live server.
    with override_settings(SITE_URL=live_server.url):
        try:
            yield journey
        finally:
            if request.node.stash.get(_CALL_FAILED, False):
                for i, page in enumerate(journey.pages):
                    if not page.is_closed():
                        page.screenshot(
                            path=str(journey.folder / f"failed-{i}.png"), full_page=True
                        )
            journey.close()
    assert journey.problems == [], "the browser reported problems:\n" + "\n".join(journey.problems)


@pytest.fixture
def journey_sandbox(sandbox: Any) -> Iterator[Any]:  # noqa: F811
    """The session's sandbox gateway (reset), as the product's gateway for this test."""
    with override_settings(SANDBOX_GATEWAY_URL=sandbox.base_url):
        yield sandbox
