"""In Chromium, under the real CSP: "Delete contact" asks first (static/js/confirm.js, no inline
handler). Dismissing the question keeps the contact; accepting it deletes the contact."""

from __future__ import annotations

import re

import pytest

from messaging.contacts.models import Contact
from tests.factories import PASSWORD, MembershipFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_delete_contact_asks_first(page, live_server) -> None:
    owner = MembershipFactory().user
    workspace = owner.memberships.get().workspace
    contact = Contact.objects.create(workspace=workspace, phone="+994501112233", first_name="Leyla")
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    asked: list[str] = []

    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_login", owner.email)
    page.fill("#id_password", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(re.compile(r"/w/[\w-]+/$"))
    detail = f"{live_server.url}/w/{workspace.slug}/contacts/{contact.public_id}/"
    page.goto(detail)

    def dismiss(dialog) -> None:
        asked.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    page.get_by_role("button", name="Delete contact").click()
    page.wait_for_timeout(500)  # nothing is submitted: the question was dismissed
    assert asked == ["Delete this contact? This cannot be undone."]
    assert page.url == detail
    assert Contact.objects.filter(pk=contact.pk).exists()

    def accept(dialog) -> None:
        asked.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    with page.expect_navigation():
        page.get_by_role("button", name="Delete contact").click()
    assert len(asked) == 2
    assert not Contact.objects.filter(pk=contact.pk).exists()
    assert errors == []
