"""Messaging models: contacts, lists, segments, imports, the suppression list and message
templates.

Fields, constraints and small properties only; every write lives in `messaging.services`, every
shared read in `messaging.selectors`."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models
from django.db.models.functions import Upper
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.tenancy import WorkspaceOwned


class OptOutSource(models.TextChoices):
    KEYWORD = "keyword", _("Keyword reply (STOP)")
    BUTTON = "button", _("Button")
    MANUAL = "manual", _("Manual")
    IMPORT = "import", _("Import")
    API = "api", _("API")
    GATEWAY = "gateway", _("Gateway")


class WhatsAppStatus(models.TextChoices):
    UNKNOWN = "unknown", _("Unknown")
    VALID = "valid", _("On WhatsApp")
    INVALID = "invalid", _("Not on WhatsApp")


class CreatedVia(models.TextChoices):
    MANUAL = "manual", _("Manual")
    IMPORT = "import", _("Import")
    API = "api", _("API")
    INBOUND = "inbound", _("Inbound message")


class Contact(WorkspaceOwned):
    """A message recipient. The phone is E.164 and unique per workspace; opt-out is sticky:
    nothing but an explicit opt-in (a person's action) clears it."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    phone = models.CharField(_("phone"), max_length=20)
    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    last_name = models.CharField(_("last name"), max_length=100, blank=True)
    language = models.CharField(_("language"), max_length=16, blank=True)
    country = models.CharField(_("country"), max_length=2, blank=True)
    time_zone = models.CharField(_("time zone"), max_length=64, blank=True)
    attributes = models.JSONField(_("attributes"), default=dict, blank=True)
    tags = ArrayField(models.CharField(max_length=64), default=list, blank=True)

    consent_source = models.CharField(_("consent source"), max_length=120, blank=True)
    consent_at = models.DateTimeField(_("consent given at"), null=True, blank=True)
    consent_proof = models.JSONField(_("consent proof"), default=dict, blank=True)

    opted_out_at = models.DateTimeField(_("opted out at"), null=True, blank=True)
    opt_out_source = models.CharField(
        _("opt-out source"), max_length=16, choices=OptOutSource.choices, blank=True
    )
    opt_out_reason = models.CharField(_("opt-out reason"), max_length=255, blank=True)

    whatsapp_status = models.CharField(
        _("WhatsApp status"),
        max_length=16,
        choices=WhatsAppStatus.choices,
        default=WhatsAppStatus.UNKNOWN,
    )
    whatsapp_error = models.CharField(_("WhatsApp error"), max_length=255, blank=True)

    created_via = models.CharField(
        max_length=16, choices=CreatedVia.choices, default=CreatedVia.MANUAL
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "phone"], name="messaging_contact_unique_phone"
            ),
        ]
        indexes = [
            GinIndex(fields=["tags"], name="messaging_contact_tags_gin"),
            # Search (`icontains` is UPPER(x) LIKE UPPER('%term%')) without reading every row.
            GinIndex(
                OpClass(Upper("first_name"), name="gin_trgm_ops"),
                name="messaging_contact_first_trgm",
            ),
            GinIndex(
                OpClass(Upper("last_name"), name="gin_trgm_ops"),
                name="messaging_contact_last_trgm",
            ),
            # Digits typed as a fragment of a number (`phone LIKE '%0123456%'`).
            GinIndex(
                fields=["phone"], opclasses=["gin_trgm_ops"], name="messaging_contact_phone_trgm"
            ),
            models.Index(fields=["workspace", "-created_at"], name="messaging_contact_ws_created"),
            # Fan-out and exports walk one workspace's contacts in id order, chunk by chunk.
            models.Index(fields=["workspace", "id"], name="messaging_contact_ws_id"),
            models.Index(
                fields=["workspace"],
                name="messaging_contact_opted_out",
                condition=models.Q(opted_out_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.full_name} {self.phone}".strip()

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def is_opted_out(self) -> bool:
        return self.opted_out_at is not None

    @property
    def is_reachable(self) -> bool:
        return self.opted_out_at is None and self.whatsapp_status != WhatsAppStatus.INVALID


class ContactVocabulary(WorkspaceOwned):
    """The tags and attribute names a workspace's contacts have used, for filter menus and
    template validation: listing them from the contacts themselves reads every row (300 ms at
    a million contacts). A trigger on `messaging_contact` adds names in the statement that
    writes them (migration 0012); `contact_vocabulary_prune` drops the ones no contact uses
    and any copies."""

    class Kind(models.TextChoices):
        TAG = "tag", _("Tag")
        ATTRIBUTE = "attribute", _("Attribute")

    kind = models.CharField(max_length=16, choices=Kind.choices)
    name = models.CharField(max_length=100)

    class Meta:
        # Not unique, on purpose: a unique index would make two transactions that introduce
        # the same new name wait for each other (and deadlock when they do it in opposite
        # orders). A name may be listed twice for a while; readers use DISTINCT and the
        # prune removes the copies.
        indexes = [
            models.Index(fields=["workspace", "kind", "name"], name="messaging_vocabulary_name")
        ]

    def __str__(self) -> str:
        return f"{self.kind}: {self.name}"


class ContactList(WorkspaceOwned):
    """A static list: membership changes only when someone adds or removes contacts."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=120)
    description = models.CharField(_("description"), max_length=255, blank=True)
    contacts: models.ManyToManyField[Contact, ContactListMembership] = models.ManyToManyField(
        Contact, through="ContactListMembership", related_name="lists", blank=True
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "name"], name="messaging_contactlist_unique_name"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ContactListMembership(WorkspaceOwned):
    contact_list = models.ForeignKey(ContactList, on_delete=models.CASCADE)
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE)
    added_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["contact_list", "contact"], name="messaging_list_member_unique"
            ),
        ]
        indexes = [models.Index(fields=["contact"], name="messaging_list_member_contact")]


class Segment(WorkspaceOwned):
    """A saved filter (see `selectors.contacts_matching`): membership is computed when read."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=120)
    filters = models.JSONField(_("filters"), default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "name"], name="messaging_segment_unique_name"
            ),
        ]

    def __str__(self) -> str:
        return self.name


def _import_upload_to(instance: ContactImport, filename: str) -> str:
    # The user's file name never reaches the path: only ids we made.
    return f"imports/{instance.workspace_id}/{instance.public_id}"


class ContactImport(WorkspaceOwned):
    """One CSV/XLSX import. `cursor` counts the data rows already written, in the same
    transaction as the rows themselves, so a redelivered task resumes where it stopped."""

    class Status(models.TextChoices):
        UPLOADED = "uploaded", _("Waiting for column mapping")
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Importing")
        COMPLETED = "completed", _("Completed")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        XLSX = "xlsx", "XLSX"

    class OnExisting(models.TextChoices):
        UPDATE = "update", _("Update existing contacts")
        SKIP = "skip", _("Skip existing contacts")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.UPLOADED)
    file = models.FileField(upload_to=_import_upload_to, max_length=255)
    original_name = models.CharField(max_length=255, blank=True)
    size_bytes = models.BigIntegerField(default=0)
    file_format = models.CharField(max_length=8, choices=Format.choices)
    encoding = models.CharField(max_length=32, blank=True)
    delimiter = models.CharField(max_length=4, blank=True)
    has_header = models.BooleanField(default=True)
    columns = models.JSONField(default=list, blank=True)
    preview_rows = models.JSONField(default=list, blank=True)

    mapping = models.JSONField(default=dict, blank=True)
    default_country = models.CharField(max_length=2, default="AZ")
    on_existing = models.CharField(
        max_length=8, choices=OnExisting.choices, default=OnExisting.UPDATE
    )
    contact_list = models.ForeignKey(
        ContactList, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    tags = ArrayField(models.CharField(max_length=64), default=list, blank=True)
    consent_confirmed_at = models.DateTimeField(null=True, blank=True)
    consent_source = models.CharField(max_length=120, blank=True)

    cursor = models.PositiveIntegerField(default=0)
    total_rows = models.PositiveIntegerField(null=True, blank=True)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    unchanged_count = models.PositiveIntegerField(default=0)
    duplicate_count = models.PositiveIntegerField(default=0)
    invalid_count = models.PositiveIntegerField(default=0)
    opted_out_count = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The uploaded file is deleted some days after the import ends (the report stays).
    file_deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["workspace", "-created_at"], name="messaging_import_ws")]

    def __str__(self) -> str:
        return self.original_name or str(self.public_id)

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.COMPLETED, self.Status.FAILED, self.Status.CANCELLED)

    @property
    def progress_percent(self) -> int:
        if self.status == self.Status.COMPLETED:
            return 100
        if not self.total_rows:
            return 0
        return min(99, int(self.cursor * 100 / self.total_rows))


class ContactImportRejection(WorkspaceOwned):
    """A row the import did not take, with its line number and reason (downloadable as CSV)."""

    contact_import = models.ForeignKey(
        ContactImport, on_delete=models.CASCADE, related_name="rejections"
    )
    line = models.PositiveIntegerField()
    reason = models.CharField(max_length=32)
    message = models.CharField(max_length=255)
    row = models.JSONField(default=list)

    class Meta:
        indexes = [models.Index(fields=["contact_import", "line"], name="messaging_reject_line")]


from .models_senders import Sender, WebhookEvent  # noqa: E402,F401  (numbers and their webhooks)


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


from .models_engine import Campaign, InboundMessage, Message, MessageStat  # noqa: E402,F401  (engine tables)
from .suppression import SuppressedPhone  # noqa: E402,F401  (the suppression list)
