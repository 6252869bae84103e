"""Admin for numbers and webhook events."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from messaging.numbers.models import Sender, WebhookEvent
from messaging.numbers.services import webhook_event_parsed, webhook_events_retry


@admin.register(Sender)
class SenderAdmin(admin.ModelAdmin):
    list_display = (
        "__str__",
        "workspace",
        "provider",
        "phone_number",
        "status",
        "quality",
        "throughput_per_second",
        "daily_cap",
        "created_at",
        "removed_at",
    )
    list_filter = ("provider", "status", "quality")
    search_fields = ("phone_number", "label", "phone_number_id", "waba_id", "workspace__name")
    exclude = ("credentials_encrypted",)  # secrets are never shown again
    readonly_fields = ("public_id", "verify_token", "created_at", "status_changed_at")
    raw_id_fields = ("workspace",)


@admin.register(WebhookEvent)
class WebhookEventAdmin(admin.ModelAdmin):
    list_display = (
        "received_at",
        "workspace",
        "sender",
        "source",
        "state",
        "attempts",
        "processed_at",
        "error_short",
    )
    list_filter = ("state", "source")
    search_fields = ("sender__phone_number", "workspace__name", "error")
    readonly_fields = (
        "workspace",
        "sender",
        "source",
        "received_at",
        "state",
        "attempts",
        "parsed_events",
        "error",
        "processed_at",
        "body_text",
    )
    actions = ("retry",)
    exclude = ("body",)
    date_hierarchy = "received_at"

    @admin.display(description=_("Events"))
    def parsed_events(self, obj: WebhookEvent) -> str:
        """Parsed from the stored body when shown (ingestion keeps no copy)."""
        return format_html(
            "<pre>{}</pre>", json.dumps(webhook_event_parsed(obj), indent=2, ensure_ascii=False)
        )

    @admin.display(description="body")
    def body_text(self, obj: WebhookEvent) -> str:
        return bytes(obj.body).decode("utf-8", errors="replace")

    @admin.display(description=_("error"))
    def error_short(self, obj: WebhookEvent) -> str:
        return obj.error[:120]

    @admin.action(description=_("Apply the selected failed events again"), permissions=["retry"])
    def retry(self, request: HttpRequest, queryset: QuerySet[WebhookEvent]) -> None:
        count = webhook_events_retry(ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(
            request,
            ngettext(
                "%(count)d failed event queued again.",
                "%(count)d failed events queued again.",
                count,
            )
            % {"count": count},
            messages.SUCCESS,
        )

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_superuser)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
