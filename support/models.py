"""The support desk: tickets between a workspace's members and iSend's staff.

A ticket belongs to a workspace (its members see it by the rule in `selectors`), is opened by
one of its members, and is answered by staff. Every message of the thread is a TicketMessage;
staff's internal notes are messages the customer never sees. Attachments are files in the
default storage under an unguessable name, served only through views that check who asks."""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.conf import settings
from django.core.validators import MaxLengthValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.tenancy import WorkspaceOwned


class Ticket(WorkspaceOwned):
    class Category(models.TextChoices):
        BILLING = "billing", _("Billing")
        NUMBER_BANNED = "number_banned", _("Number banned")
        TECHNICAL = "technical", _("Technical")
        PRIVACY = "privacy", _("Privacy")

    class Status(models.TextChoices):
        OPEN = "open", pgettext_lazy("status", "Open")
        WAITING_ON_CUSTOMER = "waiting_customer", _("Waiting on customer")
        WAITING_ON_STAFF = "waiting_staff", _("Waiting on staff")
        CLOSED = "closed", _("Closed")

    #: How soon staff answer, by category: the ticket's `due_at` is set this far ahead when it
    #: is opened and each time the customer writes (a banned number stops a business: 8 hours;
    #: privacy questions are answered within 72 hours, well inside the 30 days a formal data
    #: request has). Documented in docs/support.md.
    RESPONSE_TIMES: dict[str, timedelta] = {
        Category.BILLING: timedelta(hours=24),
        Category.NUMBER_BANNED: timedelta(hours=8),
        Category.TECHNICAL: timedelta(hours=24),
        Category.PRIVACY: timedelta(hours=72),
    }
    #: Statuses in which the ball is in staff's court: only these can be overdue.
    AWAITING_STAFF = (Status.OPEN, Status.WAITING_ON_STAFF)

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("opened by"),
    )
    subject = models.CharField(_("subject"), max_length=200)
    category = models.CharField(_("category"), max_length=16, choices=Category.choices)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.OPEN
    )
    # The opener's language when they opened the ticket: staff's replies reach them in it.
    language = models.CharField(_("language"), max_length=8, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        limit_choices_to={"is_staff": True},
        verbose_name=_("assignee"),
    )
    due_at = models.DateTimeField(_("answer due"), null=True, blank=True, db_index=True)
    data_request = models.OneToOneField(
        "privacy.DataRequest",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("data request"),
    )
    created_at = models.DateTimeField(_("opened"), default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-updated_at"]
        verbose_name = _("support ticket")
        verbose_name_plural = _("support tickets")
        indexes = [models.Index(fields=["workspace", "-updated_at"])]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="closed") | Q(closed_at__isnull=False),
                name="support_ticket_closed_has_time",
            )
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.subject}"

    @property
    def awaits_staff(self) -> bool:
        """The ball is in staff's court: only then does the answer have a due time."""
        return self.status in self.AWAITING_STAFF

    @property
    def is_overdue(self) -> bool:
        return self.awaits_staff and self.due_at is not None and self.due_at < timezone.now()


#: A ticket message's longest body: a long letter fits; a pasted log or a megabyte does not
#: (a file goes as an attachment).
MAX_MESSAGE_CHARS = 10_000


class TicketMessage(WorkspaceOwned):
    """One message of a ticket's thread: the customer's, staff's, or staff's internal note."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    from_staff = models.BooleanField(default=False)
    internal = models.BooleanField(
        _("internal note"), default=False, help_text=_("Seen by staff only.")
    )
    body = models.TextField(
        _("message"),
        max_length=MAX_MESSAGE_CHARS,
        validators=[MaxLengthValidator(MAX_MESSAGE_CHARS)],
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(internal=False) | Q(from_staff=True),
                name="support_message_internal_only_staff",
            )
        ]

    def __str__(self) -> str:
        return f"message {self.pk} on ticket {self.ticket_id}"


#: The stored file's suffix, from the type sniffed from its bytes (`content_type`).
ATTACHMENT_SUFFIXES = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "application/pdf": ".pdf",
    "text/plain": ".txt",
}


def _attachment_upload_to(instance: TicketAttachment, filename: str) -> str:
    # The stored name is random: the original name is kept in a column, never in the path.
    # Its suffix is the sniffed type's, never the posted name's: MEDIA_ROOT is served
    # publicly (README), where a PNG posted as "x.html" would be a page of our origin.
    suffix = ATTACHMENT_SUFFIXES.get(instance.content_type, ".bin")
    return f"support/{uuid.uuid4().hex}{suffix}"


class TicketAttachment(WorkspaceOwned):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="attachments")
    message = models.ForeignKey(TicketMessage, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=_attachment_upload_to, max_length=255)
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size_bytes = models.PositiveBigIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return self.original_name
