"""The suppression list: numbers erased at a recipient's request, kept only as a salted hash.

Kept in its own module and imported by `messaging.models`. The table was created by the
privacy app and keeps its name (`privacy_suppressedphone`); the model moved here, beside the
contacts it keeps out, without touching the database (messaging migration 0014, privacy 0005).
Entries are written by the recipient erasure (`messaging.privacy.erase_recipient`) and read by
the importer (`messaging.selectors.phones_suppressed`)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class SuppressedPhone(models.Model):
    """A number that was erased: only a salted SHA-256 of its E.164 form is kept
    (`accounts.hashing.subject_hash`), so a re-import does not bring it back without fresh
    consent."""

    class Scope(models.TextChoices):
        WORKSPACE = "workspace", _("This workspace")
        PLATFORM = "platform", _("Whole platform")

    phone_hash = models.CharField(max_length=64)
    scope = models.CharField(max_length=12, choices=Scope.choices)
    workspace = models.ForeignKey(
        "accounts.Workspace", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        db_table = "privacy_suppressedphone"
        verbose_name = _("suppressed phone")
        verbose_name_plural = _("suppressed phones")
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "phone_hash"],
                condition=Q(scope="workspace"),
                name="suppressed_unique_in_workspace",
            ),
            models.UniqueConstraint(
                fields=["phone_hash"],
                condition=Q(scope="platform"),
                name="suppressed_unique_platform",
            ),
            models.CheckConstraint(
                condition=(Q(scope="workspace") & Q(workspace__isnull=False))
                | (Q(scope="platform") & Q(workspace__isnull=True)),
                name="suppressed_scope_matches_workspace",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.scope} {self.phone_hash[:12]}…"
