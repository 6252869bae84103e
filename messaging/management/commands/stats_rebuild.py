"""Recount the per-day statistics from the messages (after a restore, or to prove the
triggers right: a run that finds nothing to change reports 0 differences)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Workspace
from messaging.engine.stats import message_stats_rebuild


class Command(BaseCommand):
    help = "Rebuild the per-day message statistics from the messages."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--workspace", help="the workspace's slug (default: all)")
        parser.add_argument(
            "--dry-run", action="store_true", help="only count the rows that would change"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        workspace_id = None
        if options["workspace"]:
            workspace = Workspace.objects.filter(slug=options["workspace"]).first()
            if workspace is None:
                raise CommandError(f"No workspace with the slug {options['workspace']!r}.")
            workspace_id = workspace.pk
        result = message_stats_rebuild(workspace_id=workspace_id, dry_run=options["dry_run"])
        verb = "would change" if options["dry_run"] else "changed"
        self.stdout.write(
            f"{result.workspaces} workspace(s) with messages; {result.differences} row(s) "
            f"{verb}; {result.rows_before} row(s) before, {result.rows_after} after."
        )
