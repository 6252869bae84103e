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


class WhatsAppTemplate(WorkspaceOwned):
    """A Meta message template of one WhatsApp Business Account (WABA), as Meta holds it:
    synced from `GET /{waba_id}/message_templates`, created through `POST` there, and kept
    current by the `message_template_*` webhooks. `components` is Meta's component list exactly
    (HEADER/BODY/FOOTER/BUTTONS with their `example`s); `messaging.content.whatsapp` reads it.

    One row per (workspace, WABA, name, language): Meta's own identity of a template, which is
    also what a send names. A template removed at Meta stays as DELETED while something refers
    to it, so history keeps its meaning."""

    class Category(models.TextChoices):
        MARKETING = "MARKETING", _("Marketing")
        UTILITY = "UTILITY", _("Utility")
        AUTHENTICATION = "AUTHENTICATION", _("Authentication")

    class Status(models.TextChoices):
        # Meta's template statuses (Graph API `status` field and the status webhook).
        APPROVED = "APPROVED", _("Approved")
        PENDING = "PENDING", _("Pending review")
        REJECTED = "REJECTED", _("Rejected")
        PAUSED = "PAUSED", _("Paused")
        DISABLED = "DISABLED", _("Disabled")
        IN_APPEAL = "IN_APPEAL", _("In appeal")
        PENDING_DELETION = "PENDING_DELETION", _("Pending deletion")
        DELETED = "DELETED", _("Deleted")
        ARCHIVED = "ARCHIVED", _("Archived")
        LIMIT_EXCEEDED = "LIMIT_EXCEEDED", _("Limit exceeded")

    class Quality(models.TextChoices):
        GREEN = "GREEN", _("High")
        YELLOW = "YELLOW", _("Medium")
        RED = "RED", _("Low")
        UNKNOWN = "UNKNOWN", _("Unknown")

    class ParameterFormat(models.TextChoices):
        POSITIONAL = "POSITIONAL", _("Positional ({{1}})")
        NAMED = "NAMED", _("Named ({{first_name}})")

    # Statuses a send may use; every other status refuses (132001 / 132015 / 132016 at Meta).
    SENDABLE_STATUSES = frozenset({Status.APPROVED})

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    waba_id = models.CharField(_("WhatsApp Business Account id"), max_length=64)
    meta_id = models.CharField(_("Meta template id"), max_length=64, blank=True, db_index=True)
    name = models.CharField(_("name"), max_length=512)
    language = models.CharField(_("language"), max_length=16)
    category = models.CharField(
        _("category"), max_length=16, choices=Category.choices, default=Category.MARKETING
    )
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    quality = models.CharField(
        _("quality"), max_length=8, choices=Quality.choices, default=Quality.UNKNOWN
    )
    parameter_format = models.CharField(
        _("parameter format"),
        max_length=10,
        choices=ParameterFormat.choices,
        default=ParameterFormat.POSITIONAL,
    )
    components = models.JSONField(_("components"), default=list, blank=True)
    rejected_reason = models.CharField(_("rejection reason"), max_length=255, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "language"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "waba_id", "name", "language"],
                name="whatsapp_template_unique_name_language",
            ),
        ]
        indexes = [models.Index(fields=["workspace", "waba_id", "status"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.language})"

    @property
    def is_sendable(self) -> bool:
        return self.status in self.SENDABLE_STATUSES
