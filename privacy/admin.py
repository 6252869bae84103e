"""Staff tools: policy publication, the data-request queue (Support group) with its recipient
erasure page, and the minors flag on the user admin. Every action calls a service, which
audits. (The suppression list itself is messaging's, in messaging's admin.)"""

from __future__ import annotations

from typing import Any, cast

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Case, IntegerField, Q, QuerySet, Value, When
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from accounts.services import audit_record, client_ip
from privacy import services
from privacy.forms import PolicyDocumentAdminForm, RecipientEraseAdminForm, RegisterEmailRequestForm
from privacy.models import Consent, DataExport, DataRequest, PolicyDocument


def _staff(request: HttpRequest) -> User:
    # admin views only run for signed-in staff (admin_view guards them)
    return cast(User, request.user)


@admin.register(PolicyDocument)
class PolicyDocumentAdmin(admin.ModelAdmin):
    form = PolicyDocumentAdminForm
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

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        # A published version is a record of what users accepted: it is never edited.
        if obj is not None and obj.pk:
            return ("kind", "version", "title", "body", "published_at", "effective_at")
        return ()

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        services.policy_publish(document=obj, actor=_staff(request))
        if services.policy_notice_is_short(document=obj):
            self.message_user(
                request,
                _("Published with less than 30 days' notice for a material change."),
                level=messages.WARNING,
            )


@admin.register(Consent)
class ConsentAdmin(admin.ModelAdmin):
    list_display = ("created_at", "user", "purpose", "document", "granted", "ip")
    list_filter = ("purpose", "granted")
    search_fields = ("user__email", "ip")
    raw_id_fields = ("user", "document")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # consent records are evidence: append-only


class OverdueFilter(admin.SimpleListFilter):
    title = gettext_lazy("overdue")
    parameter_name = "overdue"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", _("Overdue"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "yes":
            return queryset.filter(status__in=DataRequest.OPEN_STATUSES, due_at__lt=timezone.now())
        return queryset


@admin.register(DataRequest)
class DataRequestAdmin(admin.ModelAdmin):
    list_display = (
        "short_id",
        "kind",
        "status",
        "channel",
        "due",
        "received_at",
        "assignee",
        "user",
    )
    list_filter = ("status", "kind", "channel", OverdueFilter, "assignee")
    search_fields = ("requester_email", "public_id")
    raw_id_fields = ("user", "workspace")
    readonly_fields = (
        "public_id",
        "received_at",
        "due_at",
        "confirmed_at",
        "completed_at",
        "proof",
        "status",
        "token_hash",
        "erasure_reason",
        "erasure_proposed_by",
        "erasure_proposed_at",
        "erasure_approved_by",
        "erasure_approved_at",
    )
    # What was asked, and by whom, is the record: once a request exists it is not re-pointed
    # at another account or turned into another kind (issue #17 F5).
    fixed_once_received = ("kind", "channel", "requester_email", "user")
    fields = (
        "public_id",
        "kind",
        "channel",
        "status",
        "requester_email",
        "user",
        "contact_phone",
        "workspace",
        "assignee",
        "received_at",
        "due_at",
        "confirmed_at",
        "completed_at",
        "rejection_reason",
        "notes",
        "erasure_reason",
        "erasure_proposed_by",
        "erasure_proposed_at",
        "erasure_approved_by",
        "erasure_approved_at",
        "proof",
    )
    actions = (
        "assign_to_me",
        "build_export",
        "execute_erasure",
        "propose_erasure",
        "approve_erasure",
        "apply_restriction",
        "reject_with_reason",
        "mark_completed",
    )
    change_list_template = "privacy/admin/datarequest_changelist.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).select_related("user", "assignee")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        fixed = self.fixed_once_received if obj is not None else ()
        return (*super().get_readonly_fields(request, obj), *fixed)

    def get_ordering(self, request: HttpRequest) -> list[Any]:
        # Overdue open requests first, then open ones by due date, then closed ones.
        now = timezone.now()
        rank = Case(
            When(Q(status__in=DataRequest.OPEN_STATUSES, due_at__lt=now), then=Value(0)),
            When(status__in=DataRequest.OPEN_STATUSES, then=Value(1)),
            default=Value(2),
            output_field=IntegerField(),
        )
        return [rank.asc(), "due_at"]

    @admin.display(description=gettext_lazy("request"))
    def short_id(self, obj: DataRequest) -> str:
        return str(obj.public_id)[:8]

    @admin.display(description=gettext_lazy("due"), ordering="due_at")
    def due(self, obj: DataRequest) -> str:
        text = timezone.localtime(obj.due_at).strftime("%Y-%m-%d")
        if obj.is_overdue:
            return format_html('<strong style="color:#b00" class="overdue">{} ⚠</strong>', text)
        return text

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Requests come in through the public form, the privacy centre, or the
        # "register an e-mailed request" page, which sends the confirmation link.
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # the queue is the record of what was asked and done

    def has_execute_erasure_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("privacy.execute_erasure")

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        audit_record(
            workspace=None,
            action="privacy.request_edited",
            actor=_staff(request),
            target=obj,
            ip=client_ip(request),
            details={"fields": sorted(form.changed_data)},
        )

    def get_urls(self) -> list[Any]:
        return [
            path(
                "register-email/",
                self.admin_site.admin_view(self.register_email_view),
                name="privacy_datarequest_register_email",
            ),
            path(
                "erase-number/",
                self.admin_site.admin_view(self.erase_number_view),
                name="privacy_datarequest_erase_number",
            ),
            *super().get_urls(),
        ]

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        extra_context = {
            **(extra_context or {}),
            "can_erase_numbers": self.has_execute_erasure_permission(request),
        }
        return super().changelist_view(request, extra_context)

    def erase_number_view(self, request: HttpRequest) -> HttpResponse:
        """The staff recipient erasure: a number's data is erased in one workspace or across
        the platform, and only its salted hash is kept, on the suppression list."""
        if not self.has_execute_erasure_permission(request):
            raise PermissionDenied
        form = RecipientEraseAdminForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            proof = services.recipient_erase(
                workspace=form.cleaned_data["workspace"],
                phone=form.cleaned_data["phone"],
                actor=_staff(request),
                reason=form.cleaned_data["reason"] or "staff",
                ip=client_ip(request),
            )
            self.message_user(
                request,
                _("The number was erased (%(n)s contact rows); hash %(hash)s… is suppressed.")
                % {
                    "n": proof["counts"].get("messaging.Contact", 0),
                    "hash": proof["subject_hash"][:16],
                },
            )
            return HttpResponseRedirect(reverse("admin:privacy_datarequest_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "form": form,
            "title": _("Erase a recipient's number"),
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "privacy/admin/erase_number.html", context)

    def register_email_view(self, request: HttpRequest) -> HttpResponse:
        """Register a deletion request received by e-mail: the confirmation link goes to the
        registered address, exactly as with the public form."""
        if not self.has_change_permission(request):
            raise PermissionDenied
        form = RegisterEmailRequestForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            created = services.deletion_request_by_email(
                email=form.cleaned_data["email"],
                channel=DataRequest.Channel.EMAIL,
                actor=_staff(request),
                ip=client_ip(request),
            )
            if created is None:
                self.message_user(
                    request,
                    _("No active account uses this address; nothing was sent."),
                    messages.WARNING,
                )
            else:
                if form.cleaned_data["notes"]:
                    DataRequest.objects.filter(pk=created.pk).update(
                        notes=form.cleaned_data["notes"], assignee=request.user
                    )
                self.message_user(request, _("Registered; the confirmation link was sent."))
            return HttpResponseRedirect(reverse("admin:privacy_datarequest_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "form": form,
            "title": _("Register a deletion request received by e-mail"),
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "privacy/admin/register_email.html", context)

    def _run(self, request: HttpRequest, queryset: QuerySet[Any], fn: Any, done: str) -> None:
        ok = 0
        for obj in queryset:
            try:
                fn(obj)
                ok += 1
            except ValidationError as exc:
                self.message_user(request, f"{obj}: {' '.join(exc.messages)}", messages.ERROR)
        if ok:
            self.message_user(request, done % {"n": ok})

    @admin.action(description=gettext_lazy("Assign to me"), permissions=["change"])
    def assign_to_me(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for obj in queryset:
            DataRequest.objects.filter(pk=obj.pk).update(assignee=request.user)
            audit_record(
                workspace=None,
                action="privacy.request_assigned",
                actor=_staff(request),
                target=obj,
            )
        self.message_user(request, _("Assigned."))

    @admin.action(description=gettext_lazy("Build the data export"), permissions=["change"])
    def build_export(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        self._run(
            request,
            queryset,
            lambda r: services.data_request_build_export(request=r, actor=_staff(request)),
            _("%(n)s export(s) queued."),
        )

    @admin.action(description=gettext_lazy("Execute the erasure"), permissions=["execute_erasure"])
    def execute_erasure(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        self._run(
            request,
            queryset.filter(kind=DataRequest.Kind.ERASURE),
            lambda r: services.data_request_execute_erasure(request=r, actor=_staff(request)),
            _("%(n)s erasure(s) executed."),
        )

    @admin.action(
        description=gettext_lazy("Propose the account's erasure (a colleague approves)"),
        permissions=["execute_erasure"],
    )
    def propose_erasure(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        self._run(
            request,
            queryset,
            lambda r: services.data_request_propose_erasure(request=r, actor=_staff(request)),
            _("%(n)s erasure(s) proposed; another staff member approves them."),
        )

    @admin.action(
        description=gettext_lazy("Approve a colleague's proposed erasure and erase the account"),
        permissions=["execute_erasure"],
    )
    def approve_erasure(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        self._run(
            request,
            queryset,
            lambda r: services.data_request_approve_erasure(request=r, actor=_staff(request)),
            _("%(n)s erasure(s) approved and executed."),
        )

    @admin.action(description=gettext_lazy("Apply the restriction"), permissions=["change"])
    def apply_restriction(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        self._run(
            request,
            queryset.filter(kind__in=[DataRequest.Kind.RESTRICTION, DataRequest.Kind.OBJECTION]),
            lambda r: services.data_request_apply_restriction(request=r, actor=_staff(request)),
            _("%(n)s restriction(s) applied."),
        )

    @admin.action(
        description=gettext_lazy("Reject with the legal reason entered on the request"),
        permissions=["change"],
    )
    def reject_with_reason(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        self._run(
            request,
            queryset,
            lambda r: services.data_request_reject(
                request=r,
                actor=_staff(request),
                reason=r.rejection_reason,
            ),
            _("%(n)s request(s) rejected."),
        )

    @admin.action(description=gettext_lazy("Mark completed"), permissions=["change"])
    def mark_completed(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        self._run(
            request,
            queryset,
            lambda r: services.data_request_complete(request=r, actor=_staff(request)),
            _("%(n)s request(s) completed."),
        )


@admin.register(DataExport)
class DataExportAdmin(admin.ModelAdmin):
    list_display = ("public_id", "user", "status", "created_at", "expires_at", "downloaded_at")
    list_filter = ("status",)
    raw_id_fields = ("user", "data_request")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.action(
    description=gettext_lazy("Flag as a minor's account and propose its erasure"),
    permissions=["execute_erasure"],
)
def flag_minor_and_erase(modeladmin: Any, request: HttpRequest, queryset: QuerySet[Any]) -> None:
    """Opens a proposed erasure request per account; a second staff member approves it in the
    data-request queue, and the account is then erased at once (no grace period)."""
    count = 0
    for user in queryset:
        try:
            services.account_flag_minor(user=user, actor=_staff(request))
        except ValidationError as exc:
            modeladmin.message_user(request, f"{user}: {' '.join(exc.messages)}", messages.ERROR)
            continue
        count += 1
    if count:
        modeladmin.message_user(
            request,
            _(
                "%(n)s account(s) flagged; the erasure is carried out when another staff "
                "member approves it in the data-request queue."
            )
            % {"n": count},
        )


def _attach_to_user_admin() -> None:
    """The minors flag belongs on the user page staff already use; accounts' UserAdmin is
    registered before privacy loads (INSTALLED_APPS order)."""
    user_admin = admin.site._registry.get(User)
    if user_admin is None:
        return
    user_admin.actions = (*(user_admin.actions or ()), flag_minor_and_erase)
    if not hasattr(user_admin, "has_execute_erasure_permission"):
        user_admin.has_execute_erasure_permission = lambda request: request.user.has_perm(  # type: ignore[attr-defined]
            "privacy.execute_erasure"
        )


_attach_to_user_admin()
