"""Journeys of integrators and staff: an API key is created in the dashboard and used by a
program; platform staff suspend a workspace in Django admin (its API then answers 403 with the
reason, its dashboard says so); support staff close a data request in Django admin."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from typing import Any

from playwright.sync_api import expect

from accounts.models import ApiKey, Workspace
from messaging.contacts.models import Contact
from tests.factories import PASSWORD, MembershipFactory, UserFactory

from .conftest import JOURNEY, words

pytestmark = JOURNEY


def _api(base: str, method: str, path: str, key: str, payload: Any = None) -> tuple[int, Any]:
    """A program calling the API over HTTP with the key, as an integrator's would."""
    request = urllib.request.Request(
        base + path,
        data=json.dumps(payload).encode() if payload is not None else None,
        method=method,
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def _create_key(journey, page, name: str) -> str:
    page.get_by_role("link", name=words("Developers")).first.click()
    journey.shot(page, "developers")
    page.get_by_label(words("Name")).fill(name)
    page.get_by_role("checkbox", name=re.compile(r"Read contacts, lists and segments")).check()
    page.get_by_role("checkbox", name=re.compile(r"Create, change and delete contacts")).check()
    page.get_by_role("button", name=words("Create key")).click()
    shown = page.get_by_role("alert").filter(has_text="Copy it now")
    expect(shown).to_be_visible()
    journey.shot(page, "key shown once")
    # What a person copies: the one long token in the box.
    return re.search(r"\S{30,}", shown.inner_text()).group(0)


def _admin(journey, staff_email: str):
    admin = journey.new_page("staff")
    admin.goto(f"{journey.base}/admin/")
    admin.get_by_label(re.compile(r"^\s*(e-?mail|username)", re.I)).fill(staff_email)
    admin.get_by_label(words("Password")).fill(PASSWORD)
    admin.get_by_role("button", name=words("Log in")).click()
    expect(
        admin.get_by_role("link", name=words("Log out")).or_(
            admin.get_by_role("button", name=words("Log out"))
        )
    ).to_be_visible()
    return admin


def test_api_key_created_and_used(journey) -> None:
    owner = MembershipFactory(workspace__name="Baku Flowers").user
    workspace = owner.memberships.get().workspace
    page = journey.new_page()
    journey.sign_in(page, owner.email)
    secret = _create_key(journey, page, "CRM sync")

    status, body = _api(
        journey.base,
        "POST",
        "/api/v1/contacts/",
        secret,
        {"phone": "+994 50 555 01 02", "first_name": "Elvin"},
    )
    assert status == 201, body
    status, body = _api(journey.base, "GET", "/api/v1/contacts/", secret)
    assert status == 200, body
    assert [c["phone"] for c in body["results"]] == ["+994505550102"]
    assert Contact.objects.filter(workspace=workspace, first_name="Elvin").count() == 1

    # The dashboard shows the contact the program made and when the key was last used.
    page.get_by_role("link", name=words("Contacts")).first.click()
    expect(page.get_by_role("link", name="+994505550102")).to_be_visible()
    journey.shot(page, "contact made by the program")
    page.get_by_role("link", name=words("Developers")).first.click()
    row = page.get_by_role("row").filter(has_text="CRM sync")
    headers = [h.strip() for h in page.get_by_role("columnheader").all_inner_texts()]
    expect(row.get_by_role("cell").nth(headers.index("Last used"))).not_to_have_text("—")
    journey.shot(page, "key last used")
    assert ApiKey.objects.get(workspace=workspace).last_used_at is not None


def test_admin_suspends_workspace(journey) -> None:
    owner = MembershipFactory(workspace__name="Baku Flowers").user
    workspace = owner.memberships.get().workspace
    staff = UserFactory(email="operator@isend.test", is_staff=True, is_superuser=True)
    page = journey.new_page("owner")
    journey.sign_in(page, owner.email)
    secret = _create_key(journey, page, "CRM sync")
    assert _api(journey.base, "GET", "/api/v1/contacts/", secret)[0] == 200

    admin = _admin(journey, staff.email)
    admin.get_by_role("link", name=words("Workspaces")).first.click()
    admin.get_by_role("row", name=re.compile("Baku Flowers")).get_by_role("checkbox").check()
    admin.get_by_role("combobox", name=words("Action")).select_option(
        label="Suspend selected workspaces (asks for a reason)"
    )
    admin.get_by_role("button", name=words("Go")).click()
    admin.get_by_label(words("Reason")).fill("Unpaid invoice 2026-0042")
    journey.shot(admin, "suspend with a reason")
    admin.get_by_role("button", name=words("Confirm")).click()
    expect(admin.get_by_text("1 workspace suspended.")).to_be_visible()
    journey.shot(admin, "suspended")

    workspace.refresh_from_db()
    assert workspace.status == Workspace.Status.SUSPENDED
    # The owner's dashboard says so, with the reason; the API refuses with the reason.
    page.reload()
    banner = page.get_by_role("alert").filter(has_text="This workspace is suspended.")
    expect(banner).to_contain_text("Unpaid invoice 2026-0042")
    journey.shot(page, "owner sees the suspension")
    status, body = _api(journey.base, "GET", "/api/v1/contacts/", secret)
    assert status == 403
    assert "suspended" in json.dumps(body).lower()


def test_support_closes_data_request(journey) -> None:
    import importlib

    from django.apps import apps
    from django.contrib.auth.management import create_permissions
    from django.contrib.auth.models import Group, Permission

    from privacy.models import DataRequest
    from privacy.services.requests import data_request_create

    user = MembershipFactory(workspace__name="Baku Flowers").user
    # Precondition: the customer asked by e-mail what data we hold (an access request).
    data_request = data_request_create(
        kind=DataRequest.Kind.ACCESS, channel=DataRequest.Channel.EMAIL, user=user
    )
    # The "Support" group as its data migration makes it (a transactional test's flush may have
    # emptied the group and permission tables; this is idempotent).
    for config in apps.get_app_configs():
        create_permissions(config, verbosity=0)
    migration = importlib.import_module("privacy.migrations.0004_support_group")
    group, _ = Group.objects.get_or_create(name="Support")
    for app, model, codename in migration.SUPPORT_PERMISSIONS:
        # (the suppression list has since moved to messaging: its old permissions are gone)
        group.permissions.add(
            *Permission.objects.filter(
                content_type__app_label=app, content_type__model=model, codename=codename
            )
        )
    support = UserFactory(email="support@isend.test", is_staff=True)
    support.groups.add(group)

    admin = _admin(journey, support.email)
    admin.get_by_role("link", name=words("Data requests")).first.click()
    journey.shot(admin, "queue")
    row = admin.get_by_role("row", name=re.compile(str(data_request.public_id)[:8]))
    expect(row).to_contain_text("Received")

    def act(action: str) -> None:
        admin.get_by_role("row", name=re.compile(str(data_request.public_id)[:8])).get_by_role(
            "checkbox"
        ).check()
        admin.get_by_role("combobox", name=words("Action")).select_option(label=action)
        admin.get_by_role("button", name=words("Go")).click()

    act("Assign to me")
    act("Mark completed")
    expect(admin.get_by_text("1 request(s) completed.")).to_be_visible()
    expect(
        admin.get_by_role("row", name=re.compile(str(data_request.public_id)[:8]))
    ).to_contain_text("Completed")
    journey.shot(admin, "completed")
    data_request.refresh_from_db()
    assert (data_request.status, data_request.assignee) == ("completed", support)
    assert data_request.completed_at is not None

    # The customer sees it closed in the privacy centre.
    page = journey.new_page("customer")
    journey.sign_in(page, user.email)
    page.get_by_role("link", name=words("Privacy")).first.click()
    expect(
        page.get_by_role("listitem").filter(has_text=re.compile(r"^Access · Completed"))
    ).to_be_visible()
    journey.shot(page, "customer sees it closed")
