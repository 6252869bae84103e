"""Verify that every workspace's cached balance equals its ledger and its lots."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from billing.checks import ledger_mismatches


class Command(BaseCommand):
    help = "Check balance == sum(ledger) and that lots agree, for every workspace."

    def handle(self, *args: Any, **options: Any) -> None:
        problems = ledger_mismatches()
        for line in problems:
            self.stderr.write(line)
        if problems:
            raise CommandError(f"{len(problems)} ledger mismatch(es)")
        self.stdout.write(self.style.SUCCESS("Ledger OK: every balance matches its ledger."))
