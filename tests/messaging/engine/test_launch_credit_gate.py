"""The campaign page before launch (issue 16): with too few credits the Launch button is
disabled, says why and links to the pricing page; with enough, launching asks for a
confirmation that names the cost in credits."""

from __future__ import annotations

import html as html_lib
import re

import pytest
from django.urls import reverse

from messaging.campaigns.models import Campaign

pytestmark = pytest.mark.django_db


def _draft(member_client, workspace, number, template) -> str:
    created = member_client.post(
        reverse("messaging_campaigns:new", args=[workspace.slug]),
        {"name": "Spring sale", "template": template.pk, "senders": [number.pk]},
    )
    assert Campaign.objects.filter(name="Spring sale").exists()
    return member_client.get(created.url).content.decode()


def _launch_button(page: str) -> str:
    match = re.search(r'<button[^>]*data-testid="launch"[^>]*>', page)
    assert match, "no launch button"
    return match.group(0)


def test_short_of_credits_the_launch_button_is_disabled_with_the_reason(
    member_client, workspace, sandbox_number, contacts, credits, template
):
    contacts(12)
    credits(5)

    page = _draft(member_client, workspace, sandbox_number(), template)

    assert " disabled" in _launch_button(page)
    assert "Not enough credits: this campaign needs 12, the workspace has 5." in page
    pricing = reverse("billing:pricing", args=[workspace.slug])
    assert f'<a href="{pricing}" data-testid="buy-credits-link">' in page


def test_with_enough_credits_launching_asks_with_the_cost(
    member_client, workspace, sandbox_number, contacts, credits, template
):
    contacts(12)
    credits(100)

    page = _draft(member_client, workspace, sandbox_number(), template)

    assert " disabled" not in _launch_button(page)
    assert 'data-testid="not-enough-credits"' not in page
    form = re.search(r'<form[^>]*/launch/"[^>]*data-confirm="([^"]+)"', page)
    assert form, "the launch form asks for no confirmation"
    assert html_lib.unescape(form.group(1)) == (
        "Launch now to 12 recipients? This uses up to 12 credits of your 100."
    )
