"""Journeys: each primary flow of the product, clicked in Debian's Chromium as a person would.

A journey only reads and clicks what a person sees (roles, labels, texts); preconditions that
are not the journey itself may come from factories. Every browser context of a journey records
console errors, uncaught page errors and CSP violations, and the `journey` fixture fails the
test when any was seen. Each step's screenshot goes to `var/journeys/<journey>/<NN-step>.png`
(CI prints where)."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
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

    def new_page(self, who: str = "user", locale: str = "en-US") -> Any:
        """A fresh browser (own cookies) for one person of the journey; ``locale`` is the
        browser's language (its Accept-Language)."""
        context = self.browser.new_context(locale=locale, viewport={"width": 1366, "height": 900})
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
    # Late status webhooks must not reach the live server while the test's tables are flushed.
    sandbox.wait_idle()


@pytest.fixture(scope="module")
def _worker_process(
    django_db_setup: None,
    live_server: Any,
    sandbox_gateway: str,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Any, Any]]:
    """A real `celery worker -B` (tests/reliability's) on the test database, with a private
    redis-server as broker and limiter, shared by the journeys of one module."""
    from tests.reliability.conftest import WORKER_ENGINE_ENV, CeleryWorker, PrivateRedis

    workdir = tmp_path_factory.mktemp("journey-worker")
    redis_server = PrivateRedis(workdir)
    redis_server.start()
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"REDIS_URL", "CELERY_BROKER_URL", "CACHE_URL", "DATABASE_URL"}
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "isend.settings_test",
            "DATABASE_URL": (
                f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:"
                f"{db['PORT'] or 5432}/{db['NAME']}"
            ),
            "TEST_REDIS_URL": redis_server.url,
            "CELERY_BROKER_URL": redis_server.url,
            "CACHE_URL": redis_server.url,
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "ENGINE_KICK_DRAINERS": "1",
            "SANDBOX_GATEWAY_URL": sandbox_gateway,
            "SITE_URL": live_server.url,
            "PYTHONUNBUFFERED": "1",
            **WORKER_ENGINE_ENV,
        }
    )
    worker = CeleryWorker(env=env, workdir=workdir)
    worker.start()
    try:
        yield worker, redis_server
    finally:
        worker.stop()
        redis_server.stop()


@pytest.fixture
def worker(_worker_process: tuple[Any, Any], journey_sandbox: Any) -> Iterator[Any]:
    """This process produces to the worker's broker (not eagerly), as the web process does:
    the live server's launches, kicks and webhook ingestion run in the worker."""
    import redis

    from isend.celery import app
    from messaging.engine import runtime
    from tests.reliability.conftest import WORKER_ENGINE_ENV, _number, _reset_producer

    celery_worker, redis_server = _worker_process
    saved = (app.conf.broker_url, app.conf.task_always_eager, runtime._redis)
    _reset_producer(app)
    app.conf.broker_url = redis_server.url
    app.conf.task_always_eager = False
    runtime._redis = redis.Redis.from_url(redis_server.url)
    try:
        with override_settings(
            REDIS_URL=redis_server.url,
            CELERY_BROKER_URL=redis_server.url,
            CELERY_TASK_ALWAYS_EAGER=False,
            ENGINE_KICK_DRAINERS=True,
            **{key: _number(value) for key, value in WORKER_ENGINE_ENV.items()},
        ):
            yield celery_worker
    finally:
        _reset_producer(app)
        app.conf.broker_url, app.conf.task_always_eager, runtime._redis = saved
        assert celery_worker.alive, "the worker died:\n" + celery_worker.log_tail()
