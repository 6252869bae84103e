"""Policy documents (versioned), consent records, data-subject requests, exports and per-user
privacy state. (The suppression list of erased numbers is messaging's: `messaging.suppression`.)"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

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


class PolicyTranslation(models.Model):
    """One language version of a policy version: the same document (same version, same
    effective date) in Azerbaijani or Russian. The English text is the document's own body;
    a visitor whose language has no version here reads the English one."""

    document = models.ForeignKey(
        PolicyDocument, on_delete=models.CASCADE, related_name="translations"
    )
    language = models.CharField(max_length=8, choices=settings.LANGUAGES)
    title = models.CharField(max_length=200)
    body = models.TextField(help_text=_("Markdown"))
    published_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["document", "language"], name="policy_translation_unique_language"
            )
        ]
        ordering = ["document", "language"]

    def __str__(self) -> str:
        return f"{self.document} ({self.language})"


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
    # The language version of `document` the user was shown and accepted ("" before issue 19).
    language = models.CharField(max_length=8, blank=True, default="")
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


def _request_due_default() -> datetime:
    return timezone.now() + timedelta(days=30)


class PrivacyProfile(models.Model):
    """Per-user privacy state that does not belong on the login model: restriction/objection,
    marketing opt-in, and the scheduled purge of a deactivated account."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="privacy_profile"
    )
    restricted_at = models.DateTimeField(_("processing restricted at"), null=True, blank=True)
    objected_at = models.DateTimeField(_("objected to processing at"), null=True, blank=True)
    marketing_opt_in = models.BooleanField(_("marketing e-mails"), default=False)
    deletion_requested_at = models.DateTimeField(null=True, blank=True)
    purge_after = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        verbose_name = _("privacy profile")
        verbose_name_plural = _("privacy profiles")

    def __str__(self) -> str:
        return f"privacy profile #{self.user_id}"

    @property
    def is_restricted(self) -> bool:
        """Restriction or objection: excluded from marketing, analytics and non-essential
        processing until lifted."""
        return self.restricted_at is not None or self.objected_at is not None


# How `data_request_withdraw_erasure` starts the reason of a request its subject called off.
WITHDRAWN_PREFIX = "withdrawn:"


class DataRequest(models.Model):
    """One data-subject request and its handling. After an erasure the subject's identifiers
    are cleared from the row; `proof` keeps what was done, counts, by whom and when, with a
    salted hash as the only link to the person."""

    class Kind(models.TextChoices):
        ACCESS = "access", _("Access")
        EXPORT = "export", _("Export (portability)")
        RECTIFICATION = "rectification", _("Rectification")
        ERASURE = "erasure", _("Erasure")
        RESTRICTION = "restriction", _("Restriction")
        OBJECTION = "objection", _("Objection")
        CONSENT_WITHDRAWAL = "consent_withdrawal", _("Consent withdrawal")
        AUTHORITY_REQUEST = "authority_request", _("Supervisory authority request")

    class Channel(models.TextChoices):
        WEB = "web", _("Web")
        EMAIL = "email", _("E-mail")
        STAFF = "staff", _("Staff")

    class Status(models.TextChoices):
        RECEIVED = "received", _("Received")
        AWAITING_CONFIRMATION = "awaiting_confirmation", _("Awaiting confirmation")
        VERIFIED = "verified", _("Verified")
        IN_PROGRESS = "in_progress", _("In progress")
        COMPLETED = "completed", _("Completed")
        REJECTED = "rejected", _("Rejected")

    OPEN_STATUSES = (
        Status.RECEIVED,
        Status.AWAITING_CONFIRMATION,
        Status.VERIFIED,
        Status.IN_PROGRESS,
    )

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(_("kind"), max_length=24, choices=Kind.choices)
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    status = models.CharField(
        _("status"), max_length=24, choices=Status.choices, default=Status.RECEIVED
    )
    requester_email = models.EmailField(_("requester e-mail"), blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="data_requests",
    )
    contact_phone = models.CharField(_("contact phone"), max_length=20, blank=True)
    workspace = models.ForeignKey(
        "accounts.Workspace", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    received_at = models.DateTimeField(_("received"), default=timezone.now)
    due_at = models.DateTimeField(_("due"), default=_request_due_default, db_index=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        limit_choices_to={"is_staff": True},
    )
    notes = models.TextField(_("notes"), blank=True)
    rejection_reason = models.TextField(_("legal reason for rejection"), blank=True)
    token_hash = models.CharField(max_length=64, blank=True, db_index=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    proof = models.JSONField(default=dict, blank=True)
    # Four eyes on an account's erasure that its owner did not ask for (issue #17 F5): one
    # staff member proposes it, another approves it, and only then is it carried out.
    erasure_reason = models.CharField(_("grounds for the erasure"), max_length=32, blank=True)
    erasure_proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("erasure proposed by"),
    )
    erasure_proposed_at = models.DateTimeField(null=True, blank=True)
    erasure_approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("erasure approved by"),
    )
    erasure_approved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due_at"]
        verbose_name = _("data request")
        verbose_name_plural = _("data requests")
        permissions = [("execute_erasure", "Can execute erasures and flag minors' accounts")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{str(self.public_id)[:8]}"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    @property
    def is_overdue(self) -> bool:
        return self.is_open and self.due_at < timezone.now()

    @property
    def is_withdrawn(self) -> bool:
        """Closed because its subject called it off (an account restored before its purge),
        not refused."""
        return self.status == self.Status.REJECTED and self.rejection_reason.startswith(
            WITHDRAWN_PREFIX
        )


class DataExport(models.Model):
    """A machine-readable archive of one user's data. Built in resumable sections (the cursor
    is `sections_done`), downloadable only by that user for 7 days, then deleted."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Queued")
        BUILDING = "building", _("Building")
        READY = "ready", _("Ready")
        FAILED = "failed", _("Failed")
        EXPIRED = "expired", _("Expired")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="data_exports"
    )
    data_request = models.ForeignKey(
        DataRequest, null=True, blank=True, on_delete=models.SET_NULL, related_name="exports"
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    sections_done = models.JSONField(default=list, blank=True)
    file_path = models.CharField(max_length=500, blank=True)
    size_bytes = models.PositiveBigIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    downloaded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"export {str(self.public_id)[:8]} ({self.status})"

    @property
    def is_downloadable(self) -> bool:
        return (
            self.status == self.Status.READY
            and self.expires_at is not None
            and self.expires_at > timezone.now()
        )
