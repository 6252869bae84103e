"""Contact imports and the rows they rejected (kept as the import's report)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.tenancy import WorkspaceOwned
from messaging.imports.reasons import rejection_message


def _import_upload_to(instance: ContactImport, filename: str) -> str:
    # The user's file name never reaches the path: only ids we made.
    return f"imports/{instance.workspace_id}/{instance.public_id}"


class ContactImport(WorkspaceOwned):
    """One CSV/XLSX import. `cursor` counts the data rows already written, in the same
    transaction as the rows themselves, so a redelivered task resumes where it stopped."""

    class Status(models.TextChoices):
        # A workbook is opened by the worker, never by the upload request (issue 17, F4).
        INSPECTING = "inspecting", _("Reading the file")
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
    # Options given before the worker finished reading the file (the API uploads and starts in
    # one request): {"mapping": {...} or {}, "has_header": bool | None}. The inspection checks
    # the mapping against the columns it found, then queues the run or fails the import.
    pending_options = models.JSONField(null=True, blank=True)
    default_country = models.CharField(max_length=2, default="AZ")
    on_existing = models.CharField(
        max_length=8, choices=OnExisting.choices, default=OnExisting.UPDATE
    )
    contact_list = models.ForeignKey(
        "messaging.ContactList", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
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
    def delimiter_label(self) -> str:
        """The separator as a person reads it: a tab or a space is named, not printed."""
        names = {"\t": "TAB", " ": _("space")}
        return str(names.get(self.delimiter, self.delimiter))

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
    # The reason's parameters (the value, the first line of a duplicate...): the sentence is
    # made when the report is read, in the reader's language (`imports.reasons`). NULL on rows
    # stored before, which keep their English sentence in `message`; new rows leave it empty.
    params = models.JSONField(null=True, blank=True)
    message = models.CharField(max_length=255, blank=True)
    row = models.JSONField(default=list)

    class Meta:
        indexes = [models.Index(fields=["contact_import", "line"], name="messaging_reject_line")]

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"

    @property
    def text(self) -> str:
        """Why the row was not imported, in the active language."""
        return rejection_message(self.reason, self.params, self.message)
