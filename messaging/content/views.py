"""Message template pages, with a live preview against a real contact (htmx)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.permissions import Perm, role_has
from accounts.tenancy import WorkspaceRequest, workspace_view
from core.forms import errors_to_form
from messaging.contacts import selectors as contacts_selectors
from messaging.content import rendering
from messaging.content import selectors as content_selectors
from messaging.content import services as template_services
from messaging.content.forms import TemplateForm
from messaging.content.models import MessageTemplate


def _can_write_templates(request: WorkspaceRequest) -> bool:
    return role_has(request.membership.role, Perm.TEMPLATES_WRITE)


@workspace_view(Perm.VIEW)
@require_http_methods(["GET"])
def templates(request: WorkspaceRequest) -> HttpResponse:
    workspace = request.workspace
    return render(
        request,
        "messaging/templates.html",
        {
            "templates": content_selectors.templates_of_workspace(workspace=workspace),
            "can_write": _can_write_templates(request),
        },
    )


def _template_data(form: TemplateForm) -> dict[str, Any]:
    data = dict(form.cleaned_data)
    data["variants"] = form.variants()
    data.pop("variant_texts", None)
    return data


@workspace_view(Perm.TEMPLATES_WRITE)
@require_http_methods(["GET", "POST"])
def template_create(request: WorkspaceRequest) -> HttpResponse:
    workspace = request.workspace
    form = TemplateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            template = template_services.template_create(
                workspace=workspace,
                data=_template_data(form),
                actor=request.user,
            )
        except ValidationError as exc:
            errors_to_form(form, exc)
        else:
            messages.success(request, _("Template “%(name)s” saved.") % {"name": template.name})
            return redirect("messaging:template_edit", workspace.slug, template.public_id)
    return render(request, "messaging/template_form.html", _context(request, form, None))


@workspace_view(Perm.VIEW)
@require_http_methods(["GET", "POST"])
def template_edit(request: WorkspaceRequest, template_id: str) -> HttpResponse:
    workspace = request.workspace
    template = content_selectors.get_template_for_workspace(
        workspace=workspace, template_id=template_id
    )
    form = TemplateForm(request.POST or None, initial=TemplateForm.initial_from(template))
    if request.method == "POST":
        if not _can_write_templates(request):
            raise PermissionDenied
        if form.is_valid():
            try:
                template_services.template_update(
                    workspace=workspace,
                    template=template,
                    data=_template_data(form),
                    actor=request.user,
                )
            except ValidationError as exc:
                errors_to_form(form, exc)
            else:
                messages.success(request, _("Template “%(name)s” saved.") % {"name": template.name})
                return redirect("messaging:template_edit", workspace.slug, template.public_id)
    return render(request, "messaging/template_form.html", _context(request, form, template))


def _context(
    request: WorkspaceRequest, form: TemplateForm, template: MessageTemplate | None
) -> dict[str, Any]:
    workspace = request.workspace
    return {
        "form": form,
        "template": template,
        "can_write": _can_write_templates(request),
        "contacts": contacts_selectors.contacts_matching(workspace=workspace)[:50],
        "attributes": sorted(contacts_selectors.contact_attribute_keys(workspace=workspace)),
        "fields": sorted(rendering.CONTACT_FIELDS),
        "max_chars": rendering.MAX_BODY_CHARS,
    }


@workspace_view(Perm.TEMPLATES_WRITE)
@require_POST
def template_delete(request: WorkspaceRequest, template_id: str) -> HttpResponse:
    workspace = request.workspace
    template = content_selectors.get_template_for_workspace(
        workspace=workspace, template_id=template_id
    )
    template_services.template_delete(
        workspace=workspace,
        template=template,
        actor=request.user,
    )
    messages.success(request, _("Template “%(name)s” deleted.") % {"name": template.name})
    return redirect("messaging:templates", workspace.slug)


@workspace_view(Perm.VIEW)
@require_POST
def template_preview(request: WorkspaceRequest) -> HttpResponse:
    """htmx: render the form's current text for the chosen contact (nothing is saved)."""
    workspace = request.workspace
    form = TemplateForm(request.POST)
    form.is_valid()
    variants = form.variants()
    contact = None
    if request.POST.get("preview_contact"):
        contact = contacts_selectors.get_contact_for_workspace(
            workspace=workspace, contact_id=request.POST["preview_contact"]
        )
    known = contacts_selectors.contact_attribute_keys(workspace=workspace)
    problems = [
        p.message for text in variants for p in rendering.validate(text, known_attributes=known)
    ]
    rendered = None
    if variants and not problems:
        rendered = template_services.template_render_for_contact(
            workspace=workspace,
            variants=variants,
            contact=contact,
            footer=request.POST.get("footer", ""),
        )
    return render(
        request,
        "messaging/_template_preview.html",
        {
            "rendered": rendered,
            "problems": problems,
            "contact": contact,
            "max_chars": rendering.MAX_BODY_CHARS,
        },
    )
