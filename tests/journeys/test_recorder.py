"""The journeys' guard itself: a CSP violation, a console error and an uncaught page error on
a real page of the product are each recorded (so a journey that meets one fails)."""

from __future__ import annotations

import contextlib
import shutil

from .conftest import JOURNEY, Journey

pytestmark = JOURNEY


def test_the_recorder_sees_csp_violations_console_and_page_errors(browser, live_server) -> None:
    journey = Journey(browser, "_recorder", live_server.url)
    try:
        page = journey.new_page()
        page.goto(f"{live_server.url}/accounts/login/")
        assert journey.problems == []
        # An inline script: the product's CSP (script-src 'self') refuses it.
        with contextlib.suppress(Exception):
            page.add_script_tag(content="window.__inline = 1;")
        page.evaluate("console.error('journey recorder check')")
        page.evaluate("setTimeout(() => { throw new Error('journey boom') }, 0)")
        page.wait_for_timeout(300)
        seen = "\n".join(journey.problems)
        assert "CSP violation: script-src" in seen, seen
        assert "console error: journey recorder check" in seen, seen
        assert "page error: journey boom" in seen, seen
        assert page.evaluate("window.__inline === undefined")
    finally:
        journey.close()
        shutil.rmtree(journey.folder, ignore_errors=True)
