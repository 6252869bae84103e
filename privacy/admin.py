from django.contrib import admin

from .models import Consent, PolicyDocument


@admin.register(PolicyDocument)
class PolicyDocumentAdmin(admin.ModelAdmin):
    list_display = (
        "kind",
        "version",
        "title",
        "published_at",
        "effective_at",
        "is_material_change",
    )
    list_filter = ("kind",)
    search_fields = ("title", "version")


@admin.register(Consent)
class ConsentAdmin(admin.ModelAdmin):
    list_display = ("created_at", "user", "purpose", "document", "granted", "ip")
    list_filter = ("purpose", "granted")
    search_fields = ("user__email", "ip")
    raw_id_fields = ("user", "document")
