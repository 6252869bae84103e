"""The Help page names the support address it tells customers to write to (it read "you can
also write to ." with the address missing)."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_the_help_page_names_the_support_address(member_client, workspace, settings) -> None:
    settings.SUPPORT_EMAIL = "help@isend.az"

    page = member_client.get(reverse("support:tickets", args=[workspace.slug])).content.decode()

    assert "you can also write to help@isend.az." in page
