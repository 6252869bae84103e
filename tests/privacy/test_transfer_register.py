"""The register of cross-border transfers (seed 004 §12): every sub-processor of the published
list, with its countries and safeguard, on the public sub-processor page and as a CSV the
authority can take."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.test import Client
from django.urls import reverse

from privacy.transfers import TRANSFER_REGISTER
from privacy.views import POLICY_DIR

pytestmark = pytest.mark.django_db


def _published_subprocessors() -> list[str]:
    """The first column of the published list's table (the policy text, not our register)."""
    text = (POLICY_DIR / "subprocessors.md").read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if line.startswith("|")]
    names = [line.strip("|").split("|")[0].strip() for line in rows[2:]]  # after the header
    assert len(names) >= 4
    return names


def test_the_register_covers_every_published_subprocessor() -> None:
    assert [str(t.subprocessor) for t in TRANSFER_REGISTER] == _published_subprocessors()
    for transfer in TRANSFER_REGISTER:
        assert str(transfer.countries).strip()
        assert "Standard Contractual Clauses" in str(transfer.safeguard)
        assert str(transfer.data).strip()


def test_the_subprocessor_page_shows_the_register_and_links_the_csv() -> None:
    response = Client().get(reverse("privacy:subprocessors"))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Register of cross-border transfers" in page
    assert page.count('data-testid="transfer-row"') == len(_published_subprocessors())
    assert "Ireland (EU); United States" in page
    assert reverse("privacy:transfers_csv") in page


def test_the_csv_lists_every_subprocessor_with_country_and_safeguard() -> None:
    response = Client().get(reverse("privacy:transfers_csv"))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == [
        "Sub-processor",
        "Purpose",
        "Personal data transferred",
        "Destination countries",
        "Safeguard",
    ]
    by_name = {row[0]: row for row in rows[1:]}
    assert sorted(by_name) == sorted(_published_subprocessors())
    meta = by_name["Meta Platforms (WhatsApp Business Platform, Cloud API)"]
    assert meta[3] == "United States and other Meta data centres"
    assert re.search(r"Standard Contractual Clauses", meta[4])
    assert all(len(row) == 5 and all(cell.strip() for cell in row) for row in rows[1:])
