"""Create (or refresh) the demo a newcomer signs in to: the demo owner and workspace with a
sandbox number, contacts, lists, a template, credits and one finished campaign with replies;
and, on a fresh install, a platform admin and a support-staff login so that an operator can
confirm a bank transfer or work the data-request queue in Django admin at once.

Safe to run any number of times: it converges on the same state (`make run` runs it each time).
It lives in messaging because it fills messaging's tables; accounts imports no other app."""

from __future__ import annotations

import os
from typing import Any

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.hooks import signup_completed
from accounts.models import Membership, User, Workspace
from accounts.permissions import Role
from messaging.demo import demo_content_seed

DEMO_EMAIL = os.environ.get("DEMO_EMAIL", "demo@isend.local")
DEMO_PASSWORD = os.environ.get("DEMO_PASSWORD", "demo-password-2026")
DEMO_SLUG = "demo"
# Staff logins with documented passwords exist to try the product; with DEBUG off they are
# created only when their passwords are given (a public superuser password is a break-in).
ADMIN_EMAIL = os.environ.get("DEMO_ADMIN_EMAIL", "admin@isend.local")
ADMIN_PASSWORD = os.environ.get("DEMO_ADMIN_PASSWORD", "")
SUPPORT_EMAIL = os.environ.get("DEMO_SUPPORT_EMAIL", "support@isend.local")
SUPPORT_PASSWORD = os.environ.get("DEMO_SUPPORT_PASSWORD", "")
DEFAULT_ADMIN_PASSWORD = "admin-password-2026"  # noqa: S105 - documented, DEBUG only
DEFAULT_SUPPORT_PASSWORD = "support-password-2026"  # noqa: S105 - documented, DEBUG only
SUPPORT_GROUP = "Support"  # privacy/migrations/0004_support_group.py


def _login(email: str, password: str, **fields: Any) -> User:
    """A user who can sign in with `password` (converged on every run: the logins are
    documented) and a verified primary address (allauth asks for one)."""
    user, _created = User.objects.get_or_create(email=email, defaults=fields)
    for name, value in fields.items():
        setattr(user, name, value)
    user.is_active = True
    user.set_password(password)
    user.save()
    EmailAddress.objects.update_or_create(
        user=user, email=email, defaults={"verified": True, "primary": True}
    )
    return user


class Command(BaseCommand):
    help = (
        "Create the demo workspace with data, its owner, and staff logins (idempotent), and "
        "print the logins."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            owner, workspace = self._demo_owner()
            staff = self._staff()
        figures = demo_content_seed(workspace=workspace, actor=owner)
        c = figures.campaign
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo workspace ready: {figures.contacts} contacts in {figures.lists} lists; "
                f"campaign “{c.name}” {c.status}: {c.count_accepted} sent, "
                f"{c.count_delivered} delivered, {c.count_read} read, {c.count_failed} failed, "
                f"{c.count_replied} replied."
            )
        )
        self.stdout.write(f"  App:          sign in as {DEMO_EMAIL} / {DEMO_PASSWORD}")
        for label, email, password in staff:
            self.stdout.write(f"  {label} {email} / {password}  (/admin/)")
        if not staff:
            self.stdout.write(
                "  Staff logins: not created (DEBUG is off; set DEMO_ADMIN_PASSWORD and "
                "DEMO_SUPPORT_PASSWORD, or use manage.py createsuperuser)."
            )

    def _demo_owner(self) -> tuple[User, Workspace]:
        created = not User.objects.filter(email=DEMO_EMAIL).exists()
        user = _login(
            DEMO_EMAIL,
            DEMO_PASSWORD,
            first_name="Demo",
            last_name="Owner",
            company_name="Demo Company",
            phone="+994501234567",
        )
        if created:
            signup_completed.send(sender=User, user=user, ip=None, user_agent="seed_demo")
        workspace, _ = Workspace.objects.get_or_create(
            slug=DEMO_SLUG, defaults={"name": "Demo Company", "time_zone": "Asia/Baku"}
        )
        Membership.objects.update_or_create(
            workspace=workspace, user=user, defaults={"role": Role.OWNER}
        )
        return user, workspace

    def _staff(self) -> list[tuple[str, str, str]]:
        admin_password = ADMIN_PASSWORD or (DEFAULT_ADMIN_PASSWORD if settings.DEBUG else "")
        support_password = SUPPORT_PASSWORD or (DEFAULT_SUPPORT_PASSWORD if settings.DEBUG else "")
        made: list[tuple[str, str, str]] = []
        if admin_password:
            _login(
                ADMIN_EMAIL,
                admin_password,
                first_name="Platform",
                last_name="Admin",
                is_staff=True,
                is_superuser=True,
            )
            made.append(("Admin:       ", ADMIN_EMAIL, admin_password))
        if support_password:
            support = _login(
                SUPPORT_EMAIL,
                support_password,
                first_name="Support",
                last_name="Staff",
                is_staff=True,
                is_superuser=False,
            )
            group, _ = Group.objects.get_or_create(name=SUPPORT_GROUP)
            support.groups.add(group)
            made.append(("Support:     ", SUPPORT_EMAIL, support_password))
        return made
