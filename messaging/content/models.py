"""Message templates: our free text with variables, variants and `{a|b}` alternatives."""

from __future__ import annotations

import uuid

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.tenancy import WorkspaceOwned


class MessageTemplate(WorkspaceOwned):
    """A message: one or more text variants (rotated across recipients), optional media and
    footer, and for Cloud API numbers the approved Meta template it maps to. The text language
    is `messaging.rendering`'s."""

    class MediaType(models.TextChoices):
        NONE = "", _("None")
        IMAGE = "image", _("Image")
        DOCUMENT = "document", _("Document")

    class Category(models.TextChoices):
        MARKETING = "marketing", _("Marketing")
        UTILITY = "utility", _("Utility")
        AUTHENTICATION = "authentication", _("Authentication")

    class ApprovalStatus(models.TextChoices):
        NOT_SUBMITTED = "not_submitted", _("Not submitted")
        PENDING = "pending", _("Pending review")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        PAUSED = "paused", _("Paused")
        DISABLED = "disabled", _("Disabled")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=120)
    variants = ArrayField(models.TextField(), default=list)
    media_type = models.CharField(
        _("media"), max_length=16, choices=MediaType.choices, default=MediaType.NONE, blank=True
    )
    media_url = models.URLField(_("media URL"), max_length=500, blank=True)
    footer = models.CharField(_("footer"), max_length=60, blank=True)

    wa_template_name = models.CharField(_("Meta template name"), max_length=512, blank=True)
    wa_language = models.CharField(_("Meta template language"), max_length=16, blank=True)
    wa_category = models.CharField(
        _("Meta template category"), max_length=16, choices=Category.choices, blank=True
    )
    wa_parameters = models.JSONField(_("parameter mapping"), default=list, blank=True)
    wa_status = models.CharField(
        _("approval status"),
        max_length=16,
        choices=ApprovalStatus.choices,
        default=ApprovalStatus.NOT_SUBMITTED,
    )
    wa_rejection_reason = models.CharField(max_length=255, blank=True)

    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "name"], name="messaging_template_unique_name"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def body(self) -> str:
        return self.variants[0] if self.variants else ""

    @property
    def is_cloud_api_ready(self) -> bool:
        """Usable on Cloud API numbers: mapped to a Meta template that Meta approved."""
        return bool(self.wa_template_name) and self.wa_status == self.ApprovalStatus.APPROVED
