"""The team inbox: one conversation per (number, contact phone), its internal notes, and the
workspace's canned replies.

A conversation's list fields (last message, preview, unread count) are denormalised and kept
by the code that writes the messages, in the same statement batch and transaction
(`messaging.engine.conversations`): the inbox list never scans messages."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.tenancy import WorkspaceOwned
from messaging.numbers.models import Sender


class Conversation(WorkspaceOwned):
    """Everything exchanged between one of the workspace's numbers and one phone."""

    class Status(models.TextChoices):
        OPEN = "open", pgettext_lazy("status", "Open")
        PENDING = "pending", _("Pending")
        CLOSED = "closed", _("Closed")

    class LastKind(models.TextChoices):
        INBOUND = "in", _("Received")
        OUTBOUND = "out", _("Sent")
        CAMPAIGN = "campaign", _("Campaign")

    # No database constraints on the foreign keys and no single-column indexes where a
    # composite one leads with the column: every reply and single send upserts this row
    # (as `Message` does; deletions go through Django's collector).
    workspace = models.ForeignKey(
        "accounts.Workspace",
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    sender = models.ForeignKey(
        Sender,
        on_delete=models.CASCADE,
        related_name="conversations",
        db_index=False,
        db_constraint=False,
    )
    phone = models.CharField(max_length=20)
    contact = models.ForeignKey(
        "messaging.Contact",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="conversations",
        db_constraint=False,
    )
    # The name the person gave WhatsApp (their profile), from their latest message: how the
    # team knows who wrote before the phone is a contact. Erased with the conversation.
    profile_name = models.CharField(max_length=120, blank=True, db_default="")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,  # `conversation_assignee` leads with (workspace, assignee)
    )
    labels = ArrayField(models.CharField(max_length=40), default=list, blank=True)
    last_message_at = models.DateTimeField(default=timezone.now)
    last_kind = models.CharField(max_length=8, choices=LastKind.choices, blank=True)
    # The last message's text (a campaign's: its name), cut for the list.
    last_preview = models.CharField(max_length=160, blank=True)
    last_inbound_at = models.DateTimeField(null=True, blank=True)
    unread_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-last_message_at", "-id"]
        constraints = [
            # The upsert every message write makes relies on it (ON CONFLICT (sender, phone)).
            models.UniqueConstraint(fields=["sender", "phone"], name="conversation_per_phone")
        ]
        indexes = [
            # "Mine" and "unassigned" (the state is filtered on the way: most rows are open).
            models.Index(
                fields=["workspace", "assignee", "-last_message_at"],
                name="conversation_assignee",
            ),
            # The list, newest first (the state is filtered on the way: most rows are open;
            # closed ones are the rest).
            models.Index(fields=["workspace", "-last_message_at"], name="conversation_recent"),
            models.Index(
                fields=["workspace"],
                condition=Q(unread_count__gt=0),
                name="conversation_unread",
            ),
        ]

    def __str__(self) -> str:
        # Not the phone: this names the conversation in the audit log, which outlives an
        # erasure of the number.
        return f"#{str(self.public_id)[:8]}"


class ConversationNote(WorkspaceOwned):
    """An internal note in a conversation: seen by the team, never sent to the contact."""

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    text = models.TextField(_("note"), max_length=4000)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["conversation", "created_at"], name="note_thread")]

    def __str__(self) -> str:
        return self.text[:40]


class CannedReply(WorkspaceOwned):
    """A saved reply snippet; `{first_name}`-style variables are filled from the contact."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=60)
    text = models.TextField(_("text"), max_length=4096)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="canned_reply_name_unique")
        ]

    def __str__(self) -> str:
        return self.name
