"""The staff side of the support desk, in the Django admin beside the data-request queue (the
Support group works both): the ticket queue, overdue first, with filters by status, category,
assignee and overdue; a ticket's page with the whole thread (internal notes included), a reply
or internal-note form, status and assignee, "Turn into a data request" for privacy tickets,
and attachment downloads. Every action calls a service, which audits."""

from __future__ import annotations

from typing import Any, cast

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from core.forms import errors_to_form
from support import selectors, services
from support.forms import DataRequestForm, StaffReplyForm, StaffUpdateForm
from support.models import Ticket, TicketAttachment
from support.views import attachment_response


def _staff(request: HttpRequest) -> User:
    # admin views only run for signed-in staff (admin_view guards them)
    return cast(User, request.user)


class OverdueFilter(admin.SimpleListFilter):
    title = gettext_lazy("overdue")
    parameter_name = "overdue"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", _("Overdue"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "yes":
            return queryset.filter(status__in=Ticket.AWAITING_STAFF, due_at__lt=timezone.now())
        return queryset


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = (
        "number",
        "subject",
        "workspace",
        "category",
        "status",
        "due",
        "assignee",
        "updated_at",
    )
    list_display_links = ("number", "subject")
    list_filter = (
        "status",
        "category",
        OverdueFilter,
        ("assignee", admin.RelatedOnlyFieldListFilter),
    )
    search_fields = ("subject", "workspace__name", "opened_by__email")
    actions = ("assign_to_me", "close_tickets")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        # Staff work every workspace's tickets: the admin is not tenant-scoped (CONVENTIONS 3).
        return super().get_queryset(request).select_related("workspace", "assignee", "opened_by")

    def get_ordering(self, request: HttpRequest) -> list[Any]:
        return [selectors.queue_rank().asc(), "due_at", "-updated_at"]

    @admin.display(description="#", ordering="pk")
    def number(self, obj: Ticket) -> str:
        return str(obj.pk)

    @admin.display(description=gettext_lazy("answer due"), ordering="due_at")
    def due(self, obj: Ticket) -> str:
        if obj.due_at is None or not obj.awaits_staff:
            return "—"
        text = timezone.localtime(obj.due_at).strftime("%Y-%m-%d %H:%M %Z")
        if obj.is_overdue:
            return format_html('<strong style="color:#b00" class="overdue">{} ⚠</strong>', text)
        return text

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # customers open tickets from the Help page

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # tickets go by the retention job or with their workspace/account

    # --- the ticket's page --------------------------------------------------------------

    def get_urls(self) -> list[Any]:
        wrap = self.admin_site.admin_view
        return [
            path("<int:pk>/reply/", wrap(self.reply_view), name="support_ticket_reply"),
            path("<int:pk>/update/", wrap(self.update_view), name="support_ticket_update"),
            path(
                "<int:pk>/data-request/",
                wrap(self.data_request_view),
                name="support_ticket_data_request",
            ),
            path(
                "<int:pk>/attachment/<int:attachment_pk>/",
                wrap(self.attachment_view),
                name="support_ticket_attachment",
            ),
            *super().get_urls(),
        ]

    def _ticket(self, request: HttpRequest, pk: Any, *, change: bool) -> Ticket:
        allowed = (
            self.has_change_permission(request) if change else self.has_view_permission(request)
        )
        if not allowed:
            raise PermissionDenied
        return get_object_or_404(
            Ticket.objects.select_related("workspace", "opened_by", "assignee", "data_request"),
            pk=pk,
        )

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        """The ticket's page replaces the model form: staff act through the forms on it."""
        if not str(object_id).isdigit():
            raise Http404
        ticket = self._ticket(request, object_id, change=False)
        return self._page(request, ticket)

    def _page(
        self,
        request: HttpRequest,
        ticket: Ticket,
        reply_form: StaffReplyForm | None = None,
        update_form: StaffUpdateForm | None = None,
        status: int = 200,
    ) -> HttpResponse:
        context = {
            **self.admin_site.each_context(request),
            "title": f"#{ticket.pk} {ticket.subject}",
            "opts": self.model._meta,
            "ticket": ticket,
            "thread": selectors.ticket_thread(ticket=ticket, include_internal=True),
            "staff_view": True,
            "can_change": self.has_change_permission(request),
            "reply_form": reply_form or StaffReplyForm(),
            "update_form": update_form
            or StaffUpdateForm(
                assignees=selectors.support_staff(),
                initial={"status": ticket.status, "assignee": ticket.assignee_id},
            ),
            "data_request_form": DataRequestForm(),
            "data_request_url": (
                reverse("admin:privacy_datarequest_change", args=[ticket.data_request_id])
                if ticket.data_request_id
                else ""
            ),
        }
        return TemplateResponse(request, "support/admin/ticket.html", context, status=status)

    def _back(self, ticket: Ticket) -> HttpResponseRedirect:
        return HttpResponseRedirect(reverse("admin:support_ticket_change", args=[ticket.pk]))

    def reply_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        ticket = self._ticket(request, pk, change=True)
        if request.method != "POST":
            return self._back(ticket)
        form = StaffReplyForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                services.ticket_staff_reply(
                    ticket=ticket,
                    actor=_staff(request),
                    body=form.cleaned_data["body"],
                    internal=form.cleaned_data["internal"],
                    files=form.cleaned_data["attachments"],
                )
            except ValidationError as exc:
                errors_to_form(form, exc)
            else:
                self.message_user(
                    request,
                    _("Internal note added.")
                    if form.cleaned_data["internal"]
                    else _("Reply sent; the customer was e-mailed."),
                )
                return self._back(ticket)
        return self._page(request, ticket, reply_form=form, status=400)

    def update_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        ticket = self._ticket(request, pk, change=True)
        if request.method != "POST":
            return self._back(ticket)
        form = StaffUpdateForm(request.POST, assignees=selectors.support_staff())
        if not form.is_valid():
            return self._page(request, ticket, update_form=form, status=400)
        try:
            if form.cleaned_data["assignee"] != ticket.assignee:
                ticket = services.ticket_assign(
                    ticket=ticket, actor=_staff(request), assignee=form.cleaned_data["assignee"]
                )
            services.ticket_set_status(
                ticket=ticket, actor=_staff(request), status=form.cleaned_data["status"]
            )
        except ValidationError as exc:
            errors_to_form(form, exc)
            return self._page(request, ticket, update_form=form, status=400)
        self.message_user(request, _("Ticket updated."))
        return self._back(ticket)

    def data_request_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        ticket = self._ticket(request, pk, change=True)
        if request.method != "POST":
            return self._back(ticket)
        form = DataRequestForm(request.POST)
        kind = form.cleaned_data["kind"] if form.is_valid() else "access"
        try:
            data_request, created = services.ticket_to_data_request(
                ticket=ticket, actor=_staff(request), kind=kind
            )
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
            return self._back(ticket)
        if created:
            self.message_user(request, _("Data request %(id)s opened.") % {"id": data_request})
        else:
            self.message_user(
                request,
                _("This ticket is already data request %(id)s.") % {"id": data_request},
                messages.WARNING,
            )
        return self._back(ticket)

    def attachment_view(self, request: HttpRequest, pk: int, attachment_pk: int) -> FileResponse:
        ticket = self._ticket(request, pk, change=False)
        found = get_object_or_404(TicketAttachment, ticket=ticket, pk=attachment_pk)
        return attachment_response(found)

    # --- bulk actions on the queue ------------------------------------------------------

    @admin.action(description=gettext_lazy("Assign to me"), permissions=["change"])
    def assign_to_me(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for ticket in queryset:
            services.ticket_assign(ticket=ticket, actor=_staff(request), assignee=_staff(request))
        self.message_user(request, _("Assigned."))

    @admin.action(description=gettext_lazy("Close"), permissions=["change"])
    def close_tickets(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for ticket in queryset:
            services.ticket_set_status(
                ticket=ticket, actor=_staff(request), status=Ticket.Status.CLOSED
            )
        self.message_user(request, _("Closed."))
