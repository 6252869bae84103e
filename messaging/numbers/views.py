"""Numbers pages: connect (sandbox, Cloud API, WhatsApp-Web QR), pacing, test message, remove."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts.permissions import Perm, role_has
from accounts.services import WorkspaceSuspended, client_ip
from accounts.tenancy import WorkspaceRequest, workspace_view
from core.phones import PhoneError, normalize_phone
from messaging.failures import failure_reason
from messaging.gateways.base import OutcomeKind
from messaging.gateways.web_gateway import WebGatewayError
from messaging.numbers import protection, selectors, services
from messaging.numbers.appeal import appeal_pack_build
from messaging.numbers.health import number_health_refresh
from messaging.numbers.models import Sender, WarmupPlan
from messaging.numbers.warmup import warmup_history, warmup_start, warmup_stop


class CloudApiForm(forms.Form):
    label = forms.CharField(label=gettext_lazy("Label"), max_length=100, required=False)
    phone_number_id = forms.CharField(label=gettext_lazy("Phone number ID"), max_length=64)
    waba_id = forms.CharField(label=gettext_lazy("WhatsApp Business Account ID"), max_length=64)
    # A refused connection keeps what was typed (the person who typed it sees it again, as
    # dots): retyping a 200-character token after a typo elsewhere loses the user.
    access_token = forms.CharField(
        label=gettext_lazy("Access token"), widget=forms.PasswordInput(render_value=True)
    )
    app_secret = forms.CharField(
        label=gettext_lazy("App secret"),
        widget=forms.PasswordInput(render_value=True),
        help_text=gettext_lazy("Used to verify Meta's webhook signatures."),
    )
    warm_up = forms.BooleanField(
        label=gettext_lazy("Start on a warm-up plan (recommended for a new number)"),
        required=False,
        initial=True,
        help_text=gettext_lazy(
            "Its daily cap starts low and grows after each healthy day; you can stop it later."
        ),
    )


class WebGatewayForm(forms.Form):
    label = forms.CharField(label=gettext_lazy("Label"), max_length=100, required=False)
    base_url = forms.URLField(label=gettext_lazy("Gateway URL"), assume_scheme="https")
    api_key = forms.CharField(
        label=gettext_lazy("Gateway API key"), widget=forms.PasswordInput(render_value=True)
    )
    warm_up = forms.BooleanField(
        label=gettext_lazy("Start on a warm-up plan (recommended for a new number)"),
        required=False,
        initial=True,
        help_text=gettext_lazy(
            "Its daily cap starts low and grows after each healthy day; you can stop it later."
        ),
    )


class PacingForm(forms.Form):
    label = forms.CharField(label=gettext_lazy("Label"), max_length=100, required=False)
    throughput_per_second = forms.IntegerField(
        label=gettext_lazy("Messages per second"), min_value=1, max_value=1000
    )
    min_interval_ms = forms.IntegerField(
        label=gettext_lazy("Minimum interval (ms)"), min_value=0, max_value=600_000
    )
    jitter_ms = forms.IntegerField(
        label=gettext_lazy("Random jitter (ms)"), min_value=0, max_value=600_000
    )
    daily_cap = forms.IntegerField(
        label=gettext_lazy("Daily cap"), min_value=1, max_value=1_000_000
    )


#: The session key of a refused test message's fields, shown again on the number's page.
_TEST_DRAFT = "number_test_draft"
_TEST_DRAFT_CHARS = 5000


class TestMessageForm(forms.Form):
    to = forms.CharField(label=gettext_lazy("Send to"), max_length=32)
    text = forms.CharField(
        label=gettext_lazy("Text"),
        max_length=1000,
        initial=gettext_lazy("Hello from iSend! This is a test message."),
    )


def _sender(request: WorkspaceRequest, sender_id: str) -> Sender:
    return get_object_or_404(
        Sender.objects.for_workspace(request.workspace),
        public_id=sender_id,
    )


def _form_errors(form: forms.Form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


@workspace_view(Perm.VIEW)
def number_list(request: WorkspaceRequest) -> HttpResponse:
    numbers = list(selectors.numbers_live(workspace=request.workspace))
    last = selectors.numbers_last_health_change(workspace=request.workspace, senders=numbers)
    for number in numbers:
        number.last_health_change = last.get(number.pk)  # type: ignore[attr-defined]
    return render(
        request,
        "messaging/numbers/list.html",
        {
            "numbers": numbers,
            "can_manage": role_has(request.membership.role, Perm.NUMBERS_MANAGE),
        },
    )


@workspace_view(Perm.NUMBERS_MANAGE)
def number_add(request: WorkspaceRequest) -> HttpResponse:
    workspace = request.workspace
    cloud_form = CloudApiForm(prefix="cloud")
    web_form = WebGatewayForm(prefix="web")
    if request.method == "POST":
        kind = request.POST.get("provider")
        try:
            if kind == "sandbox":
                sender = services.sender_connect_sandbox(
                    workspace=workspace,
                    actor=request.user,
                    ip=client_ip(request),
                )
                messages.success(
                    request, _("Sandbox number %(n)s connected.") % {"n": sender.phone_number}
                )
                return redirect("messaging_numbers:detail", workspace.slug, sender.public_id)
            if kind == "cloud_api":
                cloud_form = CloudApiForm(request.POST, prefix="cloud")
                if cloud_form.is_valid():
                    data = dict(cloud_form.cleaned_data)
                    warm = data.pop("warm_up")
                    sender = services.sender_connect_cloud_api(
                        workspace=workspace, actor=request.user, ip=client_ip(request), **data
                    )
                    if warm:
                        warmup_start(workspace=workspace, sender=sender, actor=request.user)
                    messages.success(
                        request, _("Number %(n)s connected.") % {"n": sender.phone_number}
                    )
                    return redirect("messaging_numbers:detail", workspace.slug, sender.public_id)
            if kind == "web_gateway":
                web_form = WebGatewayForm(request.POST, prefix="web")
                if web_form.is_valid():
                    data = dict(web_form.cleaned_data)
                    warm = data.pop("warm_up")
                    sender = services.sender_connect_web_gateway(
                        workspace=workspace, actor=request.user, ip=client_ip(request), **data
                    )
                    if warm:
                        warmup_start(workspace=workspace, sender=sender, actor=request.user)
                    return redirect("messaging_numbers:pair", workspace.slug, sender.public_id)
        except services.GatewayUnavailable as exc:
            messages.error(request, str(exc))
        except ValidationError as exc:
            _form_errors(cloud_form if kind == "cloud_api" else web_form, exc)
    return render(
        request, "messaging/numbers/add.html", {"cloud_form": cloud_form, "web_form": web_form}
    )


@workspace_view(Perm.VIEW)
def number_detail(request: WorkspaceRequest, sender_id: str) -> HttpResponse:
    sender = _sender(request, sender_id)
    can_manage = role_has(request.membership.role, Perm.NUMBERS_MANAGE)
    pacing = PacingForm(
        request.POST or None,
        initial={
            "label": sender.display_label,
            **{
                f: getattr(sender, f)
                for f in ("throughput_per_second", "min_interval_ms", "jitter_ms", "daily_cap")
            },
        },
    )
    if request.method == "POST":
        if not can_manage:
            raise PermissionDenied  # the translated 403 page, not an empty body
        if pacing.is_valid():
            data = pacing.cleaned_data
            if data.get("label") == sender.display_label:
                data["label"] = sender.label  # the default left as shown stays the default
            try:
                services.sender_update_pacing(
                    workspace=request.workspace,
                    actor=request.user,
                    sender=sender,
                    ip=client_ip(request),
                    **data,
                )
                messages.success(
                    request,
                    _("Pacing of number %(n)s saved.") % {"n": sender.phone_number or sender.label},
                )
                return redirect(
                    "messaging_numbers:detail", request.workspace.slug, sender.public_id
                )
            except ValidationError as exc:
                _form_errors(pacing, exc)
    warmup = WarmupPlan.objects.for_workspace(request.workspace).filter(sender=sender).first()
    webhook_url = None
    if sender.provider == Sender.Provider.CLOUD_API:
        webhook_url = request.build_absolute_uri(
            reverse("messaging_webhooks:webhook_whatsapp", args=[sender.public_id])
        )
    return render(
        request,
        "messaging/numbers/detail.html",
        {
            "sender": sender,
            "pacing": pacing,
            "can_manage": can_manage,
            "webhook_url": webhook_url,
            "test_form": TestMessageForm(
                initial=request.session.pop(_TEST_DRAFT, None) or {"to": request.user.phone}
            ),
            "history": selectors.number_health_history(workspace=request.workspace, sender=sender),
            "pace_history": selectors.number_pace_history(
                workspace=request.workspace, sender=sender
            ),
            "restore_hours": settings.PROTECTION_RESTORE_HOURS,
            "warmup": warmup,
            "warmup_history": warmup_history(warmup) if warmup else [],
            "replacements": Sender.objects.for_workspace(request.workspace)
            .filter(status=Sender.Status.ACTIVE, removed_at__isnull=True)
            .exclude(pk=sender.pk)
            .order_by("created_at"),
        },
    )


@workspace_view(Perm.NUMBERS_MANAGE)
def number_pair(request: WorkspaceRequest, sender_id: str) -> HttpResponse:
    sender = _sender(request, sender_id)
    if sender.provider != Sender.Provider.WEB_GATEWAY:
        return redirect("messaging_numbers:detail", request.workspace.slug, sender.public_id)
    return render(request, "messaging/numbers/pair.html", {"sender": sender})


@workspace_view(Perm.NUMBERS_MANAGE)
def number_pair_status(request: WorkspaceRequest, sender_id: str) -> HttpResponse:
    """Polled by htmx every two seconds while the QR code is shown."""
    sender = _sender(request, sender_id)
    error = ""
    if sender.provider == Sender.Provider.WEB_GATEWAY and sender.is_live:
        try:
            services.sender_refresh_web_session(sender=sender)
        except (WebGatewayError, OSError) as exc:
            error = str(exc)
    return render(
        request, "messaging/numbers/_pair_status.html", {"sender": sender, "error": error}
    )


@workspace_view(Perm.NUMBERS_MANAGE)
def number_qr(request: WorkspaceRequest, sender_id: str) -> HttpResponse:
    sender = _sender(request, sender_id)
    if sender.provider != Sender.Provider.WEB_GATEWAY or sender.status != Sender.Status.PENDING:
        return HttpResponse(status=404)
    try:
        png = services.sender_web_qr_png(sender=sender)
    except (WebGatewayError, OSError):
        return HttpResponse(status=404)
    response = HttpResponse(png, content_type="image/png")
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@workspace_view(Perm.NUMBERS_MANAGE)
def number_test(request: WorkspaceRequest, sender_id: str) -> HttpResponse:
    sender = _sender(request, sender_id)
    form = TestMessageForm(request.POST)
    slug = request.workspace.slug
    # What was typed comes back in the form if the test is refused (the page is a redirect).
    request.session[_TEST_DRAFT] = {
        name: str(request.POST.get(name, ""))[:_TEST_DRAFT_CHARS] for name in ("to", "text")
    }
    if not form.is_valid():
        messages.error(
            request,
            " ".join(
                f"{form.fields[name].label}: {error}"
                for name, errors in form.errors.items()
                for error in errors
            ),
        )
        return redirect("messaging_numbers:detail", slug, sender.public_id)
    try:
        to = normalize_phone(
            form.cleaned_data["to"], default_country=request.workspace.default_country
        )
        outcome = services.sender_send_test(
            workspace=request.workspace,
            sender=sender,
            to=to,
            text=form.cleaned_data["text"],
        )
    except (ValidationError, PhoneError, WorkspaceSuspended) as exc:
        messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
        return redirect("messaging_numbers:detail", slug, sender.public_id)
    if outcome.kind == OutcomeKind.ACCEPTED:
        request.session.pop(_TEST_DRAFT, None)
        messages.success(
            request,
            _("Test message accepted by WhatsApp for %(to)s (id %(id)s).")
            % {"to": to, "id": outcome.provider_message_id},
        )
    else:
        reason = failure_reason(
            code=outcome.error.code if outcome.error else None,
            kind=outcome.kind,
            title=outcome.error.title if outcome.error else outcome.note,
        )
        messages.error(request, _("Not sent to %(to)s: %(reason)s") % {"to": to, "reason": reason})
    return redirect("messaging_numbers:detail", slug, sender.public_id)


@require_POST
@workspace_view(Perm.NUMBERS_MANAGE)
def number_health_check(request: WorkspaceRequest, sender_id: str) -> HttpResponse:
    """Ask Meta for the number's quality, messaging limit and throughput now."""
    sender = _sender(request, sender_id)
    slug = request.workspace.slug
    if sender.provider != Sender.Provider.CLOUD_API or not sender.is_live:
        messages.error(request, _("Only connected Cloud API numbers report their health."))
        return redirect("messaging_numbers:detail", slug, sender.public_id)
    health = number_health_refresh(sender=sender, event="on demand")
    if health.ok:
        messages.success(request, _("Checked with WhatsApp just now."))
    else:
        messages.error(request, _("WhatsApp did not answer: %(reason)s") % {"reason": health.note})
    return redirect("messaging_numbers:detail", slug, sender.public_id)


@require_POST
@workspace_view(Perm.NUMBERS_MANAGE)
def number_remove(request: WorkspaceRequest, sender_id: str) -> HttpResponse:
    sender = _sender(request, sender_id)
    services.sender_remove(
        workspace=request.workspace,
        actor=request.user,
        sender=sender,
        ip=client_ip(request),
    )
    messages.success(
        request,
        _(
            "Number %(n)s removed. Your credits stay in the workspace; "
            "connect a replacement any time."
        )
        % {"n": sender.phone_number or sender.label},
    )
    return redirect("messaging_numbers:list", request.workspace.slug)


@workspace_view(Perm.NUMBERS_MANAGE)
def number_appeal_pack(request: WorkspaceRequest, sender_id: str) -> HttpResponse:
    """The appeal pack of the number (ZIP: a PDF summary and CSVs), to support an appeal to
    WhatsApp after a block (issue #21)."""
    sender = _sender(request, sender_id)
    data = appeal_pack_build(workspace=request.workspace, sender=sender, actor=request.user)
    response = HttpResponse(data, content_type="application/zip")
    name = "".join(ch for ch in (sender.phone_number or str(sender.public_id)) if ch.isalnum())
    response["Content-Disposition"] = f'attachment; filename="appeal-pack-{name}.zip"'
    return response


@require_POST
@workspace_view(Perm.NUMBERS_MANAGE)
def number_replace(request: WorkspaceRequest, sender_id: str) -> HttpResponse:
    """Replace this number by another connected one: campaigns move to it, it warms up."""
    sender = _sender(request, sender_id)
    chosen = _uuid_or_none(request.POST.get("replacement", ""))
    replacement = (
        Sender.objects.for_workspace(request.workspace).filter(public_id=chosen).first()
        if chosen
        else None
    )
    if replacement is None:
        messages.error(request, _("Choose the number that replaces this one."))
        return redirect("messaging_numbers:detail", request.workspace.slug, sender.public_id)
    try:
        services.sender_replace(
            workspace=request.workspace,
            actor=request.user,
            old=sender,
            new=replacement,
            ip=client_ip(request),
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("messaging_numbers:detail", request.workspace.slug, sender.public_id)
    messages.success(
        request,
        _(
            "Number %(new)s replaces %(old)s: its campaigns, lists, templates and your credits "
            "are kept, and it starts on a warm-up plan. Resume paused campaigns when ready."
        )
        % {
            "new": replacement.phone_number or replacement.label,
            "old": sender.phone_number or sender.label,
        },
    )
    return redirect("messaging_numbers:detail", request.workspace.slug, replacement.public_id)


@require_POST
@workspace_view(Perm.NUMBERS_MANAGE)
def number_warmup(request: WorkspaceRequest, sender_id: str) -> HttpResponse:
    """Start (or stop) the number's warm-up plan."""
    sender = _sender(request, sender_id)
    if request.POST.get("stop") == "1":
        warmup_stop(workspace=request.workspace, sender=sender, actor=request.user)
        messages.success(request, _("Warm-up stopped: the number's own daily cap applies."))
    else:
        plan = warmup_start(workspace=request.workspace, sender=sender, actor=request.user)
        messages.success(
            request,
            _("Warm-up started: at most %(n)d messages today, more after each healthy day.")
            % {"n": plan.cap_today or 0},
        )
    return redirect("messaging_numbers:detail", request.workspace.slug, sender.public_id)


@require_POST
@workspace_view(Perm.NUMBERS_MANAGE)
def number_protection_clear(request: WorkspaceRequest, sender_id: str) -> HttpResponse:
    """The user fixed what made us protect the number."""
    sender = _sender(request, sender_id)
    protection.number_protection_clear(
        workspace=request.workspace, sender=sender, actor=request.user
    )
    messages.success(request, _("The number is no longer under protection."))
    return redirect("messaging_numbers:detail", request.workspace.slug, sender.public_id)


def _uuid_or_none(value: str) -> str | None:
    import uuid

    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None
