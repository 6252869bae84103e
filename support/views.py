"""The customer's side of the support desk, under /w/<workspace_slug>/help/ (the tenancy
gate answers 404 to non-members): the workspace's tickets, a new ticket, a ticket's thread
with a reply form, and attachment downloads. Thin: who sees what is `support.selectors`,
every write is `support.services`."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.permissions import Perm
from accounts.services import client_ip
from accounts.tenancy import WorkspaceRequest, workspace_view
from core.forms import errors_to_form
from support import selectors, services
from support.forms import ReplyForm, TicketForm
from support.models import Ticket, TicketAttachment


@workspace_view(Perm.VIEW)
@require_GET
def tickets(request: WorkspaceRequest) -> HttpResponse:
    rows = selectors.tickets_for_member(
        workspace=request.workspace, membership=request.membership
    ).order_by("-updated_at")
    return render(
        request,
        "support/tickets.html",
        {"tickets": rows, "support_email": settings.SUPPORT_EMAIL},
    )


@workspace_view(Perm.VIEW)
@require_http_methods(["GET", "POST"])
def ticket_new(request: WorkspaceRequest) -> HttpResponse:
    form = TicketForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            ticket = services.ticket_open(
                workspace=request.workspace,
                user=request.user,
                subject=form.cleaned_data["subject"],
                category=form.cleaned_data["category"],
                body=form.cleaned_data["body"],
                files=form.cleaned_data["attachments"],
                language=get_language() or "",
                ip=client_ip(request),
            )
        except ValidationError as exc:
            errors_to_form(form, exc)
        else:
            messages.success(
                request,
                _("Ticket #%(number)s sent. We will answer here and by e-mail.")
                % {"number": ticket.pk},
            )
            return redirect("support:ticket", request.workspace.slug, ticket.public_id)
    return render(request, "support/ticket_new.html", {"form": form})


def _ticket_page(request: WorkspaceRequest, ticket: Ticket, form: ReplyForm) -> HttpResponse:
    context = {
        "ticket": ticket,
        "thread": selectors.ticket_thread(ticket=ticket, include_internal=False),
        "form": form,
    }
    return render(request, "support/ticket.html", context)


@workspace_view(Perm.VIEW)
@require_GET
def ticket(request: WorkspaceRequest, ticket_id: str) -> HttpResponse:
    found = selectors.get_ticket_for_member(
        workspace=request.workspace, membership=request.membership, ticket_id=ticket_id
    )
    return _ticket_page(request, found, ReplyForm())


@workspace_view(Perm.VIEW)
@require_POST
def ticket_reply(request: WorkspaceRequest, ticket_id: str) -> HttpResponse:
    found = selectors.get_ticket_for_member(
        workspace=request.workspace, membership=request.membership, ticket_id=ticket_id
    )
    form = ReplyForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.ticket_customer_reply(
                workspace=request.workspace,
                ticket=found,
                user=request.user,
                body=form.cleaned_data["body"],
                files=form.cleaned_data["attachments"],
                ip=client_ip(request),
            )
        except ValidationError as exc:
            errors_to_form(form, exc)
        else:
            messages.success(request, _("Reply sent."))
            return redirect("support:ticket", request.workspace.slug, found.public_id)
    return _ticket_page(request, found, form)


@workspace_view(Perm.VIEW)
@require_POST
def ticket_close(request: WorkspaceRequest, ticket_id: str) -> HttpResponse:
    """The customer closes their ticket (any member who may see it); writing again reopens."""
    found = selectors.get_ticket_for_member(
        workspace=request.workspace, membership=request.membership, ticket_id=ticket_id
    )
    if found.status != Ticket.Status.CLOSED:
        services.ticket_customer_close(
            workspace=request.workspace, ticket=found, user=request.user, ip=client_ip(request)
        )
        messages.success(request, _("Ticket closed. Write on it again to reopen it."))
    return redirect("support:ticket", request.workspace.slug, found.public_id)


@workspace_view(Perm.VIEW)
@require_GET
def attachment(request: WorkspaceRequest, ticket_id: str, attachment_id: str) -> FileResponse:
    """Served only here, to members who may see the ticket (and to staff in the admin);
    always as a download, never rendered inline."""
    found = selectors.get_attachment_for_member(
        workspace=request.workspace,
        membership=request.membership,
        ticket_id=ticket_id,
        attachment_id=attachment_id,
    )
    return attachment_response(found)


def attachment_response(found: TicketAttachment) -> FileResponse:
    """The file as a download with its original name (shared with the staff pages)."""
    response = FileResponse(
        found.file.open("rb"),
        as_attachment=True,
        filename=found.original_name,
        content_type=found.content_type,
    )
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
