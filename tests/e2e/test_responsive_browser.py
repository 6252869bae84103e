"""In Chromium, on a phone (375 px) and on a laptop (1366 px): the main pages of a workspace
with data (the demo `seed_demo` creates) never scroll the page sideways (wide tables scroll
inside their own box), the sidebar folds behind a "Workspace menu" button on the phone and
the button opens and closes it, the sign-in and sign-up pages use the app's shell, and no page
logs a console error (a CSP violation is one)."""

from __future__ import annotations

import io
import re
import threading
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

from messaging.campaigns.models import Campaign
from messaging.contacts.models import ContactList
from messaging.numbers.models import Sender

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PHONE, LAPTOP = 375, 1366
PAGES = [
    "",
    "campaigns/",
    "campaigns/{campaign}/",
    "campaigns/messages/",
    "contacts/",
    "contacts/lists/",
    "contacts/lists/{list}/",
    "contacts/imports/",
    "templates/",
    "numbers/",
    "numbers/{number}/",
    "analytics/",
    "analytics/messages/?metric=delivered",
    "automation/",
    "billing/",
    "billing/buy/",
    "billing/orders/",
    "billing/ledger/",
    "team/",
    "developers/",
    "developers/webhooks/",
    "settings/",
    "activity/",
    "notifications/",
]
OUTSIDE_WORKSPACE = ["/account/privacy/", "/account/profile/", "/accounts/password/change/"]


def _overflow(page: Any) -> int:
    """How many pixels the page is wider than the window (0: no sideways scrolling)."""
    return int(
        page.evaluate(
            "() => Math.max(document.documentElement.scrollWidth,"
            " document.body.scrollWidth) - window.innerWidth"
        )
    )


def _too_wide(page: Any) -> list[str]:
    """The outermost elements that stick out of the window (what to fix when one does)."""
    return list(
        page.evaluate(
            """() => {
                const out = [];
                for (const el of document.body.querySelectorAll('*')) {
                    const r = el.getBoundingClientRect();
                    if (r.right > window.innerWidth + 1 && !(el.parentElement &&
                        el.parentElement.getBoundingClientRect().right > window.innerWidth + 1)) {
                        out.push(el.tagName + '.' + el.className + ' ' + Math.round(r.right));
                    }
                }
                return out.slice(0, 5);
            }"""
        )
    )


def _unlabelled_filters(page: Any) -> list[str]:
    """Filter fields (in GET forms) that no <label> names."""
    return list(
        page.evaluate(
            """() => [...document.querySelectorAll(
                    'form[method=get] input:not([type=hidden]):not([type=submit]),'
                    + ' form[method=get] select')]
                .filter(el => el.labels.length === 0)
                .map(el => el.name)"""
        )
    )


def _urls(live_url: str) -> list[str]:
    campaign = Campaign.objects.get(name="Novruz sale")
    contact_list = ContactList.objects.get(name="Customers")
    number = Sender.objects.get(workspace=campaign.workspace)
    base = f"{live_url}/w/{campaign.workspace.slug}/"
    pages = [
        base
        + path.format(
            campaign=campaign.public_id, list=contact_list.public_id, number=number.public_id
        )
        for path in PAGES
    ]
    return pages + [live_url + path for path in OUTSIDE_WORKSPACE]


def _seed() -> None:
    try:
        with override_settings(DEBUG=True):
            call_command("seed_demo", stdout=io.StringIO())
    finally:
        connection.close()


@pytest.fixture
def demo() -> None:
    """The demo's data. Seeded in a thread of its own: seeding runs the engine's event loop,
    and Playwright's sync API keeps one running in this thread (the test's transaction is
    real, so the thread's writes are visible here)."""
    thread = threading.Thread(target=_seed)
    thread.start()
    thread.join(timeout=300)
    assert Campaign.objects.filter(name="Novruz sale", status="completed").exists()


def test_pages_fit_a_phone_and_a_laptop(page: Any, live_server: Any, demo: None) -> None:
    errors: list[str] = []
    page.on(
        "console", lambda m: errors.append(f"{page.url}: {m.text}") if m.type == "error" else None
    )
    page.on("pageerror", lambda exc: errors.append(f"{page.url}: {exc}"))

    # Signed out: the sign-in and sign-up pages are in the app's shell and fit a phone.
    page.set_viewport_size({"width": PHONE, "height": 800})
    for path, heading in (("/accounts/signup/", "Sign up"), ("/accounts/login/", "Sign in")):
        page.goto(live_server.url + path)
        assert page.locator(".auth-card h1").inner_text().strip() == heading
        assert page.locator(".auth-card input.form-control").count() >= 2
        assert _overflow(page) <= 0, path
    assert page.locator("link[rel=icon]").get_attribute("href").endswith("favicon.svg")

    page.fill("#id_login", "demo@isend.local")
    page.fill("#id_password", "demo-password-2026")
    page.click("form button[type=submit]")
    page.wait_for_url(re.compile(r"/w/demo/$"))

    # On the phone the sidebar is folded; the button opens it and closes it again.
    sidebar, toggle = (
        page.locator("[data-testid=sidebar]"),
        page.locator("[data-testid=sidebar-toggle]"),
    )
    assert toggle.is_visible()
    assert not sidebar.is_visible()
    toggle.click()
    page.wait_for_selector("[data-testid=sidebar].show")
    assert sidebar.get_by_role("link", name="Contacts").is_visible()
    assert toggle.get_attribute("aria-expanded") == "true"
    toggle.click()
    page.wait_for_selector("[data-testid=sidebar]:not(.show):not(.collapsing)", state="attached")
    assert not sidebar.is_visible()

    urls = _urls(live_server.url)
    for width in (PHONE, LAPTOP):
        page.set_viewport_size({"width": width, "height": 900})
        for url in urls:
            response = page.goto(url)
            assert response is not None
            assert response.status == 200, url
            assert _overflow(page) <= 0, f"{url} is wider than {width} px: {_too_wide(page)}"
            assert _unlabelled_filters(page) == [], url
            # Outside /w/ too, the workspace's shell stays (the privacy centre in particular).
            assert page.locator("[data-testid=sidebar]").count() == 1, url
        if width == LAPTOP:
            assert page.locator("[data-testid=sidebar]").is_visible()
            assert not page.locator("[data-testid=sidebar-toggle]").is_visible()

    # A table wider than the phone scrolls inside its box, not the page.
    page.set_viewport_size({"width": PHONE, "height": 900})
    page.goto(f"{live_server.url}/w/demo/contacts/")
    box = page.locator(".table-responsive").first
    assert box.evaluate("el => el.scrollWidth > el.clientWidth")
    assert _overflow(page) <= 0

    assert errors == []


def _words_broken(page: Any, selector: str) -> list[str]:
    """The words of the matching elements that a line break cuts in two ("Statu s")."""
    return list(
        page.evaluate(
            """(selector) => {
                const broken = [];
                for (const el of document.querySelectorAll(selector)) {
                    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
                    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
                        const re = /\\S+/g;
                        for (let m = re.exec(node.data); m; m = re.exec(node.data)) {
                            const range = document.createRange();
                            range.setStart(node, m.index);
                            range.setEnd(node, m.index + m[0].length);
                            const tops = new Set([...range.getClientRects()]
                                .map(r => Math.round(r.top)));
                            if (tops.size > 1) broken.push(m[0]);
                        }
                    }
                }
                return broken;
            }""",
            selector,
        )
    )


def test_a_long_unbroken_name_neither_widens_pages_nor_breaks_headers(
    page: Any, live_server: Any, demo: None
) -> None:
    """A campaign named with one 140-letter word: its page and the analytics page stay as wide
    as the laptop's window, and the analytics tables' headers and rates keep their words whole
    (the name wraps instead)."""
    campaign = Campaign.objects.get(name="Novruz sale")
    Campaign.objects.filter(pk=campaign.pk).update(name="Novruz " + "Ə" * 140)
    page.set_viewport_size({"width": LAPTOP, "height": 900})
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_login", "demo@isend.local")
    page.fill("#id_password", "demo-password-2026")
    page.click("form button[type=submit]")
    page.wait_for_url(re.compile(r"/w/demo/$"))

    for url in (f"/w/demo/campaigns/{campaign.public_id}/", "/w/demo/analytics/"):
        page.goto(live_server.url + url)
        assert _overflow(page) <= 0, f"{url}: {_too_wide(page)}"

    table = page.locator("[data-testid=campaigns-table]")
    assert table.get_by_role("link", name="Novruz " + "Ə" * 140).count() == 1
    headers = _words_broken(page, ".table th")
    rates = _words_broken(page, ".table td:not(:first-child)")
    assert headers == []
    assert rates == []
