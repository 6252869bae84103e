"""Admin for numbers and webhook events."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from messaging.numbers.models import Sender, WebhookEvent


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
    list_display = ("received_at", "workspace", "sender", "source", "state", "processed_at")
    list_filter = ("source", "state")
    search_fields = ("sender__phone_number", "workspace__name", "error")
    readonly_fields = (
        "workspace",
        "sender",
        "source",
        "received_at",
        "state",
        "events",
        "error",
        "processed_at",
        "body_text",
    )
    exclude = ("body",)
    date_hierarchy = "received_at"

    @admin.display(description="body")
    def body_text(self, obj: WebhookEvent) -> str:
        return bytes(obj.body).decode("utf-8", errors="replace")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
