"""Staff views of automation rules and runs. Admin crosses tenants by design (staff only)."""

from __future__ import annotations

from django.contrib import admin

from automation.models import AutomationRule, AutomationRun


@admin.register(AutomationRule)
class AutomationRuleAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "workspace",
        "match_kind",
        "active",
        "priority",
        "times_fired",
        "last_fired_at",
    )
    list_filter = ("match_kind", "active")
    search_fields = ("name", "workspace__slug")
    raw_id_fields = ("workspace", "sender", "reply_template", "contact_list")
    readonly_fields = ("public_id", "times_fired", "last_fired_at", "created_at", "updated_at")


@admin.register(AutomationRun)
class AutomationRunAdmin(admin.ModelAdmin):
    list_display = ("rule", "workspace", "outcome", "created_at")
    list_filter = ("outcome",)
    search_fields = ("rule__name", "workspace__slug")
    raw_id_fields = ("workspace", "rule", "inbound", "contact", "reply_message")
    readonly_fields = ("public_id", "created_at")
