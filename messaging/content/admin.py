"""Admin for Meta WhatsApp templates: read-only (Meta is the source of truth; changes go
through the product so they reach Meta)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from messaging.content.models import WhatsAppTemplate


@admin.register(WhatsAppTemplate)
class WhatsAppTemplateAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "language",
        "workspace",
        "waba_id",
        "category",
        "status",
        "quality",
        "synced_at",
    )
    list_filter = ("status", "category", "quality")
    search_fields = ("name", "waba_id", "meta_id", "workspace__name")
    raw_id_fields = ("workspace",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
