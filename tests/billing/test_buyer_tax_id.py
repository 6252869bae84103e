"""The buyer's tax id is printed on the pro-forma and the tax invoice, so the order form takes
only one that can be: a VÖEN of ten digits (spaces allowed as typed), or a foreign buyer's
number that starts with its country code; anything else is refused with the reason, and the
order is not placed."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Workspace
from billing.models import Order, Package

pytestmark = pytest.mark.django_db


def _order(client: Client, workspace: Workspace, package: Package, tax_id: str) -> Any:
    return client.post(
        reverse("billing:buy", kwargs={"workspace_slug": workspace.slug}),
        {
            "package": package.pk,
            "method": "bank_transfer",
            "buyer_company": "Şəki Xalça MMC",
            "buyer_tax_id": tax_id,
            "accept_no_refund": "on",
        },
    )


@pytest.mark.parametrize(
    ("typed", "stored"),
    [("1234567891", "1234567891"), ("12 3456 7891", "1234567891"), ("de123456789", "DE123456789")],
)
def test_a_real_tax_id_is_kept_as_printed(
    member_client: Client, workspace: Workspace, package: Package, typed: str, stored: str
) -> None:
    _order(member_client, workspace, package, typed)

    assert Order.objects.get(workspace=workspace).buyer_tax_id == stored


@pytest.mark.parametrize("typed", ["abc", "12345", "12345678901", "AZ1234567891"])
def test_anything_else_is_refused_and_no_order_is_placed(
    member_client: Client, workspace: Workspace, package: Package, typed: str
) -> None:
    page = _order(member_client, workspace, package, typed)

    assert page.status_code == 400  # the form again, with the reason under the field
    assert "A VÖEN has 10 digits" in page.content.decode()
    assert not Order.objects.filter(workspace=workspace).exists()
