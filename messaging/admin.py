"""Staff views of messaging data. Admin crosses tenants by design (platform staff only)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy

from messaging.contacts.models import Contact, ContactList, Segment
from messaging.contacts.suppression import SuppressedPhone
from messaging.content import admin as content_admin  # noqa: F401 - registers WhatsApp templates
from messaging.imports.models import ContactImport
from messaging.numbers import admin as numbers_admin  # noqa: F401 - registers numbers and webhook events


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ("phone", "first_name", "last_name", "workspace", "opted_out_at", "created_at")
    list_filter = ("whatsapp_status", "created_via")
    search_fields = ("phone", "first_name", "last_name", "workspace__slug")
    raw_id_fields = ("workspace",)
    readonly_fields = ("public_id", "created_at", "updated_at")


@admin.register(ContactList)
class ContactListAdmin(admin.ModelAdmin):
    list_display = ("name", "workspace", "created_at")
    search_fields = ("name", "workspace__slug")
    raw_id_fields = ("workspace",)


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    list_display = ("name", "workspace", "updated_at")
    search_fields = ("name", "workspace__slug")
    raw_id_fields = ("workspace",)


@admin.register(ContactImport)
class ContactImportAdmin(admin.ModelAdmin):
    list_display = ("original_name", "workspace", "status", "cursor", "total_rows", "created_at")
    list_filter = ("status", "file_format")
    raw_id_fields = ("workspace", "contact_list", "created_by")
    readonly_fields = ("public_id", "created_at", "started_at", "finished_at")


@admin.register(SuppressedPhone)
class SuppressedPhoneAdmin(admin.ModelAdmin):
    """The suppression list, for reading. An entry is made only by a recipient erasure (the
    data-request queue's "Erase a recipient's number", or the workspace's own page), which
    erases the number's data and keeps only its salted hash."""

    list_display = ("short_hash", "scope", "workspace", "reason", "created_at", "created_by")
    list_filter = ("scope",)
    raw_id_fields = ("workspace",)

    @admin.display(description=gettext_lazy("hash"))
    def short_hash(self, obj: SuppressedPhone) -> str:
        return obj.phone_hash[:16] + "…"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
