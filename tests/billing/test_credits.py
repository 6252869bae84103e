"""Credits: reservation, consumption (oldest lot first), release, expiry of the unreserved part,
revocation, idempotency and the ledger check."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from accounts.models import AuditEvent, Notification, Workspace
from billing import services
from billing.checks import ledger_mismatches
from billing.models import CreditBalance, CreditLot, LedgerEntry, Reservation

pytestmark = pytest.mark.django_db


def test_reserve_pins_oldest_lots_and_consume_takes_oldest_first(
    workspace: Workspace, buy: Callable[..., CreditLot]
) -> None:
    # given: a newer lot expiring later and an older one expiring sooner
    late = buy(workspace, credits=100, days=60)
    early = buy(workspace, credits=50, days=10)

    # when
    reservation = services.credits_reserve(
        workspace=workspace, amount=80, reference="campaign:1", idempotency_key="r1"
    )
    services.credits_consume(
        workspace=workspace, reference="campaign:1", amount=60, idempotency_key="c1"
    )

    # then: 50 pinned+consumed from the early lot, the rest from the late one
    early.refresh_from_db()
    late.refresh_from_db()
    assert {p.lot_id: p.amount for p in reservation.pins.all()} == {early.pk: 50, late.pk: 30}
    assert (early.credits_remaining, early.credits_reserved) == (0, 0)
    assert (late.credits_remaining, late.credits_reserved) == (90, 20)
    assert services.credits_balance(workspace=workspace) == services.Balance(70, 20)
    assert ledger_mismatches() == []


def test_reserve_is_all_or_nothing_and_says_how_much_is_missing(
    workspace: Workspace, buy: Callable[..., CreditLot]
) -> None:
    buy(workspace, credits=100)

    with pytest.raises(services.InsufficientCredits, match="needs 150 credits, has 100"):
        services.credits_reserve(
            workspace=workspace, amount=150, reference="big", idempotency_key="r-big"
        )

    assert not Reservation.objects.filter(reference="big").exists()
    assert services.credits_balance(workspace=workspace) == services.Balance(100, 0)
    assert LedgerEntry.objects.filter(kind=LedgerEntry.Kind.RESERVATION).count() == 0


def test_same_idempotency_key_returns_the_same_reservation(
    workspace: Workspace, buy: Callable[..., CreditLot]
) -> None:
    buy(workspace, credits=100)

    first = services.credits_reserve(
        workspace=workspace, amount=30, reference="c:1", idempotency_key="same"
    )
    second = services.credits_reserve(
        workspace=workspace, amount=30, reference="c:1", idempotency_key="same"
    )
    services.credits_consume(workspace=workspace, reference="c:1", amount=5, idempotency_key="k5")
    services.credits_consume(workspace=workspace, reference="c:1", amount=5, idempotency_key="k5")

    assert first.pk == second.pk
    assert services.credits_balance(workspace=workspace) == services.Balance(70, 25)
    assert LedgerEntry.objects.filter(kind=LedgerEntry.Kind.CONSUMPTION).count() == 1
    with pytest.raises(services.IdempotencyConflict):
        services.credits_release(workspace=workspace, reference="c:1", idempotency_key="k5")


def test_release_returns_credits_and_settles_the_reservation(
    workspace: Workspace, buy: Callable[..., CreditLot]
) -> None:
    buy(workspace, credits=100)
    services.credits_reserve(workspace=workspace, amount=40, reference="c:2", idempotency_key="r")
    services.credits_consume(workspace=workspace, reference="c:2", amount=10, idempotency_key="c")

    entry = services.credits_release(
        workspace=workspace, reference="c:2", amount=None, idempotency_key="rel"
    )

    assert entry is not None
    assert (entry.amount, entry.reserved_delta) == (0, -30)
    assert services.credits_balance(workspace=workspace) == services.Balance(90, 0)
    assert Reservation.objects.get(reference="c:2").status == Reservation.Status.SETTLED
    assert AuditEvent.objects.filter(action="billing.credits.released").count() == 1
    with pytest.raises(services.ReservationNotFound):
        services.credits_consume(
            workspace=workspace, reference="nope", amount=1, idempotency_key="x"
        )


def test_expiry_writes_off_only_the_unreserved_part(
    workspace: Workspace, buy: Callable[..., CreditLot]
) -> None:
    # given: 100 credits, 30 of them reserved
    lot = buy(workspace, credits=100, days=30)
    services.credits_reserve(workspace=workspace, amount=30, reference="c:3", idempotency_key="r")

    # when: the lot's expiry passes
    written_off = services.credits_expire_due(now=timezone.now() + timedelta(days=31))
    again = services.credits_expire_due(now=timezone.now() + timedelta(days=32))

    # then: 70 written off once; the 30 pinned stay usable by the reservation
    lot.refresh_from_db()
    assert (written_off, again) == (70, 0)
    assert (lot.credits_remaining, lot.credits_reserved) == (30, 30)
    assert services.credits_balance(workspace=workspace) == services.Balance(0, 30)
    services.credits_consume(workspace=workspace, reference="c:3", amount=10, idempotency_key="c")
    # released credits of an expired lot are written off as they come back
    services.credits_release(workspace=workspace, reference="c:3", idempotency_key="rel")
    lot.refresh_from_db()
    assert (lot.credits_remaining, lot.credits_reserved) == (0, 0)
    assert services.credits_balance(workspace=workspace) == services.Balance(0, 0)
    assert LedgerEntry.objects.filter(kind=LedgerEntry.Kind.EXPIRY).count() == 2
    assert ledger_mismatches() == []


def test_revocation_after_a_dispute_takes_only_unused_credits_and_tells_the_owner(
    workspace: Workspace, owner: object, buy: Callable[..., CreditLot]
) -> None:
    lot = buy(workspace, credits=100)
    services.credits_reserve(workspace=workspace, amount=20, reference="c:4", idempotency_key="r")
    services.credits_consume(workspace=workspace, reference="c:4", amount=5, idempotency_key="c")

    entry = services.credits_revoke_lot(lot=lot, reason="chargeback")
    again = services.credits_revoke_lot(lot=lot, reason="chargeback")

    lot.refresh_from_db()
    assert entry is not None
    assert entry.amount == -80
    assert again is None
    assert lot.revoked_at is not None
    assert services.credits_balance(workspace=workspace) == services.Balance(0, 15)
    assert AuditEvent.objects.filter(action="billing.credits.revoked").count() == 1
    assert Notification.objects.filter(workspace=workspace, kind="billing.revoked").count() == 1
    assert ledger_mismatches() == []


def test_adjustment_by_staff_adds_and_removes(
    workspace: Workspace, staff: object, buy: Callable[..., CreditLot]
) -> None:
    services.credits_adjust(workspace=workspace, amount=50, reason="goodwill", actor=staff)
    services.credits_adjust(workspace=workspace, amount=-20, reason="correction", actor=staff)

    assert services.credits_balance(workspace=workspace) == services.Balance(30, 0)
    with pytest.raises(services.InsufficientCredits, match="needs 31 credits, has 30"):
        services.credits_adjust(workspace=workspace, amount=-31, reason="too much", actor=staff)
    assert ledger_mismatches() == []


def test_low_balance_is_notified_once_per_crossing(
    workspace: Workspace, owner: object, buy: Callable[..., CreditLot]
) -> None:
    buy(workspace, credits=100)
    services.billing_settings_update(workspace=workspace, actor=owner, low_balance_threshold=50)

    services.credits_reserve(workspace=workspace, amount=60, reference="a", idempotency_key="a")
    services.credits_reserve(workspace=workspace, amount=10, reference="b", idempotency_key="b")

    assert Notification.objects.filter(kind="billing.low_balance").count() == 1


def test_ledger_check_command_passes_and_fails_on_a_tampered_balance(
    workspace: Workspace, buy: Callable[..., CreditLot], capsys: pytest.CaptureFixture[str]
) -> None:
    buy(workspace, credits=100)
    services.credits_reserve(workspace=workspace, amount=10, reference="t", idempotency_key="t")
    call_command("billing_check_ledger")
    assert "Ledger OK" in capsys.readouterr().out

    CreditBalance.objects.filter(workspace=workspace).update(available=1000)

    with pytest.raises(CommandError, match="2 ledger mismatch"):
        call_command("billing_check_ledger")
    assert f"workspace {workspace.pk}: balance 1000 available" in capsys.readouterr().err


def test_refund_returns_consumed_credits_to_their_lots_and_never_more(
    workspace: Workspace, buy: Callable[..., CreditLot]
) -> None:
    early = buy(workspace, credits=5, days=10)
    late = buy(workspace, credits=20, days=60)
    services.credits_reserve(
        workspace=workspace, amount=10, reference="campaign:r", idempotency_key="r"
    )
    services.credits_consume(
        workspace=workspace, reference="campaign:r", amount=8, idempotency_key="c"
    )
    assert services.credits_balance(workspace=workspace) == services.Balance(15, 2)

    # 3 accepted messages failed later: 3 credits come back, to the latest-expiring lot first
    services.credits_refund(
        workspace=workspace, reference="campaign:r", amount=3, idempotency_key="f1"
    )
    services.credits_refund(  # the same batch again: nothing more
        workspace=workspace, reference="campaign:r", amount=3, idempotency_key="f1"
    )
    late.refresh_from_db()
    assert late.credits_remaining == 20 - 3 + 3
    assert services.credits_balance(workspace=workspace) == services.Balance(18, 2)

    # more than is left to refund: only what was consumed and not yet refunded comes back
    entry = services.credits_refund(
        workspace=workspace, reference="campaign:r", amount=50, idempotency_key="f2"
    )
    assert entry is not None
    assert entry.amount == 5
    assert (
        services.credits_refund(
            workspace=workspace, reference="campaign:r", amount=1, idempotency_key="f3"
        )
        is None
    )
    early.refresh_from_db()
    assert early.credits_remaining == 5
    assert services.credits_balance(workspace=workspace) == services.Balance(23, 2)
    assert ledger_mismatches() == []


def test_refund_into_an_expired_lot_is_written_off(
    workspace: Workspace, buy: Callable[..., CreditLot]
) -> None:
    lot = buy(workspace, credits=4, days=1)
    services.credits_reserve(workspace=workspace, amount=4, reference="m", idempotency_key="r")
    services.credits_consume(workspace=workspace, reference="m", amount=4, idempotency_key="c")
    CreditLot.objects.filter(pk=lot.pk).update(expires_at=timezone.now() - timedelta(hours=1))

    services.credits_refund(workspace=workspace, reference="m", amount=2, idempotency_key="f")

    assert services.credits_balance(workspace=workspace) == services.Balance(0, 0)
    kinds = list(
        LedgerEntry.objects.filter(reference="m").order_by("id").values_list("kind", "amount")
    )
    assert kinds[-2:] == [("refund", 2), ("expiry", -2)]
    assert ledger_mismatches() == []


def test_billing_notices_say_one_credit_not_one_credits(
    workspace: Workspace, owner: object, buy: Callable[..., CreditLot]
) -> None:
    buy(workspace, credits=10)
    services.billing_settings_update(workspace=workspace, actor=owner, low_balance_threshold=5)

    services.credits_reserve(workspace=workspace, amount=9, reference="a", idempotency_key="a")

    notice = Notification.objects.get(kind="billing.low_balance")
    assert notice.display_text == "Low balance: 1 credit left (your threshold is 5)."
    paid = Notification.objects.get(kind="billing.paid")
    assert "10 credits added" in paid.display_text
