"""Keyword automation: rules that answer inbound messages, and one run per rule and message.

Fields, constraints and small properties only; every write lives in `automation.services`,
every shared read in `automation.selectors`, matching in `automation.matching`."""

from __future__ import annotations

import uuid

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.tenancy import WorkspaceOwned


class MatchKind(models.TextChoices):
    EXACT = "exact", _("Whole message is a keyword")
    CONTAINS = "contains", _("Message contains a keyword")
    REGEX = "regex", _("Message matches a pattern")


class AutomationRule(WorkspaceOwned):
    """When an inbound message to `sender` (any number of the workspace when empty) matches,
    reply with a template, add tags and/or add the contact to a list. Rules are checked by
    descending `priority`, then oldest first; the first rule that matches wins unless its
    `stop_after_match` is off. Opt-out replies never fire a rule (see `services.rules_apply`)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=120)
    sender = models.ForeignKey(
        "messaging.Sender",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("number"),
    )
    match_kind = models.CharField(
        _("match"), max_length=16, choices=MatchKind.choices, default=MatchKind.CONTAINS
    )
    keywords = ArrayField(models.CharField(max_length=100), default=list, blank=True)
    pattern = models.CharField(_("pattern"), max_length=200, blank=True)
    reply_template = models.ForeignKey(
        "messaging.MessageTemplate",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("reply with template"),
    )
    tags = ArrayField(models.CharField(max_length=64), default=list, blank=True)
    contact_list = models.ForeignKey(
        "messaging.ContactList",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("add to list"),
    )
    priority = models.IntegerField(_("priority"), default=0)
    active = models.BooleanField(_("active"), default=True)
    stop_after_match = models.BooleanField(_("stop after this rule"), default=True)
    times_fired = models.PositiveIntegerField(default=0)
    last_fired_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-priority", "created_at", "id"]
        indexes = [models.Index(fields=["workspace", "active"], name="automation_rule_ws_active")]

    def __str__(self) -> str:
        return self.name

    @property
    def has_action(self) -> bool:
        return bool(self.reply_template_id or self.tags or self.contact_list_id)


class RunOutcome(models.TextChoices):
    FIRED = "fired", _("Done")
    NO_CREDITS = "no_credits", _("Reply not sent: not enough credits")
    REPLY_FAILED = "reply_failed", _("Reply not sent")
    SKIPPED_OPT_OUT = "skipped_opt_out", _("Skipped: the contact opted out")


class AutomationRun(WorkspaceOwned):
    """One rule applied to one inbound message. The unique (rule, inbound) pair is what makes
    a rule fire once per message under duplicate webhooks and concurrent workers: the run row
    is inserted before any action, and the loser of a race gets an IntegrityError."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    rule = models.ForeignKey(AutomationRule, on_delete=models.CASCADE, related_name="runs")
    inbound = models.ForeignKey(
        "messaging.InboundMessage", on_delete=models.CASCADE, related_name="+"
    )
    contact = models.ForeignKey(
        "messaging.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    outcome = models.CharField(max_length=20, choices=RunOutcome.choices)
    detail = models.CharField(max_length=255, blank=True)
    actions = models.JSONField(default=dict, blank=True)
    reply_message = models.ForeignKey(
        "messaging.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["rule", "inbound"], name="automation_run_once"),
        ]
        indexes = [models.Index(fields=["rule", "-created_at"], name="automation_run_rule")]

    def __str__(self) -> str:
        return f"{self.rule_id}/{self.inbound_id}: {self.outcome}"
