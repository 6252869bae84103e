"""The import wizard: upload -> mapping and options -> progress (htmx polling) -> report."""

from __future__ import annotations

import csv
from collections.abc import Iterator

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.permissions import Perm
from accounts.tenancy import WorkspaceRequest, workspace_view
from core.forms import errors_to_form
from core.spreadsheets import CSV_BOM
from messaging.contacts.access import can_write_contacts, require_contacts_write
from messaging.contacts.selectors import csv_safe
from messaging.imports import selectors
from messaging.imports import services as import_services
from messaging.imports.forms import ImportOptionsForm, ImportUploadForm
from messaging.imports.models import ContactImport
from messaging.imports.reasons import rejection_message


@workspace_view(Perm.VIEW)
@require_http_methods(["GET", "POST"])
def imports(request: WorkspaceRequest) -> HttpResponse:
    """Step 1: upload; and the history of this workspace's imports."""
    workspace = request.workspace
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        require_contacts_write(request)
        if form.is_valid():
            try:
                contact_import = import_services.contact_import_create(
                    workspace=workspace,
                    uploaded=form.cleaned_data["file"],
                    actor=request.user,
                )
            except ValidationError as exc:
                errors_to_form(form, exc)
            else:
                return redirect("messaging:import_detail", workspace.slug, contact_import.public_id)
    return render(
        request,
        "messaging/imports.html",
        {
            "form": form,
            "imports": selectors.contact_imports_of_workspace(workspace=workspace)[:50],
            "can_write": can_write_contacts(request),
            "max_mb": import_services.import_max_bytes() // (1024 * 1024),
        },
    )


@workspace_view(Perm.VIEW)
@require_http_methods(["GET", "POST"])
def import_detail(request: WorkspaceRequest, import_id: str) -> HttpResponse:
    """Step 2 (mapping and options) while uploaded; before that, while the worker reads a
    workbook, its progress (polled); then progress and the report."""
    workspace = request.workspace
    contact_import = selectors.get_contact_import_for_workspace(
        workspace=workspace, import_id=import_id
    )
    if contact_import.status != ContactImport.Status.UPLOADED:
        if request.method == "POST":
            return HttpResponse(status=405)
        return render(
            request,
            "messaging/import_report.html",
            _report_context(workspace=workspace, contact_import=contact_import),
        )
    initial = {
        "has_header": contact_import.has_header,
        "default_country": contact_import.default_country,
        "on_existing": contact_import.on_existing,
    }
    if request.method == "POST" and "reread_header" in request.POST:
        # The header box changed: the columns are read again from the first row (or not).
        require_contacts_write(request)
        import_services.contact_import_header_set(
            workspace=workspace,
            contact_import=contact_import,
            has_header=bool(request.POST.get("has_header")),
        )
        return redirect("messaging:import_detail", workspace.slug, contact_import.public_id)
    form = ImportOptionsForm(
        request.POST or None,
        workspace=workspace,
        contact_import=contact_import,
        initial=initial,
    )
    if request.method == "POST":
        require_contacts_write(request)
        if form.is_valid():
            data = form.cleaned_data
            try:
                import_services.contact_import_configure(
                    workspace=workspace,
                    contact_import=contact_import,
                    actor=request.user,
                    options=import_services.ImportOptions(
                        mapping=form.mapping(),
                        consent_confirmed=data["consent_confirmed"],
                        consent_source=data.get("consent_source") or "",
                        has_header=data.get("has_header", False),
                        default_country=data["default_country"],
                        on_existing=data["on_existing"],
                        contact_list=data.get("contact_list"),
                        tags=[t for t in (data.get("tags") or "").split(",") if t.strip()],
                    ),
                )
            except ValidationError as exc:
                errors_to_form(form, exc)
            else:
                messages.success(
                    request,
                    _("The import of “%(file)s” has started.") % {"file": str(contact_import)},
                )
                return redirect("messaging:import_detail", workspace.slug, contact_import.public_id)
    return render(
        request,
        "messaging/import_mapping.html",
        {"contact_import": contact_import, "form": form},
    )


def _report_context(*, workspace: object, contact_import: ContactImport) -> dict[str, object]:
    return {
        "contact_import": contact_import,
        "summary": import_services.contact_import_summary(contact_import),
        "rejections": selectors.contact_import_rejections(
            workspace=workspace,  # type: ignore[arg-type]
            contact_import=contact_import,
        )[:20],
    }


@workspace_view(Perm.VIEW)
@require_GET
def import_progress(request: WorkspaceRequest, import_id: str) -> HttpResponse:
    """htmx partial polled every second until the import finishes."""
    workspace = request.workspace
    contact_import = selectors.get_contact_import_for_workspace(
        workspace=workspace, import_id=import_id
    )
    if contact_import.status == ContactImport.Status.UPLOADED:
        # The worker has read the workbook: on to the mapping step (htmx follows HX-Redirect;
        # a plain visit is redirected).
        detail = reverse("messaging:import_detail", args=[workspace.slug, contact_import.public_id])
        if not request.headers.get("HX-Request"):
            return redirect(detail)
        response = HttpResponse(status=204)
        response["HX-Redirect"] = detail
        return response
    return render(
        request,
        "messaging/_import_progress.html",
        _report_context(workspace=workspace, contact_import=contact_import),
    )


class _Echo:
    def write(self, value: str) -> str:
        return value


@workspace_view(Perm.VIEW)
@require_GET
def import_rejections_csv(request: WorkspaceRequest, import_id: str) -> StreamingHttpResponse:
    """The rows the import did not take, with line number and reason, to fix and re-upload."""
    workspace = request.workspace
    contact_import = selectors.get_contact_import_for_workspace(
        workspace=workspace, import_id=import_id
    )
    rejections = selectors.contact_import_rejections(
        workspace=workspace, contact_import=contact_import
    )

    def lines() -> Iterator[str]:
        writer = csv.writer(_Echo())
        yield CSV_BOM + writer.writerow(
            [_("line"), _("reason"), _("message"), *contact_import.columns]
        )
        for line, reason, params, message, row in rejections.values_list(
            "line", "reason", "params", "message", "row"
        ).iterator(chunk_size=2000):
            text = rejection_message(reason, params, message)
            yield writer.writerow([line, reason, csv_safe(text), *(csv_safe(c) for c in row)])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="rejected-rows-{contact_import.public_id}.csv"'
    )
    return response


@workspace_view(Perm.CONTACTS_WRITE)
@require_POST
def import_cancel(request: WorkspaceRequest, import_id: str) -> HttpResponse:
    """Stop an import; what it already wrote stays."""
    workspace = request.workspace
    contact_import = selectors.get_contact_import_for_workspace(
        workspace=workspace, import_id=import_id
    )
    try:
        import_services.contact_import_cancel(
            workspace=workspace,
            contact_import=contact_import,
            actor=request.user,
        )
        messages.success(
            request,
            _("The import of “%(file)s” was stopped; the rows written so far stay.")
            % {"file": str(contact_import)},
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("messaging:import_detail", workspace.slug, contact_import.public_id)
