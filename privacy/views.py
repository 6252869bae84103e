"""Public policy pages, the cookie banner's endpoint, the deletion-by-e-mail flow, the privacy
centre and the workspace owner's number erasure. Thin: every write is a service call."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from accounts.permissions import Perm
from accounts.services import client_ip
from accounts.tenancy import WorkspaceRequest, workspace_view
from privacy import selectors, services
from privacy.forms import AccountDeleteForm, DeletionRequestForm, ErasePhoneForm, ReauthForm
from privacy.markdown_render import render_policy_markdown
from privacy.models import Consent
from privacy.transfers import transfer_register, transfer_register_csv

POLICY_DIR = Path(__file__).resolve().parent / "policies"
COOKIE_MAX_AGE = 60 * 60 * 24 * 365


def _render_markdown(text: str) -> str:
    # Policy bodies are written by staff in admin: raw HTML is escaped, unsafe links dropped.
    return render_policy_markdown(text)


def _safe_next(request: HttpRequest, fallback: str = "/") -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def _ua(request: HttpRequest) -> str:
    return request.META.get("HTTP_USER_AGENT", "")[:500]


# --- public pages --------------------------------------------------------------------------


def policy_page(request: HttpRequest, *, kind: str) -> HttpResponse:
    """The version in force, in the reader's language when that language version exists,
    else in English (with a note saying so)."""
    document = selectors.policy_current(kind=kind)
    if document is None:
        raise Http404
    text = selectors.policy_text(document=document, language=get_language())
    return render(
        request,
        "privacy/policy.html",
        {
            "document": document,
            "text": text,
            "fallback": text.language != get_language(),
            "body_html": mark_safe(_render_markdown(text.body)),  # noqa: S308 - escaped above # nosec B308 B703
            "history": selectors.policy_history(kind=kind),
            "upcoming": selectors.policy_upcoming(kind=kind),
        },
    )


def subprocessors(request: HttpRequest) -> HttpResponse:
    """The published sub-processor list (in the reader's language when translated), and
    beside it the register of cross-border transfers (seed 004 §12) with its CSV for the
    authorised body."""
    translated = POLICY_DIR / f"subprocessors.{get_language()}.md"
    source = translated if translated.exists() else POLICY_DIR / "subprocessors.md"
    body = source.read_text(encoding="utf-8")
    return render(
        request,
        "privacy/static_page.html",
        {
            "title": _("Sub-processors"),
            "body_html": mark_safe(_render_markdown(body)),  # noqa: S308 - escaped above # nosec B308 B703
            "transfers": transfer_register(),
        },
    )


def transfers_csv(request: HttpRequest) -> HttpResponse:
    """The register of cross-border transfers as CSV (public, as the list it comes from)."""
    response = HttpResponse(
        transfer_register_csv().encode("utf-8-sig"), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = 'attachment; filename="isend-cross-border-transfers.csv"'
    return response


def retention(request: HttpRequest) -> HttpResponse:
    """The retention periods exactly as the privacy policy in force states them (its
    "How long we keep data" section), so the page can never disagree with the policy."""
    document = selectors.policy_current(kind="privacy")
    if document is None:
        raise Http404
    section_re = re.compile(r"^## 7\..*?(?=^## )", flags=re.S | re.M)
    text = selectors.policy_text(document=document, language=get_language())
    # The language versions keep the English numbering; one that does not shows the English.
    match = section_re.search(text.body) or section_re.search(document.body)
    section = match.group(0) if match else text.body
    return render(
        request,
        "privacy/static_page.html",
        {
            "title": _("How long we keep data"),
            "body_html": mark_safe(_render_markdown(section)),  # noqa: S308 - escaped above # nosec B308 B703
            "document": document,
        },
    )


@login_required
def policy_accept(request: HttpRequest) -> HttpResponse:
    pending = selectors.policy_pending_for_user(user=request.user)  # type: ignore[arg-type]
    if request.method == "POST" and request.POST.get("accept"):
        services.policy_accept_pending(
            user=request.user,  # type: ignore[arg-type]
            ip=client_ip(request),
            user_agent=_ua(request),
            language=get_language(),
        )
        messages.success(request, _("Thank you. Your acceptance is recorded."))
        return redirect(_safe_next(request))
    if not pending:
        return redirect(_safe_next(request))
    titles = selectors.policy_titles(documents=pending, language=get_language())
    return render(
        request,
        "privacy/accept.html",
        {
            "pending": [(doc, titles[doc.pk]) for doc in pending],
            "next": _safe_next(request),
        },
    )


@require_POST
def cookie_consent(request: HttpRequest) -> HttpResponse:
    """The banner's plain form: works without JavaScript. Only the choice cookie itself is
    set (it is necessary to remember the choice)."""
    analytics = request.POST.get("choice") == "analytics"
    user = request.user if request.user.is_authenticated else None
    services.cookie_consent_record(
        user=user,
        analytics=analytics,
        ip=client_ip(request),
        user_agent=_ua(request),
    )
    response = redirect(_safe_next(request))
    response.set_cookie(
        services.COOKIE_NAME,
        "analytics" if analytics else "necessary",
        max_age=COOKIE_MAX_AGE,
        samesite="Lax",
        secure=request.is_secure(),
        httponly=True,
    )
    return response


def cookie_settings(request: HttpRequest) -> HttpResponse:
    return render(request, "privacy/cookie_settings.html", {"next": _safe_next(request)})


def deletion_request(request: HttpRequest) -> HttpResponse:
    """Anyone may ask; only the holder of the registered address can confirm. The answer is
    the same redirect for a known and an unknown address."""
    form = DeletionRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.deletion_request_by_email(email=form.cleaned_data["email"], ip=client_ip(request))
        return redirect("privacy:deletion_sent")
    return render(request, "privacy/deletion_request.html", {"form": form})


def deletion_request_sent(request: HttpRequest) -> HttpResponse:
    return render(request, "privacy/deletion_sent.html")


def deletion_confirm(request: HttpRequest, token: str) -> HttpResponse:
    # GET only shows a button: link scanners in mail clients must not confirm a deletion.
    found = services.data_request_find_by_token(token=token)
    if found is None:
        return render(request, "privacy/link_invalid.html", status=404)
    if request.method == "POST":
        services.data_request_confirm(token=token, ip=client_ip(request))
        if request.user.is_authenticated:
            logout(request)
        return render(request, "privacy/deletion_confirmed.html")
    # The holder of the link sees what they would lose before confirming.
    credits = selectors.credits_at_deletion(user=found.user) if found.user else None
    return render(request, "privacy/deletion_confirm.html", {"credits": credits})


def account_reactivate(request: HttpRequest, token: str) -> HttpResponse:
    if request.method == "POST":
        try:
            services.account_reactivate(token=token, ip=client_ip(request))
        except ValidationError:
            return render(request, "privacy/link_invalid.html", status=404)
        messages.success(request, _("Your account is active again. You can sign in."))
        return redirect("account_login")
    return render(request, "privacy/reactivate.html")


@csrf_exempt  # RFC 8058 one-click: mail providers POST without a CSRF token; the
# signed token is the credential and the only effect is withdrawing marketing consent.
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    if request.method == "POST":
        try:
            services.marketing_unsubscribe(token=token, ip=client_ip(request))
        except ValidationError:
            return render(request, "privacy/link_invalid.html", status=404)
        return render(request, "privacy/unsubscribed.html")
    return render(request, "privacy/unsubscribe.html")


# --- the privacy centre (the signed-in user's own data) -------------------------------------


@login_required
def centre(request: HttpRequest) -> HttpResponse:
    user = request.user
    consents = selectors.consent_state(user=user)  # type: ignore[arg-type]
    labels = {
        "account": _("Account and profile"),
        "login_events": _("Sign-in records"),
        "audit_events": _("Actions you took (audit trail)"),
        "consents": _("Consent records"),
        "memberships": _("Workspace memberships"),
        "workspaces_owned": _("Workspaces you own"),
        "numbers": _("WhatsApp numbers in your workspaces"),
        "contacts": _("Contacts in your workspaces"),
        "templates": _("Templates in your workspaces"),
        "messages": _("Messages in your workspaces"),
        "replies": _("Replies received in your workspaces"),
        "support_tickets": _("Support tickets in your workspaces"),
        "orders": _("Orders and invoices"),
    }
    summary = [
        {**row, "label": labels.get(row["category"], row["category"])}
        for row in selectors.privacy_centre_summary(user=user)  # type: ignore[arg-type]
    ]
    context: dict[str, Any] = {
        "summary": summary,
        "profile": selectors.privacy_profile_of(user=user),  # type: ignore[arg-type]
        "marketing": consents.get(Consent.Purpose.MARKETING_EMAIL, False),
        "analytics": consents.get(Consent.Purpose.ANALYTICS_COOKIES, False),
        "exports": selectors.exports_for_user(user=user),  # type: ignore[arg-type]
        "requests": selectors.requests_for_user(user=user),  # type: ignore[arg-type]
        "delete_form": AccountDeleteForm(user=user),  # type: ignore[arg-type]
        "credits": selectors.credits_at_deletion(user=user),  # type: ignore[arg-type]
        "deactivate_form": ReauthForm(user=user),  # type: ignore[arg-type]
    }
    return render(request, "privacy/centre.html", context)


@login_required
@require_POST
def centre_consent(request: HttpRequest) -> HttpResponse:
    purpose = request.POST.get("purpose", "")
    try:
        services.consent_set(
            user=request.user,  # type: ignore[arg-type]
            purpose=purpose,
            granted=request.POST.get("granted") == "1",
            ip=client_ip(request),
            user_agent=_ua(request),
        )
    except ValidationError:
        raise Http404 from None
    messages.success(request, _("Your choice is saved."))
    response = redirect("privacy:centre")
    if purpose == Consent.Purpose.ANALYTICS_COOKIES:
        response.set_cookie(
            services.COOKIE_NAME,
            "analytics" if request.POST.get("granted") == "1" else "necessary",
            max_age=COOKIE_MAX_AGE,
            samesite="Lax",
            secure=request.is_secure(),
            httponly=True,
        )
    return response


@login_required
@require_POST
def centre_restrict(request: HttpRequest) -> HttpResponse:
    action = request.POST.get("action")
    user, ip = request.user, client_ip(request)
    if action in ("restrict", "object"):
        services.processing_restrict(
            user=user,  # type: ignore[arg-type]
            actor=user,  # type: ignore[arg-type]
            objection=action == "object",
            ip=ip,
        )
        messages.success(
            request,
            _("Done. We no longer use your data for marketing, analytics or anything optional."),
        )
    elif action == "lift":
        services.processing_lift(user=user, actor=user, ip=ip)  # type: ignore[arg-type]
        messages.success(request, _("The restriction is lifted."))
    else:
        raise Http404
    return redirect("privacy:centre")


@login_required
@require_POST
def centre_export(request: HttpRequest) -> HttpResponse:
    services.export_request_by_owner(user=request.user, ip=client_ip(request))  # type: ignore[arg-type]
    messages.success(request, _("We are preparing your data. We will notify you when it is ready."))
    return redirect("privacy:centre")


@login_required
def export_download(request: HttpRequest, export_id: Any) -> FileResponse:
    found = services.export_file_for_download(
        user=request.user,  # type: ignore[arg-type]
        public_id=export_id,
    )
    if found is None:
        raise Http404
    _export, path = found
    return FileResponse(path.open("rb"), as_attachment=True, filename=path.name)


@login_required
def centre_delete(request: HttpRequest) -> HttpResponse:
    user = request.user
    form = AccountDeleteForm(request.POST or None, user=user)  # type: ignore[arg-type]
    if request.method == "POST" and form.is_valid():
        services.account_deactivate(
            user=user,  # type: ignore[arg-type]
            actor=user,  # type: ignore[arg-type]
            ip=client_ip(request),
        )
        logout(request)
        return render(request, "privacy/account_deleted.html")
    return render(
        request,
        "privacy/account_delete.html",
        {"form": form, "credits": selectors.credits_at_deletion(user=user)},  # type: ignore[arg-type]
    )


@login_required
def centre_deactivate(request: HttpRequest) -> HttpResponse:
    """Reversible deactivation: the account is switched off and kept, not deleted."""
    user = request.user
    form = ReauthForm(request.POST or None, user=user)  # type: ignore[arg-type]
    if request.method == "POST" and form.is_valid():
        services.account_deactivate(
            user=user,  # type: ignore[arg-type]
            actor=user,  # type: ignore[arg-type]
            ip=client_ip(request),
            purge=False,
        )
        logout(request)
        return render(request, "privacy/account_deactivated.html")
    return render(request, "privacy/account_deactivate.html", {"form": form})


# --- workspace owners ------------------------------------------------------------------------


@workspace_view(Perm.SETTINGS_MANAGE)
def erase_number(request: WorkspaceRequest) -> HttpResponse:
    workspace = request.workspace
    form = ErasePhoneForm(request.POST or None, workspace=workspace)
    if request.method == "POST" and form.is_valid():
        proof = services.recipient_erase(
            workspace=workspace,
            phone=form.cleaned_data["phone"],
            actor=request.user,
            reason=_("erased by the workspace"),
            ip=client_ip(request),
        )
        removed = proof["counts"].get("messaging.Contact", 0)
        messages.success(
            request,
            _("The number was erased (%(n)s contact rows) and will not be re-imported.")
            % {"n": removed},
        )
        return redirect("privacy:erase_number", workspace_slug=workspace.slug)
    return render(request, "privacy/erase_number.html", {"form": form})
