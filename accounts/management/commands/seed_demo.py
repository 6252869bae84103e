"""Create (or refresh) the demo workspace a newcomer signs in to. Safe to run any number of
times: it converges on the same state."""

from __future__ import annotations

import os
from typing import Any

from allauth.account.models import EmailAddress
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.hooks import signup_completed
from accounts.models import Membership, User, Workspace
from accounts.permissions import Role

DEMO_EMAIL = os.environ.get("DEMO_EMAIL", "demo@isend.local")
DEMO_PASSWORD = os.environ.get("DEMO_PASSWORD", "demo-password-2026")
DEMO_SLUG = "demo"


class Command(BaseCommand):
    help = "Create the demo workspace and its owner (idempotent) and print the login."

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        user, created = User.objects.get_or_create(
            email=DEMO_EMAIL,
            defaults={
                "first_name": "Demo",
                "last_name": "Owner",
                "company_name": "Demo Company",
                "phone": "+994501234567",
            },
        )
        # The demo login is public by design: converge on the documented password every run.
        user.set_password(DEMO_PASSWORD)
        user.save()
        if created:
            signup_completed.send(sender=User, user=user, ip=None, user_agent="seed_demo")
        EmailAddress.objects.update_or_create(
            user=user, email=DEMO_EMAIL, defaults={"verified": True, "primary": True}
        )
        workspace, _ = Workspace.objects.get_or_create(
            slug=DEMO_SLUG, defaults={"name": "Demo Company"}
        )
        Membership.objects.update_or_create(
            workspace=workspace, user=user, defaults={"role": Role.OWNER}
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo workspace ready. Sign in as {DEMO_EMAIL} with password {DEMO_PASSWORD}"
            )
        )
