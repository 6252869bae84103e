"""Webhooks pages (thin): list and create endpoints, edit event types, rotate the secret,
enable/disable, delete, send a test event, and each endpoint's delivery log with replay."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.permissions import Perm
from accounts.services import client_ip
from accounts.tenancy import WorkspaceRequest, workspace_view
from integrations import selectors, services
from integrations.forms import WebhookEndpointForm
from integrations.models import WebhookDelivery, WebhookEndpoint

DELIVERIES_PER_PAGE = 25


def _form_errors(form: WebhookEndpointForm, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def _endpoint(request: WorkspaceRequest, endpoint_id: str) -> WebhookEndpoint:
    return selectors.get_webhook_endpoint_for_workspace(
        workspace=request.workspace,
        endpoint_id=endpoint_id,
    )


@workspace_view(Perm.API_KEYS_MANAGE)
def endpoint_list(request: WorkspaceRequest) -> HttpResponse:
    workspace = request.workspace
    form = WebhookEndpointForm()
    new_secret = new_endpoint = None
    if request.method == "POST":
        form = WebhookEndpointForm(request.POST)
        if form.is_valid():
            try:
                new_endpoint, new_secret = services.webhook_endpoint_create(
                    workspace=workspace,
                    url=form.cleaned_data["url"],
                    description=form.cleaned_data["description"],
                    event_types=form.chosen_event_types(),
                    actor=request.user,
                    ip=client_ip(request),
                )
                form = WebhookEndpointForm()
            except ValidationError as exc:
                _form_errors(form, exc)
    return render(
        request,
        "integrations/list.html",
        {
            "endpoints": selectors.webhook_endpoints_of_workspace(workspace=workspace),
            "form": form,
            "new_secret": new_secret,
            "new_endpoint": new_endpoint,
        },
    )


@workspace_view(Perm.API_KEYS_MANAGE)
def endpoint_detail(request: WorkspaceRequest, endpoint_id: str) -> HttpResponse:
    workspace = request.workspace
    endpoint = _endpoint(request, endpoint_id)
    form = WebhookEndpointForm(initial=WebhookEndpointForm.initial_for(endpoint))
    if request.method == "POST":
        form = WebhookEndpointForm(request.POST)
        if form.is_valid():
            try:
                services.webhook_endpoint_update(
                    workspace=workspace,
                    endpoint=endpoint,
                    url=form.cleaned_data["url"],
                    description=form.cleaned_data["description"],
                    event_types=form.chosen_event_types(),
                    actor=request.user,
                    ip=client_ip(request),
                )
                messages.success(
                    request,
                    _("Webhook endpoint %(url)s saved.") % {"url": form.cleaned_data["url"]},
                )
                return redirect("integrations:detail", workspace.slug, endpoint.public_id)
            except ValidationError as exc:
                _form_errors(form, exc)
    status = request.GET.get("status", "")
    deliveries = selectors.webhook_deliveries_of_workspace(
        workspace=workspace, endpoint=endpoint, status=status
    )
    page = Paginator(deliveries, DELIVERIES_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "integrations/detail.html",
        {
            "endpoint": endpoint,
            "form": form,
            "page": page,
            "status": status,
            "statuses": WebhookDelivery.Status.choices,
            "new_secret": None,
        },
    )


@require_POST
@workspace_view(Perm.API_KEYS_MANAGE)
def endpoint_rotate(request: WorkspaceRequest, endpoint_id: str) -> HttpResponse:
    workspace = request.workspace
    endpoint, secret = services.webhook_endpoint_rotate_secret(
        workspace=workspace,
        endpoint=_endpoint(request, endpoint_id),
        actor=request.user,
        ip=client_ip(request),
    )
    page = Paginator(
        selectors.webhook_deliveries_of_workspace(workspace=workspace, endpoint=endpoint),
        DELIVERIES_PER_PAGE,
    ).get_page(1)
    return render(
        request,
        "integrations/detail.html",
        {
            "endpoint": endpoint,
            "form": WebhookEndpointForm(initial=WebhookEndpointForm.initial_for(endpoint)),
            "page": page,
            "status": "",
            "statuses": WebhookDelivery.Status.choices,
            "new_secret": secret,
        },
    )


@require_POST
@workspace_view(Perm.API_KEYS_MANAGE)
def endpoint_toggle(request: WorkspaceRequest, endpoint_id: str) -> HttpResponse:
    workspace = request.workspace
    endpoint = _endpoint(request, endpoint_id)
    endpoint = services.webhook_endpoint_set_active(
        workspace=workspace,
        endpoint=endpoint,
        active=not endpoint.is_active,
        actor=request.user,
        ip=client_ip(request),
    )
    messages.success(
        request,
        _("Webhook endpoint enabled.") if endpoint.is_active else _("Webhook endpoint disabled."),
    )
    return redirect("integrations:detail", workspace.slug, endpoint.public_id)


@require_POST
@workspace_view(Perm.API_KEYS_MANAGE)
def endpoint_delete(request: WorkspaceRequest, endpoint_id: str) -> HttpResponse:
    workspace = request.workspace
    endpoint = _endpoint(request, endpoint_id)
    services.webhook_endpoint_delete(
        workspace=workspace,
        endpoint=endpoint,
        actor=request.user,
        ip=client_ip(request),
    )
    messages.success(request, _("Webhook endpoint %(url)s deleted.") % {"url": endpoint.url})
    return redirect("integrations:list", workspace.slug)


@require_POST
@workspace_view(Perm.API_KEYS_MANAGE)
def endpoint_test(request: WorkspaceRequest, endpoint_id: str) -> HttpResponse:
    workspace = request.workspace
    endpoint = _endpoint(request, endpoint_id)
    services.webhook_endpoint_send_test(workspace=workspace, endpoint=endpoint)
    messages.success(request, _("Test event queued: it appears in the log below."))
    return redirect("integrations:detail", workspace.slug, endpoint.public_id)


@require_POST
@workspace_view(Perm.API_KEYS_MANAGE)
def delivery_replay(request: WorkspaceRequest, endpoint_id: str, delivery_id: str) -> HttpResponse:
    workspace = request.workspace
    endpoint = _endpoint(request, endpoint_id)
    delivery = selectors.get_webhook_delivery_for_workspace(
        workspace=workspace, delivery_id=delivery_id, endpoint=endpoint
    )
    services.webhook_delivery_replay(workspace=workspace, delivery=delivery)
    messages.success(request, _("Event %(id)s queued again.") % {"id": delivery.event_id})
    return redirect("integrations:detail", workspace.slug, endpoint.public_id)
