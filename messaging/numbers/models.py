"""WhatsApp numbers (`Sender`) and the raw webhook events received for them.

Kept in its own module and imported by `messaging.models`."""

from __future__ import annotations

import secrets
import uuid
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.tenancy import WorkspaceOwned


def _verify_token() -> str:
    return secrets.token_urlsafe(24)


class Sender(WorkspaceOwned):
    """One WhatsApp number a workspace sends from."""

    class Provider(models.TextChoices):
        CLOUD_API = "cloud_api", _("WhatsApp Cloud API (Meta)")
        WEB_GATEWAY = "web_gateway", _("WhatsApp Web gateway (QR code)")
        SANDBOX = "sandbox", _("Sandbox (simulated)")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        ACTIVE = "active", _("Active")
        RESTRICTED = "restricted", _("Restricted")
        BANNED = "banned", _("Banned")
        DISCONNECTED = "disconnected", _("Disconnected")

    class Quality(models.TextChoices):
        UNKNOWN = "unknown", _("Unknown")
        GREEN = "green", _("High")
        YELLOW = "yellow", _("Medium")
        RED = "red", _("Low")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    provider = models.CharField(max_length=16, choices=Provider.choices)
    label = models.CharField(_("label"), max_length=100, blank=True)
    phone_number = models.CharField(_("phone number"), max_length=20, blank=True)
    phone_number_id = models.CharField(max_length=64, blank=True, db_index=True)
    waba_id = models.CharField(_("WhatsApp Business Account id"), max_length=64, blank=True)
    web_session = models.CharField(max_length=64, blank=True)
    credentials_encrypted = models.TextField(blank=True)
    verify_token = models.CharField(max_length=64, default=_verify_token)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    status_reason = models.TextField(blank=True)
    status_changed_at = models.DateTimeField(default=timezone.now)
    quality = models.CharField(max_length=8, choices=Quality.choices, default=Quality.UNKNOWN)
    throughput_per_second = models.PositiveIntegerField(_("messages per second"), default=80)
    min_interval_ms = models.PositiveIntegerField(_("minimum interval (ms)"), default=0)
    jitter_ms = models.PositiveIntegerField(_("random jitter (ms)"), default=0)
    daily_cap = models.PositiveIntegerField(_("daily cap"), default=1000)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    removed_at = models.DateTimeField(null=True, blank=True)
    # Set by the drainer when the number used its daily cap with messages still waiting: the
    # next midnight in the workspace's time zone (when the cap resets). Cleared by the next
    # grant. Read by the campaign page, the API and /healthz (never from Redis).
    capped_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            # A Cloud API number belongs to one connection at a time.
            models.UniqueConstraint(
                fields=["provider", "phone_number_id"],
                condition=Q(removed_at__isnull=True) & ~Q(phone_number_id=""),
                name="sender_unique_live_phone_number_id",
            ),
        ]
        indexes = [models.Index(fields=["workspace", "status"])]

    def __str__(self) -> str:
        return self.label or self.phone_number or str(self.public_id)

    @property
    def is_live(self) -> bool:
        return self.removed_at is None

    @property
    def cap_wait_reason(self) -> str:
        """Why this number's share waits ("daily limit of N reached; resumes at HH:MM in your
        time zone"), or "" when it is not at its cap."""
        if self.capped_until is None or self.capped_until <= timezone.now():
            return ""
        try:
            zone = ZoneInfo(self.workspace.time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            zone = ZoneInfo("UTC")
        return _("daily limit of %(cap)d reached; resumes at %(time)s in your time zone") % {
            "cap": self.daily_cap,
            "time": self.capped_until.astimezone(zone).strftime("%H:%M"),
        }


class WebhookEvent(models.Model):
    """A webhook POST exactly as received (after its signature was verified), stored before it
    is processed so that nothing is lost if processing fails."""

    class Source(models.TextChoices):
        CLOUD_API = "cloud_api", _("Cloud API / sandbox")
        WEB_GATEWAY = "web_gateway", _("WhatsApp Web gateway")

    class State(models.TextChoices):
        RECEIVED = "received", _("Received")
        PARSED = "parsed", _("Parsed")
        # Unparseable, or its apply failed WEBHOOK_EVENT_MAX_ATTEMPTS times: not retried.
        FAILED = "failed", _("Failed")

    workspace = models.ForeignKey(
        "accounts.Workspace", on_delete=models.CASCADE, related_name="+", db_index=True
    )
    sender = models.ForeignKey(
        Sender, null=True, blank=True, on_delete=models.SET_NULL, related_name="webhook_events"
    )
    source = models.CharField(max_length=16, choices=Source.choices)
    body = models.BinaryField()
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.RECEIVED)
    events = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    #: How many times a worker began applying it (a killed worker's attempt counts too).
    attempts = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-received_at"]
        indexes = [
            models.Index(
                fields=["received_at"], condition=Q(state="received"), name="webhook_event_due"
            )
        ]

    def __str__(self) -> str:
        return f"{self.source} webhook {self.pk} ({self.state})"
