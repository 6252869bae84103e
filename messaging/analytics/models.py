"""The per-day statistics table (one row per workspace, number, campaign and day), kept by
statement-level triggers (`messaging/engine/stats.py`)."""

from __future__ import annotations

from django.db import models

from messaging.numbers.models import Sender


class MessageStat(models.Model):
    """Per-day figures by workspace, number and campaign (none for single messages), in the
    workspace's time zone. Written only by the database triggers in `engine/stats.py`, in the
    same statement that changes the messages; read by every page, export and API figure."""

    workspace = models.ForeignKey(
        "accounts.Workspace", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    sender = models.ForeignKey(Sender, on_delete=models.CASCADE, related_name="+")
    campaign = models.ForeignKey(
        "messaging.Campaign", null=True, blank=True, on_delete=models.CASCADE, related_name="stats"
    )
    day = models.DateField()
    created = models.IntegerField(default=0)
    pending = models.IntegerField(default=0)
    accepted = models.IntegerField(default=0)
    sent = models.IntegerField(default=0)
    delivered = models.IntegerField(default=0)
    read = models.IntegerField(default=0)
    replied = models.IntegerField(default=0)
    opted_out = models.IntegerField(default=0)
    failed_recipient = models.IntegerField(default=0)
    failed_content = models.IntegerField(default=0)
    failed_temporary = models.IntegerField(default=0)
    failed_sender = models.IntegerField(default=0)
    failed_other = models.IntegerField(default=0)
    skipped = models.IntegerField(default=0)
    cancelled = models.IntegerField(default=0)
    credits_used = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "sender", "campaign", "day"],
                name="message_stat_one_row_per_day",
                nulls_distinct=False,
            )
        ]
        indexes = [models.Index(fields=["workspace", "day"], name="message_stat_workspace_day")]

    def __str__(self) -> str:
        return f"{self.day} sender {self.sender_id} campaign {self.campaign_id}"

    @property
    def failed(self) -> int:
        return (
            self.failed_recipient
            + self.failed_content
            + self.failed_temporary
            + self.failed_sender
            + self.failed_other
        )
