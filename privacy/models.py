"""Policy documents (versioned) and consent records. The privacy issue builds the rest."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class PolicyDocument(models.Model):
    class Kind(models.TextChoices):
        TERMS = "terms", _("Terms and conditions")
        PRIVACY = "privacy", _("Privacy policy")
        COOKIES = "cookies", _("Cookie policy")

    kind = models.CharField(max_length=16, choices=Kind.choices)
    version = models.CharField(max_length=20)
    title = models.CharField(max_length=200)
    body = models.TextField(help_text=_("Markdown"))
    published_at = models.DateTimeField(default=timezone.now)
    effective_at = models.DateTimeField(default=timezone.now)
    is_material_change = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "version"], name="policy_unique_version")
        ]
        ordering = ["kind", "-effective_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} v{self.version}"


class Consent(models.Model):
    """One grant or withdrawal by one user: of a policy version, or of a purpose."""

    class Purpose(models.TextChoices):
        TERMS = "terms", _("Terms and conditions")
        PRIVACY = "privacy", _("Privacy policy")
        MARKETING_EMAIL = "marketing_email", _("Marketing e-mails")
        ANALYTICS_COOKIES = "analytics_cookies", _("Analytics cookies")
        AGE_CONFIRMATION = "age_18_plus", _("Confirmation of being 18 or older")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="consents"
    )
    purpose = models.CharField(max_length=32, choices=Purpose.choices)
    document = models.ForeignKey(
        PolicyDocument, null=True, blank=True, on_delete=models.PROTECT, related_name="consents"
    )
    granted = models.BooleanField(default=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(purpose__in=["terms", "privacy"]) | Q(document__isnull=False),
                name="consent_policy_needs_document",
            )
        ]

    def __str__(self) -> str:
        state = "granted" if self.granted else "withdrawn"
        return f"{self.user_id} {self.purpose} {state}"
