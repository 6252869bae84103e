"""In a real browser: a customer opens a ticket from the Help entry with a screenshot, a
support agent answers it from the staff queue, and the customer sees the answer (and is told
by e-mail and in the product). No console errors and no CSP violations on the way."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission
from django.core import mail

from accounts import services as account_services
from privacy.services import consent_record_signup
from support.models import Ticket
from tests.browser import chromium, publish_initial_policies
from tests.factories import PASSWORD, UserFactory

from .conftest import PNG

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as browser:
        yield browser


def _support_group() -> Group:
    """The "Support" group as the data migrations make it (a transactional test's flush
    emptied it)."""
    from django.apps import apps

    for config in apps.get_app_configs():
        create_permissions(config, verbosity=0)
    group, _ = Group.objects.get_or_create(name="Support")
    group.permissions.add(
        *Permission.objects.filter(
            content_type__app_label="support", codename__in=["view_ticket", "change_ticket"]
        )
    )
    return group


def _page(browser: Any, errors: list[str]) -> Any:
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return page


def test_user_opens_a_ticket_from_help_staff_answer_and_the_user_sees_it(
    browser: Any, live_server: Any, tmp_path: Path, settings: Any
) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    publish_initial_policies()
    customer = UserFactory(email="aysel@bakuflowers.az")
    consent_record_signup(user=customer, ip="127.0.0.1")
    workspace = account_services.workspace_create(name="Baku Flowers", owner=customer)
    agent = UserFactory(email="agent@isend.example", is_staff=True)
    agent.groups.add(_support_group())
    screenshot = tmp_path / "screen.png"
    screenshot.write_bytes(PNG)
    errors: list[str] = []
    base = live_server.url

    # the customer signs in and opens Help from the sidebar
    page = _page(browser, errors)
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_login", customer.email)
    page.fill("#id_password", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(re.compile(r"/w/[\w-]+/$"))
    page.click("[data-testid=help-link]")
    page.wait_for_url(re.compile(rf"/w/{workspace.slug}/help/$"))
    assert "No tickets yet." in page.content()

    # a new ticket with a screenshot
    page.click("[data-testid=new-ticket]")
    page.fill("#id_subject", "Campaign stuck at 40%")
    page.select_option("#id_category", "technical")
    page.fill("#id_body", "The spring sale stopped sending an hour ago.")
    page.set_input_files("#id_attachments", str(screenshot))
    page.click("[data-testid=ticket-form] button[type=submit]")
    page.wait_for_selector("[data-testid=ticket-subject]")
    assert page.inner_text("[data-testid=ticket-status]").strip() == "Open"
    assert page.locator("[data-testid=attachment-link]").inner_text() == "screen.png"
    ticket = Ticket.objects.get()
    ticket_url = page.url

    # the agent answers from the staff queue
    staff = _page(browser, errors)
    staff.goto(f"{base}/admin/")
    staff.fill("#id_username", agent.email)
    staff.fill("#id_password", PASSWORD)
    staff.click("input[type=submit]")
    staff.click("text=Support tickets")
    staff.click("text=Campaign stuck at 40%")
    staff.wait_for_selector("[data-testid=staff-ticket]")
    assert "The spring sale stopped sending" in staff.inner_text("[data-testid=customer-message]")
    answer_text = "We restarted the sending; it resumes now."
    staff.fill("[data-testid=staff-reply-form] textarea", answer_text)
    staff.click("[data-testid=staff-reply-form] input[type=submit]")
    staff.wait_for_selector("text=Reply sent; the customer was e-mailed.")
    assert staff.inner_text("[data-testid=staff-ticket-status]").strip() == "Waiting on customer"

    # the customer sees the answer on the ticket's page, and a notification
    page.goto(ticket_url)
    answer = page.inner_text("[data-testid=staff-message]")
    assert answer_text in answer
    assert "iSend support" in answer
    assert page.inner_text("[data-testid=ticket-status]").strip() == "Waiting on customer"
    assert page.inner_text("[data-testid=unread-count]").strip() == "1"
    to_customer = [m for m in mail.outbox if m.to == [customer.email]]
    assert len(to_customer) == 1
    assert "We restarted the sending" in to_customer[0].body
    assert f"#{ticket.pk}" in to_customer[0].subject
    assert errors == []
