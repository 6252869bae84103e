"""Message template pages, with a live preview against a real contact (htmx)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from accounts.permissions import Perm, role_has
from accounts.tenancy import WorkspaceRequest, workspace_view
from core.forms import errors_to_form
from core.queries import get_or_404
from messaging.contacts import selectors as contacts_selectors
from messaging.content import rendering, whatsapp
from messaging.content import selectors as content_selectors
from messaging.content import services as template_services
from messaging.content.forms import TemplateForm, WhatsAppTemplateForm
from messaging.content.models import MessageTemplate
from messaging.numbers.models import Sender


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
            "whatsapp_templates": content_selectors.whatsapp_templates_of_workspace(
                workspace=workspace
            ),
            "template_numbers": content_selectors.template_numbers_of_workspace(
                workspace=workspace
            ),
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
    try:
        template_services.template_delete(
            workspace=workspace,
            template=template,
            actor=request.user,
        )
    except template_services.TemplateInUse as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("messaging:templates", workspace.slug)
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


# --- WhatsApp (Meta) templates ----------------------------------------------------------------

#: Where the service's error keys show on the editor.
_EDITOR_FIELDS = {"header": "header_format", "components": None, "buttons": "buttons"}


def _template_numbers(request: WorkspaceRequest) -> list[Sender]:
    return list(content_selectors.template_numbers_of_workspace(workspace=request.workspace))


def _number_choices(numbers: list[Sender]) -> list[tuple[str, str]]:
    return [
        (
            str(n.public_id),
            f"{n.display_label or n.phone_number} · {n.phone_number} · WABA {n.waba_id}",
        )
        for n in numbers
    ]


@workspace_view(Perm.TEMPLATES_WRITE)
@require_http_methods(["GET", "POST"])
def whatsapp_template_create(request: WorkspaceRequest) -> HttpResponse:
    workspace = request.workspace
    numbers = _template_numbers(request)
    form = WhatsAppTemplateForm(
        request.POST or None, request.FILES or None, numbers=_number_choices(numbers)
    )
    button_errors: list[str] = []
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        sender = next(n for n in numbers if str(n.public_id) == data["number"])
        try:
            handle = (data.get("header_handle") or "").strip()
            upload = data.get("header_file")
            header_format = data.get("header_format") or ""
            if upload is not None and header_format in whatsapp.MEDIA_FORMATS:
                handle = template_services.whatsapp_template_example_upload(
                    workspace=workspace,
                    sender=sender,
                    header_format=header_format,
                    data=upload.read(),
                    file_name=upload.name or "example",
                )
            components = whatsapp.template_components_build(
                parameter_format=data["parameter_format"],
                header_format=header_format,
                header_text=(data.get("header_text") or "").strip(),
                header_example=(data.get("header_example") or "").strip(),
                header_handle=handle,
                body=data["body"].strip(),
                body_examples=form.body_example_values(),
                footer=(data.get("footer") or "").strip(),
                buttons=form.buttons(),
            )
            template = template_services.whatsapp_template_create(
                workspace=workspace,
                sender=sender,
                name=data["name"],
                language=data["language"],
                category=data["category"],
                parameter_format=data["parameter_format"],
                components=components,
                actor=request.user,
            )
        except ValidationError as exc:
            errors = exc.message_dict if hasattr(exc, "error_dict") else {"": exc.messages}
            for key, messages_ in errors.items():
                target = _EDITOR_FIELDS.get(key, key)
                if target == "buttons":
                    button_errors.extend(messages_)
                    continue
                for message in messages_:
                    form.add_error(target if target in form.fields else None, message)
        else:
            messages.success(
                request,
                _(
                    "Template submitted to Meta for review. Its status changes here once Meta "
                    "decides."
                ),
            )
            return redirect(
                "messaging:whatsapp_template_detail", workspace.slug, template.public_id
            )
    return render(
        request,
        "messaging/whatsapp_template_form.html",
        {"form": form, "numbers": numbers, "button_errors": button_errors},
    )


@workspace_view(Perm.VIEW)
@require_http_methods(["GET"])
def whatsapp_template_detail(request: WorkspaceRequest, whatsapp_template_id: str) -> HttpResponse:
    template = content_selectors.get_whatsapp_template_for_workspace(
        workspace=request.workspace, template_id=whatsapp_template_id
    )
    return render(
        request,
        "messaging/whatsapp_template_detail.html",
        {
            "template": template,
            "slots": whatsapp.template_slots(template.components, template.parameter_format),
            "header_format": whatsapp.header_format(template.components),
            "components": template.components,
            "can_write": _can_write_templates(request),
            "in_use": template_services.whatsapp_template_in_use(template=template),
        },
    )


@workspace_view(Perm.TEMPLATES_WRITE)
@require_POST
def whatsapp_template_delete(request: WorkspaceRequest, whatsapp_template_id: str) -> HttpResponse:
    workspace = request.workspace
    template = content_selectors.get_whatsapp_template_for_workspace(
        workspace=workspace, template_id=whatsapp_template_id
    )
    try:
        template_services.whatsapp_template_delete(
            workspace=workspace, template=template, actor=request.user
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("messaging:whatsapp_template_detail", workspace.slug, template.public_id)
    messages.success(request, _("Template deleted at Meta and here."))
    return redirect("messaging:templates", workspace.slug)


@workspace_view(Perm.TEMPLATES_WRITE)
@require_POST
def whatsapp_templates_sync(request: WorkspaceRequest, number_id: str) -> HttpResponse:
    """The "Sync from Meta" button: pull one number's WABA templates now."""
    workspace = request.workspace
    sender = get_or_404(
        content_selectors.template_numbers_of_workspace(workspace=workspace), public_id=number_id
    )
    try:
        result = template_services.whatsapp_templates_sync(workspace=workspace, sender=sender)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            ngettext(
                "Synced from Meta: %(total)d template (%(created)d new, %(updated)d changed, "
                "%(removed)d removed).",
                "Synced from Meta: %(total)d templates (%(created)d new, %(updated)d changed, "
                "%(removed)d removed).",
                result.total,
            )
            % {
                "total": result.total,
                "created": result.created,
                "updated": result.updated,
                "removed": result.removed,
            },
        )
    return redirect("messaging:templates", workspace.slug)
