"""Automation pages: the rules, a rule's form with its recent runs, and a "test a message" box
(htmx, or a plain POST without JavaScript). Thin: rules live in `automation.services`."""

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
from automation import selectors, services
from automation.forms import RuleForm, RuleTestForm
from automation.models import AutomationRule
from messaging.inbox.selectors import numbers_visible_to

RECENT_RUNS = 50


def _can_write(request: WorkspaceRequest) -> bool:
    return role_has(request.membership.role, Perm.CAMPAIGNS_RUN)


def _errors_to_form(form: Any, exc: ValidationError) -> None:
    for field, errors in exc.message_dict.items():
        for error in errors:
            form.add_error(field if field in form.fields else None, error)


def _list_context(request: WorkspaceRequest, test_form: RuleTestForm) -> dict[str, Any]:
    workspace = request.workspace
    return {
        "rules": selectors.rules_of_workspace(workspace=workspace),
        "can_write": _can_write(request),
        "test_form": test_form,
    }


@workspace_view(Perm.VIEW)
@require_http_methods(["GET"])
def rules(request: WorkspaceRequest) -> HttpResponse:
    workspace = request.workspace
    context = _list_context(request, RuleTestForm(workspace=workspace))
    return render(request, "automation/rules.html", context)


@workspace_view(Perm.VIEW)
@require_POST
def rule_test(request: WorkspaceRequest) -> HttpResponse:
    """Which rule would fire for a typed message (nothing is sent or saved)."""
    workspace = request.workspace
    form = RuleTestForm(request.POST, workspace=workspace)
    result = None
    if form.is_valid():
        result = selectors.rule_test_text(
            workspace=workspace, text=form.cleaned_data["text"], sender=form.cleaned_data["sender"]
        )
    if request.headers.get("HX-Request"):
        return render(request, "automation/_test_result.html", {"form": form, "result": result})
    context = {**_list_context(request, form), "result": result}
    return render(request, "automation/rules.html", context)


def _rule_data(form: RuleForm) -> dict[str, Any]:
    return dict(form.cleaned_data)


@workspace_view(Perm.CAMPAIGNS_RUN)
@require_http_methods(["GET", "POST"])
def rule_create(request: WorkspaceRequest) -> HttpResponse:
    workspace = request.workspace
    form = RuleForm(request.POST or None, workspace=workspace)
    if request.method == "POST" and form.is_valid():
        try:
            rule = services.rule_create(
                workspace=workspace,
                data=_rule_data(form),
                actor=request.user,
            )
        except ValidationError as exc:
            _errors_to_form(form, exc)
        else:
            messages.success(request, _("Rule “%(name)s” saved.") % {"name": rule.name})
            return redirect("automation:rule_edit", workspace.slug, rule.public_id)
    return render(request, "automation/rule_form.html", _form_context(request, form, None))


@workspace_view(Perm.VIEW)
@require_http_methods(["GET", "POST"])
def rule_edit(request: WorkspaceRequest, rule_id: str) -> HttpResponse:
    workspace = request.workspace
    rule = selectors.get_rule_for_workspace(workspace=workspace, rule_id=rule_id)
    form = RuleForm(request.POST or None, workspace=workspace, initial=RuleForm.initial_from(rule))
    if request.method == "POST":
        if not _can_write(request):
            raise PermissionDenied
        if form.is_valid():
            try:
                services.rule_update(
                    workspace=workspace,
                    rule=rule,
                    data=_rule_data(form),
                    actor=request.user,
                )
            except ValidationError as exc:
                _errors_to_form(form, exc)
            else:
                messages.success(request, _("Rule “%(name)s” saved.") % {"name": rule.name})
                return redirect("automation:rule_edit", workspace.slug, rule.public_id)
    return render(request, "automation/rule_form.html", _form_context(request, form, rule))


def _form_context(
    request: WorkspaceRequest, form: RuleForm, rule: AutomationRule | None
) -> dict[str, Any]:
    workspace = request.workspace
    runs = (
        selectors.runs_of_rule(
            workspace=workspace, rule=rule, senders=numbers_visible_to(request.membership)
        )[:RECENT_RUNS]
        if rule is not None
        else []
    )
    return {"form": form, "rule": rule, "runs": runs, "can_write": _can_write(request)}


@workspace_view(Perm.CAMPAIGNS_RUN)
@require_POST
def rule_delete(request: WorkspaceRequest, rule_id: str) -> HttpResponse:
    workspace = request.workspace
    rule = selectors.get_rule_for_workspace(workspace=workspace, rule_id=rule_id)
    services.rule_delete(
        workspace=workspace,
        rule=rule,
        actor=request.user,
    )
    messages.success(request, _("Rule “%(name)s” deleted.") % {"name": rule.name})
    return redirect("automation:rules", workspace.slug)
