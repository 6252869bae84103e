"""WhatsApp numbers (`Sender`) and the raw webhook events received for them.

Kept in its own module and imported by `messaging.models`."""

from __future__ import annotations

import secrets
import uuid
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

from accounts.tenancy import WorkspaceOwned

#: The label a sandbox number is created with: stored as this msgid, shown in the reader's
#: language (`Sender.display_label`).
SANDBOX_LABEL = gettext_noop("Sandbox number")


@cache
def _sandbox_label_forms() -> frozenset[str]:
    """The default sandbox label in every language: numbers connected before it was stored
    as the msgid kept it in the language of whoever connected them."""
    forms = {SANDBOX_LABEL}
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            forms.add(gettext(SANDBOX_LABEL))
    return frozenset(forms)


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
    # Live health (Cloud API): Meta's messaging-limit tier ("TIER_2K"...; shared by the WABA's
    # numbers), throughput level ("STANDARD", "HIGH") and when Meta was last asked. Changes
    # are kept in `NumberHealthChange`.
    messaging_limit_tier = models.CharField(_("messaging limit"), max_length=24, blank=True)
    throughput_level = models.CharField(max_length=24, blank=True)
    health_checked_at = models.DateTimeField(null=True, blank=True)
    # Automatic protection (issue #21, `messaging.numbers.protection`): "slowed" (its pace was
    # lowered), "paused" (its campaigns were paused) or "restoring" (healthy again, its pace
    # climbing back), and why; `protection_at` is the last time protection tripped.
    protection = models.CharField(max_length=12, blank=True)
    protection_reason = models.CharField(max_length=255, blank=True)
    protection_at = models.DateTimeField(null=True, blank=True)
    # The pace the user had set before protection first lowered it: the ceiling the gradual
    # restoration climbs back to (never above). Null when the pace is the user's own.
    pace_restore_per_second = models.PositiveIntegerField(null=True, blank=True)
    pace_restore_min_interval_ms = models.PositiveIntegerField(null=True, blank=True)
    # The last restoration step (the next waits a healthy period after it).
    pace_restored_at = models.DateTimeField(null=True, blank=True)

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
        return self.display_label or self.phone_number or str(self.public_id)

    @property
    def display_label(self) -> str:
        """The label as people read it: a sandbox number's default label in the reader's
        language; a label the user gave, as they wrote it."""
        if self.provider == self.Provider.SANDBOX and self.label in _sandbox_label_forms():
            return gettext(SANDBOX_LABEL)
        return self.label

    @property
    def is_live(self) -> bool:
        return self.removed_at is None

    @property
    def tier_display(self) -> str:
        """The messaging-limit tier as people read it ("2,000 recipients a day")."""
        return tier_label(self.messaging_limit_tier)

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
        warm = getattr(getattr(self, "warmup", None), "cap_today", None)
        if warm is not None and warm < self.daily_cap:
            return _(
                "warm-up limit of %(cap)d for today reached (the plan raises it after a "
                "healthy day); the rest continues tomorrow, resuming at %(time)s in your "
                "time zone"
            ) % {"cap": warm, "time": self.capped_until.astimezone(zone).strftime("%H:%M")}
        return _("daily limit of %(cap)d reached; resumes at %(time)s in your time zone") % {
            "cap": self.daily_cap,
            "time": self.capped_until.astimezone(zone).strftime("%H:%M"),
        }


#: Meta's messaging-limit tiers (unique users a business may message outside a customer-service
#: window in a rolling 24 h, per WABA/portfolio): None is unlimited (research §1.5).
TIER_LIMITS: dict[str, int | None] = {
    "TIER_50": 50,
    "TIER_250": 250,
    "TIER_1K": 1000,
    "TIER_2K": 2000,
    "TIER_10K": 10_000,
    "TIER_100K": 100_000,
    "TIER_UNLIMITED": None,
}


def tier_label(tier: str) -> str:
    """A tier as people read it: "2,000 a day", "unlimited", or "" when unknown."""
    if tier not in TIER_LIMITS:
        return ""
    limit = TIER_LIMITS[tier]
    if limit is None:
        return str(_("unlimited"))
    return str(_("%(n)s recipients a day")) % {"n": f"{limit:,}"}


class WarmupPlan(WorkspaceOwned):
    """A new or replacement number's warm-up (issue #21): a schedule of daily caps that the
    number climbs one step per healthy day. The engine's effective daily cap for the number is
    min(`Sender.daily_cap`, `cap_today`) while the plan runs (`messaging.engine.caps`).
    Kept in PostgreSQL, so a worker restart or a Redis flush changes nothing; evaluated once a
    day per number by `messaging.numbers.warmup.warmups_evaluate` (the day's outcome is kept
    in `history`)."""

    class State(models.TextChoices):
        RUNNING = "running", _("Warming up")
        HOLDING = "holding", _("Holding (signals turned bad)")
        DONE = "done", _("Finished")
        STOPPED = "stopped", _("Stopped")

    sender = models.OneToOneField(Sender, on_delete=models.CASCADE, related_name="warmup")
    steps = models.JSONField(default=list)  # daily caps, e.g. [50, 100, 200, ...]
    step = models.PositiveSmallIntegerField(default=0)
    state = models.CharField(max_length=12, choices=State.choices, default=State.RUNNING)
    started_on = models.DateField()
    # The last local day whose signals were judged (each day is judged once).
    evaluated_on = models.DateField(null=True, blank=True)
    # [{"day": "2026-12-04", "cap": 50, "outcome": "advanced"|"held"|"fell_back", "why": "..."}]
    history = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(step__gte=0), name="warmup_step_non_negative")
        ]

    def __str__(self) -> str:
        return f"{self.sender_id} warm-up step {self.step}"

    @property
    def is_active(self) -> bool:
        return self.state in (self.State.RUNNING, self.State.HOLDING)

    @property
    def cap_today(self) -> int | None:
        """Today's warm-up cap, or None when the plan no longer limits the number."""
        if not self.is_active or not self.steps:
            return None
        return int(self.steps[min(self.step, len(self.steps) - 1)])


class NumberHealthChange(WorkspaceOwned):
    """One change of a number's quality rating, messaging-limit tier or throughput level, as
    Meta reported it (a webhook or the periodic refresh): the numbers page's history."""

    class Field(models.TextChoices):
        QUALITY = "quality", _("Quality")
        TIER = "tier", _("Messaging limit")
        THROUGHPUT = "throughput", _("Throughput")
        STATUS = "status", _("Account status")

    class Source(models.TextChoices):
        WEBHOOK = "webhook", _("Meta webhook")
        REFRESH = "refresh", _("Asked Meta")
        CONNECT = "connect", _("Connection")

    sender = models.ForeignKey(Sender, on_delete=models.CASCADE, related_name="health_changes")
    field = models.CharField(max_length=16, choices=Field.choices)
    old_value = models.CharField(max_length=32, blank=True)
    new_value = models.CharField(max_length=32)
    source = models.CharField(max_length=16, choices=Source.choices)
    event = models.CharField(max_length=64, blank=True)
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-changed_at", "-id"]
        indexes = [models.Index(fields=["sender", "-changed_at"], name="number_health_recent")]

    def __str__(self) -> str:
        return f"{self.sender_id} {self.field}: {self.old_value} -> {self.new_value}"


class NumberPaceChange(WorkspaceOwned):
    """One change of a number's pace made by protection (lowered, a restoration step, fully
    restored) or a restoration the user ended by setting the pace: the number page's log."""

    class Kind(models.TextChoices):
        LOWERED = "lowered", _("Lowered to protect the number")
        RAISED = "raised", _("Raised one step (healthy again)")
        RESTORED = "restored", _("Restored to your pace")
        SET_BY_USER = "set_by_user", _("You set the pace yourself")

    sender = models.ForeignKey(Sender, on_delete=models.CASCADE, related_name="pace_changes")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    per_second_from = models.PositiveIntegerField()
    per_second_to = models.PositiveIntegerField()
    min_interval_ms_from = models.PositiveIntegerField(default=0)
    min_interval_ms_to = models.PositiveIntegerField(default=0)
    reason = models.CharField(max_length=255, blank=True)
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-changed_at", "-id"]
        indexes = [models.Index(fields=["sender", "-changed_at"], name="number_pace_recent")]

    def __str__(self) -> str:
        return f"{self.sender_id} {self.kind}: {self.per_second_from} -> {self.per_second_to}"


class CustomerWindow(WorkspaceOwned):
    """WhatsApp's 24-hour customer-service window between one number and one contact (by
    phone, so an inbound from someone not yet a contact counts too): the last time the contact
    wrote to this number. Free-form messages on Cloud API numbers are allowed until
    `last_inbound_at + 24 h`. Written by the inbound ingestion in bulk (one upsert a batch)."""

    sender = models.ForeignKey(Sender, on_delete=models.CASCADE, related_name="+")
    phone = models.CharField(max_length=20)
    last_inbound_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["sender", "phone"], name="customer_window_once")
        ]
        indexes = [models.Index(fields=["workspace", "phone"], name="customer_window_phone")]

    def __str__(self) -> str:
        return f"{self.sender_id} {self.phone} {self.last_inbound_at:%Y-%m-%d %H:%M}"


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
    error = models.TextField(blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    #: How many times a worker began applying it (a killed worker's attempt counts too).
    attempts = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-received_at"]
        indexes = [
            # The drain claims waiting events in id order and stops after a batch: keyed on
            # the id, an index scan ends at the batch's last event, whatever the backlog or
            # the history of applied events (see migration 0034).
            models.Index(fields=["id"], condition=Q(state="received"), name="webhook_event_waiting")
        ]

    def __str__(self) -> str:
        return f"{self.source} webhook {self.pk} ({self.state})"
