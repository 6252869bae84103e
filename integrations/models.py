"""Outgoing webhooks: the endpoints a workspace registers and one row per delivery.

Every retry is a row (DESIGN.md, Decisions): a delivery's schedule lives in `next_attempt_at`
and a periodic task picks due rows; no Celery countdown carries a retry."""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.tenancy import WorkspaceOwned
from core import events


class EventType(models.TextChoices):
    """The event types an endpoint can subscribe to (the names are `core.events`')."""

    MESSAGE_STATUS = events.MESSAGE_STATUS, _("Message status changed")
    MESSAGE_INBOUND = events.MESSAGE_INBOUND, _("Reply received")
    CAMPAIGN_STARTED = events.CAMPAIGN_STARTED, _("Campaign started")
    CAMPAIGN_COMPLETED = events.CAMPAIGN_COMPLETED, _("Campaign completed")
    CAMPAIGN_PAUSED = events.CAMPAIGN_PAUSED, _("Campaign paused")
    CONTACT_OPTED_OUT = events.CONTACT_OPTED_OUT, _("Contact opted out")
    NUMBER_STATUS_CHANGED = events.NUMBER_STATUS_CHANGED, _("Number status changed")
    CREDITS_LOW = events.CREDITS_LOW, _("Credits low")
    CONVERSATION_ASSIGNED = events.CONVERSATION_ASSIGNED, _("Conversation assigned")
    CONVERSATION_CLOSED = events.CONVERSATION_CLOSED, _("Conversation closed")


#: Sent only by the "send test event" button, whatever the endpoint subscribes to.
TEST_EVENT_TYPE = "webhook.test"
#: An endpoint subscribed to this receives every event type, including ones added later.
ALL_EVENTS = "*"


class WebhookEndpoint(WorkspaceOwned):
    """A URL of the workspace's that receives signed events (Standard Webhooks). The signing
    secret (`whsec_...`) is stored encrypted and shown only on creation and rotation."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    url = models.URLField(_("URL"), max_length=500)
    description = models.CharField(_("description"), max_length=200, blank=True)
    # {"secret": "whsec_...", "previous": "whsec_...", "previous_until": iso}: Fernet-encrypted.
    secret_encrypted = models.TextField()
    event_types = models.JSONField(_("event types"), default=list, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=255, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    failing_since = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")

    def __str__(self) -> str:
        return self.url

    def subscribes_to(self, event_type: str) -> bool:
        return event_type_matches(self.event_types, event_type)

    @property
    def health(self) -> str:
        if not self.is_active:
            return "disabled"
        if self.consecutive_failures:
            return "failing"
        return "healthy" if self.last_success_at else "new"


def event_type_matches(subscribed: list[str], event_type: str) -> bool:
    return event_type == TEST_EVENT_TYPE or ALL_EVENTS in subscribed or event_type in subscribed


class WebhookDelivery(WorkspaceOwned):
    """One event for one endpoint, and its retry state. A replay is a new row carrying the
    same event id and payload (consumers deduplicate by `webhook-id`)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        FAILED = "failed", _("Failed, will retry")
        SUCCEEDED = "succeeded", _("Succeeded")
        GIVEN_UP = "given_up", _("Given up")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event_id = models.CharField(max_length=64)
    event_type = models.CharField(max_length=40)
    payload = models.JSONField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    first_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_response_ms = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=255, blank=True)
    response_body = models.CharField(max_length=500, blank=True)
    replay_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="replays"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        constraints = [
            # An event reaches an endpoint once; only an explicit replay repeats it.
            models.UniqueConstraint(
                fields=["endpoint", "event_id"],
                condition=Q(replay_of__isnull=True),
                name="webhook_delivery_once_per_endpoint",
            )
        ]
        indexes = [
            # The queue: only rows still to be sent, so the index stays small.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status__in=["pending", "failed"]),
                name="webhook_delivery_due",
            ),
            models.Index(fields=["endpoint", "-created_at"], name="webhook_delivery_log"),
            models.Index(fields=["workspace", "-created_at"], name="webhook_delivery_ws"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id} -> {self.endpoint_id} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status in (self.Status.PENDING, self.Status.FAILED)
