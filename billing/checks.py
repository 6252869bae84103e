"""The ledger's invariants, checked from the rows themselves (used by
`manage.py billing_check_ledger` and by tests), and the checks other apps register that compare
the ledger with what it pays for (billing never imports messaging: the engine registers its
credits-vs-messages reconciliation here, from its AppConfig.ready)."""

from __future__ import annotations

from collections.abc import Callable

from django.db.models import Sum
from django.db.models.functions import Coalesce

from billing.models import CreditBalance, CreditLot, LedgerEntry, ReservationLot


def ledger_mismatches() -> list[str]:
    """One line per broken invariant, for every workspace that has billing rows:
    - available + reserved == sum(ledger.amount), reserved == sum(ledger.reserved_delta);
    - the lots hold exactly the balance: sum(remaining) == available + reserved and
      sum(reserved) == reserved;
    - each lot's reserved credits equal what reservations still pin on it."""
    problems: list[str] = []
    ledger = {
        row["workspace_id"]: row
        for row in LedgerEntry.objects.values("workspace_id").annotate(
            amount=Coalesce(Sum("amount"), 0), reserved=Coalesce(Sum("reserved_delta"), 0)
        )
    }
    lots = {
        row["workspace_id"]: row
        for row in CreditLot.objects.values("workspace_id").annotate(
            remaining=Coalesce(Sum("credits_remaining"), 0),
            reserved=Coalesce(Sum("credits_reserved"), 0),
        )
    }
    balances = {b.workspace_id: b for b in CreditBalance.objects.all()}
    for workspace_id in sorted(set(ledger) | set(lots) | set(balances)):
        balance = balances.get(workspace_id)
        held = (balance.available + balance.reserved) if balance else 0
        reserved = balance.reserved if balance else 0
        led = ledger.get(workspace_id, {"amount": 0, "reserved": 0})
        lot = lots.get(workspace_id, {"remaining": 0, "reserved": 0})
        if held != led["amount"] or reserved != led["reserved"]:
            problems.append(
                f"workspace {workspace_id}: balance {held - reserved} available + {reserved} "
                f"reserved, ledger says {led['amount'] - led['reserved']} + {led['reserved']}"
            )
        if held != lot["remaining"] or reserved != lot["reserved"]:
            problems.append(
                f"workspace {workspace_id}: balance holds {held} ({reserved} reserved), "
                f"lots hold {lot['remaining']} ({lot['reserved']} reserved)"
            )
    pinned = dict(
        ReservationLot.objects.values("lot_id")
        .annotate(total=Coalesce(Sum("remaining"), 0))
        .values_list("lot_id", "total")
    )
    for lot_id, workspace_id, lot_reserved in CreditLot.objects.values_list(
        "pk", "workspace_id", "credits_reserved"
    ).order_by("pk"):
        if pinned.get(lot_id, 0) != lot_reserved:
            problems.append(
                f"workspace {workspace_id}: lot {lot_id} reserves {lot_reserved}, "
                f"reservations pin {pinned.get(lot_id, 0)}"
            )
    return problems


#: name -> a function returning one line per difference it finds.
_RECONCILIATIONS: dict[str, Callable[[], list[str]]] = {}


def reconciliation_register(name: str, check: Callable[[], list[str]]) -> None:
    """Register a check of the ledger against another app's records (idempotent by name)."""
    _RECONCILIATIONS[name] = check


def reconciliation_mismatches() -> list[str]:
    """Every registered reconciliation's differences, each line prefixed with its name."""
    return [
        f"{name}: {line}" for name, check in sorted(_RECONCILIATIONS.items()) for line in check()
    ]
