"""Staff views of messaging data. Admin crosses tenants by design (platform staff only)."""

from __future__ import annotations

from django.contrib import admin

from messaging.contacts.models import Contact, ContactList, Segment
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
