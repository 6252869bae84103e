"""A number of credits is written the same way on every billing page and on the dashboard, the
way the buy page writes it: "1,000" in English, "1 000" in Azerbaijani and Russian. The
balance, order and ledger pages wrote "1000"."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Workspace
from billing import services
from billing.models import CreditLot

pytestmark = pytest.mark.django_db

NBSP = "\xa0"


def _url(name: str, workspace: Workspace, **kwargs: object) -> str:
    return reverse(f"billing:{name}", kwargs={"workspace_slug": workspace.slug, **kwargs})


def _get(client: Client, url: str, language: str = "en") -> str:
    response = client.get(url, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    return response.content.decode()


def _cells(page: str, testid: str) -> list[str]:
    body = page.split(f'data-testid="{testid}"', 1)[1].split("</tbody>", 1)[0]
    return [
        re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", body)
    ]


def test_the_balance_page_writes_1000_credits_as_1_000(
    workspace: Workspace, member_client: Client, buy: Callable[..., CreditLot]
) -> None:
    buy(workspace, credits=1000)
    services.credits_reserve(
        workspace=workspace, amount=1000, reference="camp:1", idempotency_key="r1"
    )
    buy(workspace, credits=2500)

    page = _get(member_client, _url("overview", workspace))

    assert 'data-testid="available">2,500<' in page
    assert 'data-testid="reserved">1,000<' in page
    lots = re.findall(r'<td class="text-end">([^<]*)</td>', page)
    assert lots == ["1,000", "1,000", "1,000", "2,500", "2,500", "0"]


def test_the_ledger_writes_1000_credits_as_1_000(
    workspace: Workspace, member_client: Client, buy: Callable[..., CreditLot]
) -> None:
    lot = buy(workspace, credits=1000)
    services.credits_reserve(
        workspace=workspace, amount=1000, reference="camp:1", idempotency_key="r1"
    )

    page = _get(member_client, _url("ledger", workspace))

    rows = _cells(page, "ledger")
    # newest first: when, what happened, credits, set aside
    assert rows[2:4] == ["+0", "+1,000"]
    assert rows[5:8] == [
        f"1,000 credits bought (order {lot.order.payment_reference})",
        "+1,000",
        "+0",
    ]
    assert rows[1].endswith(": 1,000 credits set aside")


@pytest.mark.parametrize(
    ("language", "bought"),
    [("ru", f"Куплено 1{NBSP}000 кредитов"), ("az", f"1{NBSP}000 kredit alındı")],
)
def test_the_ledger_groups_the_count_the_reader_s_way_and_stays_translated(
    workspace: Workspace,
    member_client: Client,
    buy: Callable[..., CreditLot],
    language: str,
    bought: str,
) -> None:
    buy(workspace, credits=1000)

    rows = _cells(_get(member_client, _url("ledger", workspace), language), "ledger")

    assert rows[1].startswith(bought)
    assert rows[2] == f"+1{NBSP}000"


def test_the_order_page_and_the_low_balance_banner_write_1_000(
    workspace: Workspace, member_client: Client, buy: Callable[..., CreditLot]
) -> None:
    order = buy(workspace, credits=1000).order
    member_client.post(_url("settings", workspace), {"low_balance_threshold": 5000})

    page = _get(member_client, _url("order", workspace, order_id=order.public_id))
    overview = _get(member_client, _url("overview", workspace))

    assert "1,000 credits" in page
    assert "Paid: 1,000 credits were added to your balance." in page
    assert "Low balance: 1,000 credits available, below your threshold of 5,000." in overview


def test_the_dashboard_credits_card_writes_1_000(
    workspace: Workspace, member_client: Client, buy: Callable[..., CreditLot]
) -> None:
    buy(workspace, credits=1000)

    page = _get(member_client, f"/w/{workspace.slug}/")

    card = page.split('data-testid="home-credits"', 1)[1].split('<div class="card mb-4"', 1)[0]
    assert 'data-testid="home-balance">1,000<' in card
    expiry = re.search(r'data-testid="home-expiry">([^<]*)<', card)
    assert expiry
    assert expiry.group(1).startswith("1,000 credits expire on ")


def test_one_credit_expiring_is_still_singular(
    workspace: Workspace, member_client: Client, buy: Callable[..., CreditLot]
) -> None:
    buy(workspace, credits=1)

    page = _get(member_client, f"/w/{workspace.slug}/", "ru")

    expiry = re.search(r'data-testid="home-expiry">([^<]*)<', page)
    assert expiry
    assert expiry.group(1).startswith("1 кредит истекает ")
