from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest

from accounts.models import User, Workspace
from billing import services
from billing.models import CreditLot, Order, Package
from tests.factories import UserFactory


@pytest.fixture
def package(db: None) -> Package:
    return Package.objects.create(
        name="Start", credits=1000, validity_days=30, price=Decimal("59.00")
    )


@pytest.fixture
def staff(db: None) -> User:
    return UserFactory(is_staff=True, is_superuser=True, email="staff@isend.test")


@pytest.fixture
def buy(staff: User) -> Callable[..., CreditLot]:
    """Credits the real way: a bank-transfer order confirmed by staff."""

    def make(workspace: Workspace, credits: int = 1000, days: int = 30) -> CreditLot:
        package = Package.objects.create(
            name=f"P{credits}", credits=credits, validity_days=days, price=Decimal("10.00")
        )
        order = services.order_create(
            workspace=workspace,
            package=package,
            method=Order.Method.BANK_TRANSFER,
            actor=staff,
            buyer_company="Əli Ltd",
        )
        services.order_confirm_bank_transfer(order=order, actor=staff)
        return CreditLot.objects.get(order=order)

    return make
