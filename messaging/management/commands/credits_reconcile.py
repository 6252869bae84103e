"""Compare, per campaign, credits consumed − refunded with the messages the gateway accepted
that did not fail (and each workspace's single messages); fail when any differ."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from messaging.engine.reconcile import credits_reconcile


class Command(BaseCommand):
    help = (
        "Credits consumed − refunded vs messages accepted and not failed, per campaign; "
        "exits non-zero when any differ."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help="only campaigns still open or finished in the last N days (default: all)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        days = options["days"]
        since = timezone.now() - timedelta(days=days) if days is not None else None
        rows = credits_reconcile(active_since=since)
        differ = [row for row in rows if row.difference]
        for row in rows:
            if row.difference:
                self.stderr.write(str(row))
            elif options["verbosity"] >= 2:
                self.stdout.write(str(row))
        if differ:
            raise CommandError(f"{len(differ)} of {len(rows)} difference(s)")
        self.stdout.write(
            self.style.SUCCESS(f"Credits reconciled: {len(rows)} of {len(rows)} agree.")
        )
