"""Property test: any sequence of credit operations keeps balance == ledger == lots, and
never lets a balance go negative."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing import services
from billing.checks import ledger_mismatches
from billing.models import CreditLot
from tests.factories import UserFactory, WorkspaceFactory

operation = st.one_of(
    st.tuples(st.just("add"), st.integers(1, 50), st.integers(1, 30)),
    st.tuples(st.just("reserve"), st.integers(1, 60), st.integers(0, 2)),
    st.tuples(st.just("consume"), st.integers(1, 30), st.integers(0, 2)),
    st.tuples(st.just("release"), st.integers(0, 30), st.integers(0, 2)),
    st.tuples(st.just("expire"), st.integers(0, 40), st.just(0)),
    st.tuples(st.just("revoke"), st.integers(0, 5), st.just(0)),
)


@pytest.mark.django_db
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(operation, min_size=1, max_size=25))
def test_any_sequence_of_operations_keeps_the_ledger_balanced(
    operations: list[tuple[str, int, int]],
) -> None:
    workspace = WorkspaceFactory()
    staff = UserFactory(is_staff=True)
    now = timezone.now()
    for step, (op, amount, arg) in enumerate(operations):
        key = f"{workspace.pk}:{step}"
        ref = f"campaign:{arg}"
        try:
            if op == "add":
                services.credits_adjust(
                    workspace=workspace, amount=amount, reason="t", actor=staff, validity_days=arg
                )
            elif op == "reserve":
                services.credits_reserve(
                    workspace=workspace, amount=amount, reference=ref, idempotency_key=key
                )
            elif op == "consume":
                services.credits_consume(
                    workspace=workspace, reference=ref, amount=amount, idempotency_key=key
                )
            elif op == "release":
                services.credits_release(
                    workspace=workspace, reference=ref, amount=amount or None, idempotency_key=key
                )
            elif op == "expire":
                services.credits_expire_due(now=now + timedelta(days=amount))
            else:
                lots = list(CreditLot.objects.filter(workspace=workspace).order_by("pk"))
                if lots:
                    services.credits_revoke_lot(lot=lots[amount % len(lots)], reason="t")
        except (services.InsufficientCredits, services.ReservationNotFound):
            pass
        balance = services.credits_balance(workspace=workspace)
        assert balance.available >= 0
        assert balance.reserved >= 0
    assert ledger_mismatches() == []
