"""Campaigns, the message outbox and inbound replies: what the engine reads and writes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import models
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.tenancy import WorkspaceOwned
from messaging.numbers.models import Sender


class Campaign(WorkspaceOwned):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SCHEDULED = "scheduled", _("Scheduled")
        LAUNCHING = "launching", _("Launching")
        RUNNING = "running", _("Running")
        PAUSED = "paused", _("Paused")
        COMPLETED = "completed", _("Completed")
        CANCELLED = "cancelled", _("Cancelled")
        EXPIRED = "expired", _("Expired")

    class PauseReason(models.TextChoices):
        NONE = "", _("—")
        USER = "user", _("Paused by a user")
        CREDITS = "credits", _("Not enough credits")
        BREAKER = "breaker", _("Too many failures")
        NUMBER_BLOCKED = "number_blocked", _("A number was blocked")
        AUDIENCE_CHANGED = "audience_changed", _("The audience differs from what was confirmed")
        TEMPLATE_PAUSED = "template_paused", _("Meta paused the WhatsApp template")
        TEMPLATE_DISABLED = "template_disabled", _("Meta disabled the WhatsApp template")
        WORKSPACE_SUSPENDED = "workspace_suspended", _("The workspace was suspended")
        NUMBER_PROTECTION = "number_protection", _("Paused to protect a number")
        OWNER_CLOSED = "owner_closed", _("The workspace owner's account was closed")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=150)
    # What is sent: our message template (free text: WhatsApp-Web and sandbox numbers), or a
    # Meta WhatsApp template (required on Cloud API numbers; other numbers get its text).
    template = models.ForeignKey(
        "messaging.MessageTemplate",
        on_delete=models.PROTECT,
        related_name="campaigns",
        null=True,
        blank=True,
    )
    whatsapp_template = models.ForeignKey(
        "messaging.WhatsAppTemplate",
        on_delete=models.PROTECT,
        related_name="campaigns",
        null=True,
        blank=True,
        help_text=_("Its name is sent; each contact gets the translation in their language."),
    )
    # slot key ("body.1", "header.1", "button.0") -> {"field", "fallback"} or {"text"}:
    # see messaging.content.template_send.
    template_variables = models.JSONField(_("template variables"), default=dict, blank=True)
    template_language = models.CharField(
        _("default language"),
        max_length=16,
        blank=True,
        help_text=_("For contacts whose language the template has no translation for."),
    )
    header_media_file = models.FileField(
        _("header media file"), upload_to="campaign-media/%Y/%m/", blank=True
    )
    header_media_url = models.URLField(_("header media link"), max_length=500, blank=True)
    header_media_type = models.CharField(_("header media type"), max_length=100, blank=True)
    audience = models.JSONField(_("audience filters"), default=dict, blank=True)
    senders = models.ManyToManyField(Sender, related_name="campaigns")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    pause_reason = models.CharField(
        max_length=24, choices=PauseReason.choices, default=PauseReason.NONE, blank=True
    )
    # What the pause reason needs said besides its label (e.g. Meta's reason for a template).
    pause_detail = models.CharField(max_length=255, blank=True)
    status_changed_at = models.DateTimeField(default=timezone.now)
    scheduled_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    send_window = models.JSONField(
        default=dict, blank=True
    )  # {"start": 9, "end": 20, "days": [0..6]}
    # {"preset": "safe", "per_second": 0.2, "batch_size": 50, ...}; {} = the numbers' own pace
    pacing = models.JSONField(default=dict, blank=True)
    fanout_cursor = models.BigIntegerField(default=0)
    recipients = models.PositiveIntegerField(default=0)
    skipped_opted_out = models.PositiveIntegerField(default=0)
    skipped_invalid = models.PositiveIntegerField(default=0)
    # Contacts left out because they had their fill of marketing messages (the workspace's
    # frequency cap, `SendingPolicy`); nothing was queued or charged for them.
    skipped_frequency_cap = models.PositiveIntegerField(default=0)
    # The ban-risk score at launch (`messaging.campaigns.risk`), kept for the campaign page.
    risk_score = models.PositiveSmallIntegerField(null=True, blank=True)
    credits_reserved = models.PositiveIntegerField(default=0)
    # Denormalised counters, updated in bulk with the statuses (no page counts message rows).
    count_queued = models.PositiveIntegerField(default=0)
    count_accepted = models.PositiveIntegerField(default=0)
    count_sent = models.PositiveIntegerField(default=0)
    count_delivered = models.PositiveIntegerField(default=0)
    count_read = models.PositiveIntegerField(default=0)
    count_failed = models.PositiveIntegerField(default=0)
    count_skipped = models.PositiveIntegerField(default=0)
    count_cancelled = models.PositiveIntegerField(default=0)
    count_replied = models.PositiveIntegerField(default=0)
    count_opted_out = models.PositiveIntegerField(default=0)
    # Accepted and not failed afterwards. A message WhatsApp accepted and then reported failed
    # is in both `count_accepted` and `count_failed`; this one tells them apart.
    count_credits_used = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    launched_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["workspace", "status"])]

    def __str__(self) -> str:
        return self.name

    @property
    def is_whatsapp_template(self) -> bool:
        return self.whatsapp_template_id is not None

    @property
    def content_name(self) -> str:
        """What the campaign sends, named: its message template or its WhatsApp template."""
        if self.whatsapp_template is not None:
            return str(self.whatsapp_template.name)
        return self.template.name if self.template is not None else ""

    @property
    def has_header_media(self) -> bool:
        return bool(self.header_media_file or self.header_media_url)

    @property
    def starts_later(self) -> bool:
        """Its start is still ahead (launching it schedules it)."""
        return bool(self.scheduled_at and self.scheduled_at > timezone.now())

    @property
    def credit_reference(self) -> str:
        return f"campaign:{self.public_id}"

    @property
    def attempted_count(self) -> int:
        """Messages sent that WhatsApp took or refused, each once (one accepted and then
        reported failed counts as failed)."""
        return self.count_credits_used + self.count_failed

    @property
    def done_count(self) -> int:
        return self.attempted_count + self.count_skipped + self.count_cancelled

    @property
    def progress_percent(self) -> int:
        return self.progress.done

    @property
    def progress(self) -> ProgressSplit:
        return ProgressSplit.of(
            attempted=self.attempted_count,
            not_sent=self.count_skipped + self.count_cancelled,
            recipients=self.recipients,
        )


@dataclass(frozen=True)
class ProgressSplit:
    """A campaign's progress bar in two parts, so a campaign cancelled after a tenth of its
    sends does not look like one that sent everything: the share sent (taken or refused by
    WhatsApp) and the share that will never be sent (skipped, cancelled, expired)."""

    sent: int
    not_sent: int

    @property
    def done(self) -> int:
        return self.sent + self.not_sent

    @classmethod
    def of(cls, *, attempted: int, not_sent: int, recipients: int) -> ProgressSplit:
        if not recipients:
            return cls(0, 0)
        done = min(100, int(100 * (attempted + not_sent) / recipients))
        sent = min(done, int(100 * attempted / recipients))
        return cls(sent, done - sent)


class CampaignMedia(models.Model):
    """A campaign's header file as uploaded to one Cloud API number (`/{phone_number_id}/media`):
    uploaded once per campaign and number, its id reused by every send, uploaded again when
    Meta may have dropped it (it keeps uploads 30 days) or a send said the id is unknown."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="media_uploads")
    sender = models.ForeignKey(Sender, on_delete=models.CASCADE, related_name="+")
    media_id = models.CharField(max_length=128)
    uploaded_at = models.DateTimeField(default=timezone.now)
    uploads = models.PositiveIntegerField(default=1)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "sender"], name="campaign_media_once_per_number"
            )
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}/{self.sender_id}: {self.media_id}"


#: The statuses of a message the gateway took (charged, until a failure refunds it).
CHARGED_STATUSES = ("accepted", "sent", "delivered", "read")

#: Campaign messages; single sends (API, inbox replies, test sends) go before them.
PRIORITY_CAMPAIGN = 0
PRIORITY_TRANSACTIONAL = 10
#: Every priority a message may have, highest first: the claim walks the due messages of each
#: in turn (a CHECK constraint keeps any other value out, which no claim would take).
MESSAGE_PRIORITIES = (PRIORITY_TRANSACTIONAL, PRIORITY_CAMPAIGN)


class Message(models.Model):
    """One message to one recipient: the outbox row the engine claims, sends and updates.

    Its foreign keys carry no database constraint (`db_constraint=False`): each inserted row
    paid four lookups at commit, measured at 45% of a 100,000-recipient fan-out. The engine
    writes these ids from rows it has just read in the same transaction, and deletions go
    through Django's collector (CASCADE / SET NULL), which does not rely on the constraint."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENDING = "sending", _("Sending")
        AMBIGUOUS = "ambiguous", _("Unconfirmed")
        ACCEPTED = "accepted", _("Accepted")
        SENT = "sent", _("Sent")
        DELIVERED = "delivered", _("Delivered")
        READ = "read", _("Read")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")
        SKIPPED = "skipped", _("Skipped")
        EXPIRED = "expired", _("Expired")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    workspace = models.ForeignKey(
        "accounts.Workspace",
        on_delete=models.CASCADE,
        related_name="+",
        # Indexed by `message_workspace_log` below (workspace, newest first).
        db_index=False,
        db_constraint=False,
    )
    # No single-column indexes on campaign and sender: the composite and partial indexes
    # below lead with them, and every index costs on the fan-out's bulk insert.
    campaign = models.ForeignKey(
        Campaign,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="messages",
        db_index=False,
        db_constraint=False,
    )
    contact = models.ForeignKey(
        "messaging.Contact",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
        # Indexed by `message_contact_thread` below (a conversation's thread, newest first).
        db_index=False,
    )
    sender = models.ForeignKey(
        Sender,
        on_delete=models.CASCADE,
        related_name="messages",
        db_index=False,
        db_constraint=False,
    )
    phone = models.CharField(max_length=20)
    body = models.TextField(blank=True)
    # A free-form message other than text (media by link, reply buttons, a list), as the
    # gateway's plain content (`messaging.gateways.freeform`); NULL for text (raw inserts such
    # as fan-out's leave it out). Single messages only.
    content = models.JSONField(null=True, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    # What the indexes know of the status: the status itself, except NULL once the gateway has
    # taken the message (accepted, sent, delivered, read: the charged ones). The receipts
    # that move a message between those change no indexed column, so PostgreSQL can write
    # them as HOT updates, in place on the page with no new entry in any of the table's 14
    # indexes (docs/scaling.md: 500 receipts 21 ms instead of 44 ms; in the whole loop 35-41% of
    # the table's updates HOT instead of 15%). No index may name `status` itself (a test
    # checks): queries that want an index filter on this column; `status` is the one written.
    indexed_status = models.GeneratedField(
        expression=Case(
            When(status__in=CHARGED_STATUSES, then=Value(None)),
            default=F("status"),
        ),
        output_field=models.CharField(max_length=12, null=True),
        db_persist=True,
    )
    priority = models.SmallIntegerField(default=PRIORITY_CAMPAIGN)
    attempts = models.SmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    lease_until = models.DateTimeField(null=True, blank=True)
    provider_message_id = models.CharField(max_length=128, blank=True)
    error_kind = models.CharField(max_length=24, blank=True)
    error_code = models.IntegerField(null=True, blank=True)
    error_title = models.CharField(max_length=255, blank=True)
    idempotency_key = models.CharField(max_length=128, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    status_changed_at = models.DateTimeField(default=timezone.now)
    accepted_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    # The first reply to this message and an opt-out it caused (what the statistics count).
    replied_at = models.DateTimeField(null=True, blank=True)
    opted_out_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(priority__in=MESSAGE_PRIORITIES), name="message_priority_known"
            ),
            # No path can queue one contact twice in one campaign.
            models.UniqueConstraint(
                fields=["campaign", "contact"],
                condition=Q(campaign__isnull=False, contact__isnull=False),
                name="message_once_per_campaign_contact",
            ),
            models.UniqueConstraint(
                fields=["workspace", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="message_unique_idempotency_key",
            ),
        ]
        indexes = [
            # The queue: only queued rows, so the index stays small while the table grows.
            # Keyed by campaign after the number: the drainer walks each running campaign's
            # due range and skips a paused campaign's queue (messaging.engine.due).
            models.Index(
                fields=["sender", "campaign", "-priority", "next_attempt_at"],
                condition=Q(indexed_status="queued"),
                name="message_due_by_campaign",
            ),
            models.Index(
                fields=["lease_until"],
                condition=Q(indexed_status="sending"),
                name="message_leased",
            ),
            # The tick's unconfirmed sends, resent after a while: without it each tick read
            # a whole index of the table. Keyed on the number, which receipts never change (a
            # key on `status_changed_at`, which each of them writes, made none of them HOT).
            models.Index(
                fields=["sender"],
                condition=Q(indexed_status="ambiguous"),
                name="message_unconfirmed",
            ),
            # A campaign's or a number's messages, and among them the queued, in-flight or
            # failed ones (the charged ones are the NULLs).
            models.Index(fields=["campaign", "indexed_status"], name="message_campaign_state"),
            # A workspace's messages, newest first (the message log pages by id). It replaces
            # the plain index on the workspace: with that one, the log's first page walked the
            # table's ids past every newer message of every other workspace, or read all of
            # the workspace's messages and sorted them.
            models.Index(fields=["workspace", "-id"], name="message_workspace_log"),
            models.Index(fields=["sender", "indexed_status"], name="message_sender_state"),
            # A contact's messages (contact page, erasure) and a conversation's thread: the
            # contact's messages from one number, newest first. It replaces the plain index on
            # contact, so the fan-out's insert pays no extra index.
            models.Index(fields=["contact", "sender", "-id"], name="message_contact_thread"),
            # The thread of a conversation with a number that is no contact (someone who wrote
            # in): no index covered the phone, so the thread page scanned the table (240 ms
            # at 680,000 messages). Partial: campaign messages, which always have a contact,
            # never write an entry.
            models.Index(
                fields=["sender", "phone", "-id"],
                condition=Q(contact__isnull=True),
                name="message_contactless_thread",
            ),
            # Status webhooks look messages up by the provider's id; rows not yet sent have
            # none and stay out of the index (fan-out writes no entry for them).
            models.Index(
                fields=["provider_message_id"],
                condition=~Q(provider_message_id=""),
                name="message_provider_id",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.phone} ({self.status})"


class SendingPolicy(WorkspaceOwned):
    """A workspace's sending-safety settings (issue #21), one row per workspace, edited by its
    owner: the highest ban-risk score a launch may have, and the per-contact frequency cap
    ("no contact gets more than N marketing messages per M days, across campaigns")."""

    workspace = models.OneToOneField(
        "accounts.Workspace", on_delete=models.CASCADE, related_name="sending_policy"
    )
    max_risk_score = models.PositiveSmallIntegerField(
        _("highest risk score a launch may have"),
        null=True,
        blank=True,
        help_text=_("Empty: no limit (a high score still asks for a confirmation)."),
    )
    frequency_cap_messages = models.PositiveSmallIntegerField(
        _("marketing messages per contact"),
        null=True,
        blank=True,
        help_text=_("Empty: no frequency cap."),
    )
    frequency_cap_days = models.PositiveSmallIntegerField(_("within days"), default=7)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(max_risk_score__isnull=True) | Q(max_risk_score__lte=100),
                name="sending_policy_max_risk_in_range",
            ),
            models.CheckConstraint(
                condition=Q(frequency_cap_days__gte=1), name="sending_policy_days_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"sending policy of {self.workspace_id}"

    @property
    def frequency_cap(self) -> tuple[int, int] | None:
        """(messages, days) when the cap is on."""
        if not self.frequency_cap_messages:
            return None
        return self.frequency_cap_messages, self.frequency_cap_days


class InboundMessage(WorkspaceOwned):
    """A reply from a recipient, as the gateway reported it."""

    sender = models.ForeignKey(Sender, on_delete=models.CASCADE, related_name="inbound")
    contact = models.ForeignKey(
        "messaging.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.SET_NULL, related_name="replies"
    )
    phone = models.CharField(max_length=20)
    provider_message_id = models.CharField(max_length=128)
    kind = models.CharField(max_length=24)
    text = models.TextField(blank=True)
    payload = models.CharField(max_length=255, blank=True)
    is_opt_out = models.BooleanField(default=False)
    is_opt_in = models.BooleanField(default=False)
    received_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-received_at"]
        indexes = [
            # A conversation's thread: one number's replies from one phone, newest first.
            models.Index(fields=["sender", "phone", "-received_at"], name="inbound_thread")
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["sender", "provider_message_id"], name="inbound_once_per_provider_id"
            )
        ]

    def __str__(self) -> str:
        return f"{self.phone}: {self.text[:30]}"
