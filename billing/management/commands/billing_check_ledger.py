"""Verify that every workspace's cached balance equals its ledger and its lots, and that the
ledger agrees with what it paid for (the reconciliations other apps register, e.g. credits
consumed − refunded = messages the gateway accepted that did not fail, per campaign)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from billing.checks import ledger_mismatches, reconciliation_mismatches


class Command(BaseCommand):
    help = (
        "Check balance == sum(ledger) and that lots agree, for every workspace, and run the "
        "registered reconciliations (credits spent vs messages accepted, per campaign)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        problems = ledger_mismatches()
        differences = reconciliation_mismatches()
        for line in [*problems, *differences]:
            self.stderr.write(line)
        if problems or differences:
            raise CommandError(
                f"{len(problems)} ledger mismatch(es), {len(differences)} reconciliation "
                "difference(s)"
            )
        self.stdout.write(
            self.style.SUCCESS(
                "Ledger OK: every balance matches its ledger, and the ledger what it paid for."
            )
        )
