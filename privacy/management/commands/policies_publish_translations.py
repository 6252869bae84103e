"""Publish the Azerbaijani and Russian versions of the policies written beside the English
files (privacy/policies/<name>.<language>.md). Safe to run on every deploy: a language
version that exists is left as it is."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from privacy.services import policy_translations_publish_from_files


class Command(BaseCommand):
    help = "Publish privacy/policies/<name>.<language>.md as language versions of the policies."

    def handle(self, *args: Any, **options: Any) -> None:
        created = policy_translations_publish_from_files()
        for row in created:
            self.stdout.write(f"published {row.document} in {row.language}")
        self.stdout.write(f"{len(created)} language version(s) published")
