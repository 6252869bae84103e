from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts import services
from accounts.forms import SuspendForm
from accounts.models import (
    ApiKey,
    ApiRequestLog,
    AuditEvent,
    Invitation,
    LoginEvent,
    Membership,
    Notification,
    SecurityReport,
    User,
    UserSession,
    Workspace,
)
from accounts.tenancy import AuthenticatedRequest


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ("user",)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ("email",)
    list_display = (
        "email",
        "first_name",
        "last_name",
        "company_name",
        "is_active",
        "is_staff",
        "date_joined",
        "last_login",
    )
    list_filter = ("is_active", "is_staff", "is_superuser", "groups")
    search_fields = ("email", "first_name", "last_name", "company_name", "phone")
    readonly_fields = ("public_id", "date_joined", "last_login", "confirmed_adult_at")
    fieldsets = (
        (None, {"fields": ("email", "password", "public_id")}),
        (
            _("Person"),
            {"fields": ("first_name", "last_name", "phone", "company_name", "confirmed_adult_at")},
        ),
        (
            _("Access"),
            {
                "fields": (
                    "is_active",
                    "deactivated_at",
                    "is_staff",
                    "is_superuser",
                    "groups",
                    "user_permissions",
                )
            },
        ),
        (_("Dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "slug",
        "status",
        "suspended_reason",
        "time_zone",
        "default_country",
        "created_at",
    )
    list_filter = ("status", "default_country")
    search_fields = ("name", "slug", "memberships__user__email")
    readonly_fields = ("public_id", "created_at", "status", "suspended_reason", "suspended_at")
    inlines = [MembershipInline]
    actions = ["suspend_workspaces", "restore_workspaces"]

    @admin.action(description=_("Suspend selected workspaces (asks for a reason)"))
    def suspend_workspaces(
        self, request: AuthenticatedRequest, queryset: QuerySet[Workspace]
    ) -> HttpResponse | None:
        return self._with_reason(request, queryset, action="suspend_workspaces", suspend=True)

    @admin.action(description=_("Restore selected workspaces"))
    def restore_workspaces(
        self, request: AuthenticatedRequest, queryset: QuerySet[Workspace]
    ) -> HttpResponse | None:
        return self._with_reason(request, queryset, action="restore_workspaces", suspend=False)

    def _with_reason(
        self,
        request: AuthenticatedRequest,
        queryset: QuerySet[Workspace],
        *,
        action: str,
        suspend: bool,
    ) -> HttpResponse | None:
        form = SuspendForm(request.POST if "apply" in request.POST else None)
        if not suspend:
            form.fields["reason"].required = False
        if "apply" in request.POST and form.is_valid():
            for workspace in queryset:
                if suspend:
                    services.workspace_suspend(
                        workspace=workspace,
                        actor=request.user,
                        reason=form.cleaned_data["reason"],
                    )
                else:
                    services.workspace_restore(
                        workspace=workspace,
                        actor=request.user,
                        reason=form.cleaned_data["reason"],
                    )
            n = queryset.count()
            done = (
                ngettext("%(n)d workspace suspended.", "%(n)d workspaces suspended.", n)
                if suspend
                else ngettext("%(n)d workspace restored.", "%(n)d workspaces restored.", n)
            )
            self.message_user(request, done % {"n": n}, messages.SUCCESS)
            return None
        context: dict[str, Any] = {
            **self.admin_site.each_context(request),
            "title": _("Suspend workspaces") if suspend else _("Restore workspaces"),
            "workspaces": queryset,
            "form": form,
            "action": action,
            "opts": self.model._meta,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/accounts/workspace/suspend.html", context)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "workspace", "role", "created_at")
    list_filter = ("role",)
    search_fields = ("user__email", "workspace__name", "workspace__slug")
    raw_id_fields = ("user", "workspace")


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = (
        "email",
        "workspace",
        "role",
        "created_at",
        "expires_at",
        "accepted_at",
        "revoked_at",
    )
    list_filter = ("role",)
    search_fields = ("email", "workspace__name")
    exclude = ("token_hash",)
    raw_id_fields = ("workspace", "invited_by", "accepted_by")


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "prefix",
        "workspace",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
    )
    search_fields = ("name", "prefix", "workspace__name")
    list_filter = ("revoked_at",)
    exclude = ("key_hash",)
    readonly_fields = ("prefix", "public_id", "created_at", "last_used_at")
    raw_id_fields = ("workspace", "created_by")


@admin.register(LoginEvent)
class LoginEventAdmin(admin.ModelAdmin):
    list_display = (
        "created_at",
        "email_attempted",
        "success",
        "ip",
        "browser",
        "os",
        "device_type",
    )
    list_filter = ("success", "device_type")
    search_fields = ("email_attempted", "ip", "user__email")
    date_hierarchy = "created_at"
    raw_id_fields = ("user",)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("created_at", "workspace", "actor_label", "action", "target_repr", "ip")
    list_filter = ("action",)
    search_fields = ("action", "actor_label", "target_repr", "workspace__name")
    date_hierarchy = "created_at"
    raw_id_fields = ("workspace", "actor_user", "actor_api_key")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("created_at", "kind", "workspace", "user", "read_at")
    list_filter = ("kind",)
    search_fields = ("text", "user__email", "workspace__name")
    raw_id_fields = ("workspace", "user")


@admin.register(ApiRequestLog)
class ApiRequestLogAdmin(admin.ModelAdmin):
    list_display = ("created_at", "workspace", "api_key", "method", "path", "status", "duration_ms")
    list_filter = ("method", "status")
    search_fields = ("path", "workspace__name", "api_key__prefix")
    date_hierarchy = "created_at"
    raw_id_fields = ("workspace", "api_key")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(SecurityReport)
class SecurityReportAdmin(admin.ModelAdmin):
    """ "This wasn't me" reports: staff see the sign-in it concerns and follow it up (the
    user's sessions were already signed out and the password made unusable)."""

    list_display = (
        "created_at",
        "user",
        "status",
        "source",
        "login_ip",
        "login_browser",
        "sessions_ended",
    )
    list_filter = ("status", "source")
    search_fields = ("user__email", "login_event__ip")
    date_hierarchy = "created_at"
    raw_id_fields = ("user", "login_event", "resolved_by")
    list_select_related = ("user", "login_event")
    readonly_fields = (
        "user",
        "login_event",
        "login_summary",
        "source",
        "reported_from_ip",
        "sessions_ended",
        "created_at",
        "resolved_at",
        "resolved_by",
    )
    fields = (*readonly_fields, "status", "staff_notes")
    actions = ("mark_resolved",)

    @admin.display(description=_("sign-in IP"))
    def login_ip(self, obj: SecurityReport) -> str:
        return (obj.login_event.ip or "") if obj.login_event else ""

    @admin.display(description=_("sign-in browser"))
    def login_browser(self, obj: SecurityReport) -> str:
        if obj.login_event is None:
            return ""
        return f"{obj.login_event.browser} / {obj.login_event.os}"

    @admin.display(description=_("the sign-in reported"))
    def login_summary(self, obj: SecurityReport) -> str:
        event = obj.login_event
        if event is None:
            return "—"
        return (
            f"{event.created_at:%Y-%m-%d %H:%M:%S} UTC · {event.ip or '?'} · "
            f"{event.browser or '?'} / {event.os or '?'} ({event.device_type or '?'}) · "
            f"{event.user_agent}"
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description=_("Mark resolved"))
    def mark_resolved(self, request: HttpRequest, queryset: QuerySet[SecurityReport]) -> None:
        from django.utils import timezone

        done = queryset.filter(status=SecurityReport.Status.OPEN).update(
            status=SecurityReport.Status.RESOLVED,
            resolved_at=timezone.now(),
            resolved_by=request.user,
        )
        messages.success(request, _("%(count)d reports resolved.") % {"count": done})


@admin.register(UserSession)
class UserSessionAdmin(admin.ModelAdmin):
    list_display = ("last_seen_at", "user", "ip", "browser", "os", "device_type", "created_at")
    search_fields = ("user__email", "ip")
    raw_id_fields = ("user", "device", "login_event")
    exclude = ("session_key",)  # a live credential: never shown

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
