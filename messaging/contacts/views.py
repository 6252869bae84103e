"""Contacts, lists and segments pages (thin: parse input, call a service or selector, render).

Every object comes from a `get_*_for_workspace` selector, so another workspace's id is a 404
before anything else happens."""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.permissions import Perm, role_has
from accounts.services import WorkspaceSuspended
from accounts.tenancy import WorkspaceRequest, workspace_view
from billing.services import InsufficientCredits
from core.forms import errors_to_form
from core.pagination import CappedPaginator
from core.queries import by_name
from messaging.campaigns.messages import message_send
from messaging.contacts import selectors, services
from messaging.contacts.access import can_write_contacts, require_contacts_write
from messaging.contacts.forms import (
    BulkActionForm,
    ContactFilterForm,
    ContactForm,
    ContactListForm,
    SegmentForm,
)
from messaging.contacts.models import Contact
from messaging.inbox.selectors import conversations_of_contact, numbers_visible_to
from messaging.numbers.customer_window import customer_window_rows
from messaging.numbers.models import Sender

PAGE_SIZE = 50
COUNT_CAP = 10_000  # a page counts matching contacts up to here ("more than 10,000")


def contact_name(contact: Contact) -> str:
    """How a flash message names a contact: their name, else their number."""
    return contact.full_name.strip() or contact.phone


@workspace_view(Perm.VIEW)
@require_http_methods(["GET", "POST"])
def contacts(request: WorkspaceRequest) -> HttpResponse:
    """The list with search, filters, server-side pagination and bulk actions (POST)."""
    workspace = request.workspace
    filter_form = ContactFilterForm(request.GET or None)
    filters = filter_form.filters()
    if request.method == "POST":
        require_contacts_write(request)
        return _bulk_action(request, filters)
    queryset = selectors.contacts_matching(workspace=workspace, filters=filters)
    page = CappedPaginator(
        queryset,
        PAGE_SIZE,
        cap=COUNT_CAP,
        when_few=selectors.contacts_matching(workspace=workspace, filters=filters, few=True),
    ).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "messaging/contacts.html",
        {
            "page": page,
            "filter_form": filter_form,
            "bulk_form": BulkActionForm(workspace=workspace),
            "tags": selectors.contact_tags_of_workspace(workspace=workspace),
            "lists": selectors.contact_lists_of_workspace(workspace=workspace),
            "query": query.urlencode(),
            "can_write": can_write_contacts(request),
        },
    )


def _bulk_action(request: WorkspaceRequest, filters: dict[str, Any]) -> HttpResponse:
    workspace = request.workspace
    form = BulkActionForm(request.POST, workspace=workspace)
    back = redirect(f"{request.path}?{request.GET.urlencode()}")
    if not form.is_valid():
        messages.error(request, _("Choose an action and at least one contact."))
        return back
    if form.cleaned_data["select_all"]:
        selection = selectors.contacts_matching(workspace=workspace, filters=filters)
    else:
        ids = [i for i in form.cleaned_data["contact_ids"].split(",") if i]
        ids += request.POST.getlist("contact")
        selection = selectors.contacts_by_public_ids(workspace=workspace, contact_ids=ids)
    try:
        count = services.contacts_bulk_action(
            workspace=workspace,
            contacts=selection,
            action=form.cleaned_data["action"],
            actor=request.user,
            tag=form.cleaned_data.get("tag") or "",
            contact_list=form.cleaned_data.get("contact_list"),
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return back
    messages.success(request, _("Done: %(count)d contacts.") % {"count": count})
    return back


@workspace_view(Perm.VIEW)
@require_GET
def contacts_export(request: WorkspaceRequest) -> StreamingHttpResponse:
    """The filtered contacts as CSV, streamed (memory does not grow with the workspace)."""
    workspace = request.workspace
    filters = ContactFilterForm(request.GET or None).filters()
    queryset = selectors.contacts_matching(workspace=workspace, filters=filters)
    response = StreamingHttpResponse(
        selectors.contacts_csv_lines(queryset=queryset), content_type="text/csv; charset=utf-8"
    )
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="contacts-{stamp}.csv"'
    return response


@workspace_view(Perm.CONTACTS_WRITE)
@require_http_methods(["GET", "POST"])
def contact_create(request: WorkspaceRequest) -> HttpResponse:
    workspace = request.workspace
    # "Add as a contact" from the inbox fills the phone and the WhatsApp profile's name.
    initial = {k: request.GET[k][:150] for k in ("phone", "first_name") if request.GET.get(k)}
    form = ContactForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            contact = services.contact_create(workspace=workspace, data=form.cleaned_data)
        except ValidationError as exc:
            errors_to_form(form, exc)
        else:
            messages.success(
                request, _("Contact “%(name)s” added.") % {"name": contact_name(contact)}
            )
            return redirect("messaging:contact_detail", workspace.slug, contact.public_id)
    return render(request, "messaging/contact_form.html", {"form": form})


@workspace_view(Perm.VIEW)
@require_http_methods(["GET", "POST"])
def contact_detail(request: WorkspaceRequest, contact_id: str) -> HttpResponse:
    workspace = request.workspace
    contact = selectors.get_contact_for_workspace(workspace=workspace, contact_id=contact_id)
    initial = {
        "phone": contact.phone,
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "language": contact.language,
        "time_zone": contact.time_zone,
        "tags": ", ".join(contact.tags),
        "attributes": "\n".join(f"{k} = {v}" for k, v in contact.attributes.items()),
    }
    form = ContactForm(request.POST or None, initial=initial)
    if request.method == "POST":
        require_contacts_write(request)
        if form.is_valid():
            try:
                services.contact_update(
                    workspace=workspace, contact=contact, data=form.cleaned_data
                )
            except ValidationError as exc:
                errors_to_form(form, exc)
            else:
                messages.success(
                    request, _("Contact “%(name)s” saved.") % {"name": contact_name(contact)}
                )
                return redirect("messaging:contact_detail", workspace.slug, contact.public_id)
    visible = numbers_visible_to(request.membership)
    return render(
        request,
        "messaging/contact_detail.html",
        {
            "contact": contact,
            "form": form,
            "lists": contact.lists.filter(workspace=workspace).order_by(by_name()),
            "can_write": can_write_contacts(request),
            "windows": customer_window_rows(
                workspace=workspace, phone=contact.phone, senders=visible
            ),
            "can_reply": role_has(request.membership.role, Perm.CAMPAIGNS_RUN),
            "conversations": conversations_of_contact(
                workspace=workspace, contact=contact, senders=visible
            ),
        },
    )


@workspace_view(Perm.CONTACTS_WRITE)
@require_POST
def contact_opt_out(request: WorkspaceRequest, contact_id: str) -> HttpResponse:
    workspace = request.workspace
    contact = selectors.get_contact_for_workspace(workspace=workspace, contact_id=contact_id)
    services.contact_opt_out(
        workspace=workspace, contact=contact, reason=request.POST.get("reason", "")
    )
    messages.success(
        request,
        _("Contact “%(name)s” is opted out and will not receive campaigns.")
        % {"name": contact_name(contact)},
    )
    return redirect("messaging:contact_detail", workspace.slug, contact.public_id)


@workspace_view(Perm.CAMPAIGNS_RUN)
@require_POST
def contact_reply(request: WorkspaceRequest, contact_id: str) -> HttpResponse:
    """Reply to a contact from one of the numbers: a free-form message, so on a Cloud API
    number only inside the contact's 24-hour window (the refusal says why)."""
    workspace = request.workspace
    contact = selectors.get_contact_for_workspace(workspace=workspace, contact_id=contact_id)
    chosen = request.POST.get("number", "")
    numbers = Sender.objects.for_workspace(workspace).filter(removed_at__isnull=True)
    visible = numbers_visible_to(request.membership)
    if visible is not None:  # a member who answers on some numbers only replies from those
        numbers = numbers.filter(pk__in=visible)
    number = numbers.filter(public_id=chosen).first() if _is_uuid(chosen) else None
    try:
        if number is None:
            raise ValidationError(_("Choose one of the workspace's numbers."))
        message_send(
            workspace=workspace,
            to=contact.phone,
            text=request.POST.get("text", ""),
            sender=number,
            actor=request.user,
        )
    except (ValidationError, InsufficientCredits, WorkspaceSuspended) as exc:
        messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
    else:
        messages.success(request, _("Reply queued: it goes out ahead of campaign traffic."))
    return redirect("messaging:contact_detail", workspace.slug, contact.public_id)


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


@workspace_view(Perm.CONTACTS_WRITE)
@require_POST
def contact_opt_in(request: WorkspaceRequest, contact_id: str) -> HttpResponse:
    workspace = request.workspace
    contact = selectors.get_contact_for_workspace(workspace=workspace, contact_id=contact_id)
    try:
        services.contact_opt_in(
            workspace=workspace,
            contact=contact,
            consent_source=request.POST.get("consent_source", ""),
            actor=request.user,
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            _("Contact “%(name)s” is subscribed again.") % {"name": contact_name(contact)},
        )
    return redirect("messaging:contact_detail", workspace.slug, contact.public_id)


@workspace_view(Perm.CONTACTS_WRITE)
@require_POST
def contact_delete(request: WorkspaceRequest, contact_id: str) -> HttpResponse:
    workspace = request.workspace
    contact = selectors.get_contact_for_workspace(workspace=workspace, contact_id=contact_id)
    services.contact_delete(workspace=workspace, contact=contact, actor=request.user)
    messages.success(request, _("Contact “%(name)s” deleted.") % {"name": contact_name(contact)})
    return redirect("messaging:contacts", workspace.slug)


# --- lists ------------------------------------------------------------------------------------


@workspace_view(Perm.VIEW)
@require_http_methods(["GET", "POST"])
def lists(request: WorkspaceRequest) -> HttpResponse:
    workspace = request.workspace
    form = ContactListForm(request.POST or None)
    if request.method == "POST":
        require_contacts_write(request)
        if form.is_valid():
            try:
                contact_list = services.contact_list_create(
                    workspace=workspace, **form.cleaned_data
                )
            except ValidationError as exc:
                errors_to_form(form, exc)
            else:
                messages.success(
                    request, _("List “%(name)s” created.") % {"name": contact_list.name}
                )
                return redirect("messaging:list_detail", workspace.slug, contact_list.public_id)
    return render(
        request,
        "messaging/lists.html",
        {
            "lists": selectors.contact_lists_of_workspace(workspace=workspace),
            "form": form,
            "can_write": can_write_contacts(request),
        },
    )


@workspace_view(Perm.VIEW)
@require_http_methods(["GET", "POST"])
def list_detail(request: WorkspaceRequest, list_id: str) -> HttpResponse:
    workspace = request.workspace
    contact_list = selectors.get_contact_list_for_workspace(workspace=workspace, list_id=list_id)
    form = ContactListForm(
        request.POST or None,
        initial={"name": contact_list.name, "description": contact_list.description},
    )
    if request.method == "POST":
        require_contacts_write(request)
        if request.POST.get("remove"):
            services.contact_list_remove_contacts(
                workspace=workspace,
                contact_list=contact_list,
                contacts=selectors.contacts_by_public_ids(
                    workspace=workspace, contact_ids=request.POST.getlist("remove")
                ),
            )
            return redirect("messaging:list_detail", workspace.slug, contact_list.public_id)
        if form.is_valid():
            try:
                services.contact_list_update(
                    workspace=workspace, contact_list=contact_list, **form.cleaned_data
                )
            except ValidationError as exc:
                errors_to_form(form, exc)
            else:
                messages.success(
                    request, _("List “%(name)s” saved.") % {"name": form.cleaned_data["name"]}
                )
                return redirect("messaging:list_detail", workspace.slug, contact_list.public_id)
    members = selectors.contacts_matching(
        workspace=workspace, filters={"list_id": contact_list.public_id}
    )
    return render(
        request,
        "messaging/list_detail.html",
        {
            "contact_list": contact_list,
            "form": form,
            "page": CappedPaginator(
                members,
                PAGE_SIZE,
                cap=COUNT_CAP,
                when_few=selectors.contacts_matching(
                    workspace=workspace, filters={"list_id": contact_list.public_id}, few=True
                ),
            ).get_page(request.GET.get("page")),
            "can_write": can_write_contacts(request),
        },
    )


@workspace_view(Perm.CONTACTS_WRITE)
@require_POST
def list_delete(request: WorkspaceRequest, list_id: str) -> HttpResponse:
    workspace = request.workspace
    contact_list = selectors.get_contact_list_for_workspace(workspace=workspace, list_id=list_id)
    services.contact_list_delete(workspace=workspace, contact_list=contact_list)
    messages.success(
        request,
        _("List “%(name)s” deleted; its contacts were kept.") % {"name": contact_list.name},
    )
    return redirect("messaging:lists", workspace.slug)


# --- segments ---------------------------------------------------------------------------------


@workspace_view(Perm.VIEW)
@require_http_methods(["GET", "POST"])
def segments(request: WorkspaceRequest) -> HttpResponse:
    workspace = request.workspace
    form = SegmentForm(request.POST or None)
    if request.method == "POST":
        require_contacts_write(request)
        if form.is_valid():
            try:
                segment = services.segment_create(
                    workspace=workspace, name=form.cleaned_data["name"], filters=form.filters()
                )
            except ValidationError as exc:
                errors_to_form(form, exc)
            else:
                messages.success(
                    request,
                    _("Segment “%(name)s” saved.") % {"name": form.cleaned_data["name"]},
                )
                return redirect("messaging:segment_detail", workspace.slug, segment.public_id)
    rows = [
        (segment, selectors.audience_preview(workspace=workspace, filters=segment.filters))
        for segment in selectors.segments_of_workspace(workspace=workspace)[:100]
    ]
    return render(
        request,
        "messaging/segments.html",
        {"rows": rows, "form": form, "can_write": can_write_contacts(request)},
    )


@workspace_view(Perm.VIEW)
@require_http_methods(["GET", "POST"])
def segment_detail(request: WorkspaceRequest, segment_id: str) -> HttpResponse:
    workspace = request.workspace
    segment = selectors.get_segment_for_workspace(workspace=workspace, segment_id=segment_id)
    form = SegmentForm(
        request.POST or None, initial=SegmentForm.initial_from(segment.name, segment.filters)
    )
    if request.method == "POST":
        require_contacts_write(request)
        if form.is_valid():
            try:
                services.segment_update(
                    workspace=workspace,
                    segment=segment,
                    name=form.cleaned_data["name"],
                    filters=form.filters(),
                )
            except ValidationError as exc:
                errors_to_form(form, exc)
            else:
                messages.success(
                    request,
                    _("Segment “%(name)s” saved.") % {"name": form.cleaned_data["name"]},
                )
                return redirect("messaging:segment_detail", workspace.slug, segment.public_id)
    return render(
        request,
        "messaging/segment_detail.html",
        {
            "segment": segment,
            "form": form,
            "counts": selectors.audience_preview(workspace=workspace, filters=segment.filters),
            "filters_json": json.dumps(segment.filters, indent=2, ensure_ascii=False),
            "can_write": can_write_contacts(request),
        },
    )


@workspace_view(Perm.VIEW)
@require_GET
def segment_preview(request: WorkspaceRequest) -> HttpResponse:
    """htmx: the audience counts for the segment form's current values."""
    workspace = request.workspace
    form = SegmentForm({"name": "preview", **request.GET.dict()})
    if "whatsapp_status" in request.GET:
        form = SegmentForm(
            {
                "name": "preview",
                **request.GET.dict(),
                "whatsapp_status": request.GET.getlist("whatsapp_status"),
            }
        )
    counts = None
    error = ""
    if form.is_valid():
        try:
            filters = services.segment_filters_clean(workspace=workspace, filters=form.filters())
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            counts = selectors.audience_preview(workspace=workspace, filters=filters)
    else:
        error = _("Check the filters.")
    return render(request, "messaging/_audience.html", {"counts": counts, "error": error})


@workspace_view(Perm.CONTACTS_WRITE)
@require_POST
def segment_delete(request: WorkspaceRequest, segment_id: str) -> HttpResponse:
    workspace = request.workspace
    segment = selectors.get_segment_for_workspace(workspace=workspace, segment_id=segment_id)
    services.segment_delete(workspace=workspace, segment=segment)
    messages.success(request, _("Segment “%(name)s” deleted.") % {"name": segment.name})
    return redirect("messaging:segments", workspace.slug)
