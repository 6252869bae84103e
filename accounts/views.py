"""Dashboard pages for accounts: home, workspaces, team, API keys, settings, activity.
Thin: parse the form, call a service, render."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from allauth.account import views as allauth_views
from allauth.account.utils import get_next_redirect_url
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import Resolver404, resolve, reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views import i18n as i18n_views
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import selectors, services
from accounts.forms import (
    ApiKeyForm,
    InviteForm,
    MessageRetentionForm,
    ProfileForm,
    RoleForm,
    WorkspaceSettingsForm,
)
from accounts.models import Invitation, SecurityReport, User
from accounts.permissions import (
    API_SCOPES,
    Perm,
    Role,
    role_has,
    role_may_grant,
    roles_grantable,
)
from accounts.presenters import audit_sentences
from accounts.tenancy import AuthenticatedRequest, WorkspaceRequest, workspace_view


def _error_text(exc: ValidationError | PermissionDenied) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc) or _("You cannot do that.")


@require_POST
def language_set(request: HttpRequest) -> HttpResponse:
    """The language switcher (header and footer): Django's ``set_language`` sets the cookie
    and redirects back; a signed-in user's choice is also saved on their profile, so it
    follows them to other browsers and into their e-mails."""
    response = i18n_views.set_language(request)
    language = request.POST.get("language", "")
    if request.user.is_authenticated and language in dict(settings.LANGUAGES):
        services.user_set_language(user=request.user, language=language)
    return response


def home(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return render(request, "accounts/landing.html")
    memberships = selectors.memberships_of_user(user=request.user)
    last = request.session.get("last_workspace")
    chosen = next((m for m in memberships if m.workspace.slug == last), None) or memberships.first()
    if chosen is None:
        return redirect("accounts:workspace_create")
    return redirect("messaging_analytics:home", workspace_slug=chosen.workspace.slug)


@login_required
def workspace_create(request: AuthenticatedRequest) -> HttpResponse:
    if request.method == "POST":
        name = request.POST.get("name", "").strip()
        if not name:
            messages.error(request, _("Give the workspace a name."))
        else:
            workspace = services.workspace_create(
                name=name,
                owner=request.user,
                ip=services.client_ip(request),
            )
            messages.success(request, _("Workspace “%(name)s” created.") % {"name": workspace.name})
            return redirect("messaging_analytics:home", workspace_slug=workspace.slug)
    # An invitee who confirmed their address in another browser lands here without the
    # invitation's link (only its hash is stored): say where it is.
    invitations = selectors.invitations_open_for(email=request.user.email)
    return render(request, "accounts/workspace_create.html", {"invitations": invitations})


@workspace_view(Perm.VIEW)
def team(request: WorkspaceRequest) -> HttpResponse:
    workspace = request.workspace
    actor_role = request.membership.role
    can_manage = role_has(actor_role, Perm.TEAM_MANAGE)
    members = list(selectors.team_members(workspace=workspace))
    return render(
        request,
        "accounts/team.html",
        {
            "members": members,
            "invitations": selectors.invitations_open(workspace=workspace),
            "invite_form": InviteForm(),
            # Only what this member may do is offered: an admin is shown no Owner role and no
            # controls on an owner's row (the services refuse them anyway).
            "roles": roles_grantable(actor_role),
            "can_manage": can_manage,
            "manageable": {
                m.pk
                for m in members
                if can_manage
                and m.user_id != request.user.pk
                and role_may_grant(actor_role, m.role)
            },
        },
    )


@require_POST
@workspace_view(Perm.TEAM_MANAGE)
def team_invite(request: WorkspaceRequest) -> HttpResponse:
    workspace = request.workspace
    form = InviteForm(request.POST)
    if form.is_valid():
        try:
            services.invitation_create(
                workspace=workspace,
                actor_membership=request.membership,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                ip=services.client_ip(request),
            )
            messages.success(
                request, _("Invitation sent to %(email)s.") % {"email": form.cleaned_data["email"]}
            )
        except (ValidationError, PermissionDenied) as exc:
            messages.error(request, _error_text(exc))
    else:
        for errors in form.errors.values():
            messages.error(request, " ".join(str(e) for e in errors))
    return redirect("accounts:team", workspace_slug=workspace.slug)


@require_POST
@workspace_view(Perm.TEAM_MANAGE)
def team_change_role(request: WorkspaceRequest, membership_id: int) -> HttpResponse:
    workspace = request.workspace
    membership = selectors.get_membership_for_workspace(
        workspace=workspace, membership_id=membership_id
    )
    form = RoleForm(request.POST)
    if form.is_valid():
        try:
            services.membership_change_role(
                workspace=workspace,
                actor_membership=request.membership,
                membership=membership,
                role=form.cleaned_data["role"],
                ip=services.client_ip(request),
            )
            messages.success(
                request,
                _("%(email)s is now %(role)s.")
                % {"email": membership.user.email, "role": Role(form.cleaned_data["role"]).label},
            )
        except (ValidationError, PermissionDenied) as exc:
            messages.error(request, _error_text(exc))
    return redirect("accounts:team", workspace_slug=workspace.slug)


@require_POST
@workspace_view(Perm.TEAM_MANAGE)
def team_remove(request: WorkspaceRequest, membership_id: int) -> HttpResponse:
    workspace = request.workspace
    membership = selectors.get_membership_for_workspace(
        workspace=workspace, membership_id=membership_id
    )
    try:
        services.membership_remove(
            workspace=workspace,
            actor_membership=request.membership,
            membership=membership,
            ip=services.client_ip(request),
        )
        messages.success(request, _("%(email)s was removed.") % {"email": membership.user.email})
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, _error_text(exc))
    return redirect("accounts:team", workspace_slug=workspace.slug)


@require_POST
@workspace_view(Perm.TEAM_MANAGE)
def team_revoke_invitation(request: WorkspaceRequest, invitation_id: str) -> HttpResponse:
    workspace = request.workspace
    invitation = selectors.get_invitation_for_workspace(
        workspace=workspace, invitation_id=invitation_id
    )
    services.invitation_revoke(
        workspace=workspace,
        actor=request.user,
        invitation=invitation,
        ip=services.client_ip(request),
    )
    messages.success(
        request, _("The invitation of %(email)s was withdrawn.") % {"email": invitation.email}
    )
    return redirect("accounts:team", workspace_slug=workspace.slug)


def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    invitation = services.invitation_find_open(token=token)
    if invitation is None:
        return render(request, "accounts/invitation_invalid.html", status=404)
    if not request.user.is_authenticated:
        return render(
            request,
            "accounts/invitation_signin.html",
            {"invitation": invitation, "next": request.get_full_path()},
        )
    if request.method == "POST":
        try:
            membership = services.invitation_accept(
                token=token,
                user=request.user,
                ip=services.client_ip(request),
            )
        except ValidationError as exc:
            messages.error(request, _error_text(exc))
            return redirect("home")
        messages.success(request, _("You joined %(name)s.") % {"name": membership.workspace.name})
        return redirect("messaging_analytics:home", workspace_slug=membership.workspace.slug)
    return render(request, "accounts/invitation_accept.html", {"invitation": invitation})


def _invitation_of_next(next_url: str | None) -> Invitation | None:
    """The open invitation a sign-up comes from: its page's "Sign up" link (and the sign-in
    page's, when the person went there first) carries ``?next=/invitations/<token>/``."""
    if not next_url:
        return None
    try:
        match = resolve(urlsplit(next_url).path)
    except Resolver404:
        return None
    if match.view_name != "accounts:invitation_accept":
        return None
    return services.invitation_find_open(token=match.kwargs["token"])


class SignupView(allauth_views.SignupView):
    """allauth's sign-up, told about the invitation it comes from (if any): the form then
    asks only what a teammate needs, and the page says which workspace they are joining.
    After the e-mail is verified, ``next`` brings them back to the invitation to accept it."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        self.invitation = _invitation_of_next(get_next_redirect_url(request))
        return super().dispatch(request, *args, **kwargs)

    def get_form_kwargs(self) -> dict[str, Any]:
        return {**super().get_form_kwargs(), "invitation": self.invitation}

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {**super().get_context_data(**kwargs), "invitation": self.invitation}


signup = SignupView.as_view()


@workspace_view(Perm.API_KEYS_MANAGE)
def developers(request: WorkspaceRequest) -> HttpResponse:
    workspace = request.workspace
    new_secret = None
    form = ApiKeyForm()
    if request.method == "POST":
        form = ApiKeyForm(request.POST)
        if form.is_valid():
            try:
                _key, new_secret = services.api_key_create(
                    workspace=workspace,
                    actor=request.user,
                    name=form.cleaned_data["name"],
                    scopes=form.cleaned_data["scopes"],
                    expires_at=form.cleaned_data["expires_at"],
                    ip=services.client_ip(request),
                )
                form = ApiKeyForm()
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
    return render(
        request,
        "accounts/developers.html",
        {
            "keys": selectors.api_keys_of_workspace(workspace=workspace),
            "form": form,
            "new_secret": new_secret,
            "scopes": API_SCOPES,
            "api_docs_url": reverse("api:docs"),
        },
    )


@require_POST
@workspace_view(Perm.API_KEYS_MANAGE)
def api_key_revoke(request: WorkspaceRequest, api_key_id: str) -> HttpResponse:
    workspace = request.workspace
    key = selectors.get_api_key_for_workspace(workspace=workspace, api_key_id=api_key_id)
    services.api_key_revoke(
        workspace=workspace,
        actor=request.user,
        api_key=key,
        ip=services.client_ip(request),
    )
    messages.success(request, _("API key “%(name)s” revoked.") % {"name": key.name})
    return redirect("accounts:developers", workspace_slug=workspace.slug)


@workspace_view(Perm.SETTINGS_MANAGE)
def workspace_settings(request: WorkspaceRequest) -> HttpResponse:
    workspace = request.workspace
    is_owner = request.membership.role == Role.OWNER
    posted = request.POST if request.method == "POST" else None
    # Two forms on the page: the workspace's settings, and (owners only) message retention.
    retention_posted = posted is not None and posted.get("form") == "retention"
    retention_form = (
        MessageRetentionForm(
            posted if retention_posted else None,
            initial={"message_retention_days": workspace.message_text_retention_days},
            current_days=workspace.message_text_retention_days,
        )
        if is_owner
        else None
    )
    if retention_posted:
        if retention_form is None:
            raise PermissionDenied
        if retention_form.is_valid():
            try:
                services.workspace_set_message_retention(
                    workspace=workspace,
                    actor_membership=request.membership,
                    days=retention_form.cleaned_data["message_retention_days"],
                    ip=services.client_ip(request),
                )
            except ValidationError as exc:
                retention_form.add_error(None, exc)
            else:
                messages.success(
                    request,
                    _("Message texts are now kept %(days)d days.")
                    % {"days": retention_form.cleaned_data["message_retention_days"]},
                )
                return redirect("accounts:settings", workspace_slug=workspace.slug)
    initial: dict[str, Any] = {
        "name": workspace.name,
        "slug": workspace.slug,
        "time_zone": workspace.time_zone,
        "default_country": workspace.default_country,
        "contact_language": workspace.contact_language,
        "opt_out_confirmation": workspace.opt_out_confirmation,
    }
    form = WorkspaceSettingsForm(None if retention_posted else posted, initial=initial)
    if posted is not None and not retention_posted and form.is_valid():
        data = dict(form.cleaned_data)
        slug = data.pop("slug") or workspace.slug
        data["contact_language"] = data["contact_language"] or None
        ip = services.client_ip(request)
        try:
            workspace = services.workspace_change_slug(
                workspace=workspace, actor=request.user, slug=slug, ip=ip
            )
        except ValidationError as exc:
            form.add_error("slug", exc.message_dict["slug"])
        else:
            services.workspace_update_settings(
                workspace=workspace, actor=request.user, ip=ip, **data
            )
            request.session["last_workspace"] = workspace.slug
            messages.success(request, _("Settings saved."))
            return redirect("accounts:settings", workspace_slug=workspace.slug)
    return render(
        request, "accounts/settings.html", {"form": form, "retention_form": retention_form}
    )


@workspace_view(Perm.ACTIVITY_VIEW)
def activity(request: WorkspaceRequest) -> HttpResponse:
    workspace = request.workspace
    action = request.GET.get("action", "")
    events = selectors.audit_events_of_workspace(workspace=workspace, action_prefix=action)
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    rows = audit_sentences(workspace=workspace, events=page.object_list)
    return render(request, "accounts/activity.html", {"page": page, "rows": rows, "action": action})


@workspace_view(Perm.VIEW)
def notifications(request: WorkspaceRequest) -> HttpResponse:
    workspace = request.workspace
    if request.method == "POST":
        services.notification_mark_read(user=request.user, workspace=workspace)
        return redirect("accounts:notifications", workspace_slug=workspace.slug)
    items = selectors.notifications_recent(user=request.user, workspace=workspace, limit=100)
    return render(request, "accounts/notifications.html", {"items": items})


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    user = request.user
    form = ProfileForm(
        request.POST or None,
        initial={
            "first_name": user.first_name,  # type: ignore[union-attr]
            "last_name": user.last_name,  # type: ignore[union-attr]
            "company_name": user.company_name,  # type: ignore[union-attr]
            "phone": user.phone,  # type: ignore[union-attr]
            "language": user.language,  # type: ignore[union-attr]
        },
    )
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        language = data.pop("language")
        services.user_update_profile(user=user, **data)  # type: ignore[arg-type]
        services.user_set_language(user=user, language=language)  # type: ignore[arg-type]
        if language:
            translation.activate(language)
        messages.success(request, _("Profile saved."))
        return redirect("accounts:profile")
    return render(request, "accounts/profile.html", {"form": form})


# --- sessions and devices, "this wasn't me" ----------------------------------------------


@login_required
@require_GET
def sessions(request: AuthenticatedRequest) -> HttpResponse:
    """The user's signed-in sessions: device, browser, IP, signed in at, last seen; the
    current one marked. (No place: we run no geolocation database and call no outside
    service for it.)"""
    return render(
        request,
        "accounts/sessions.html",
        {
            "sessions": selectors.user_sessions_active(user=request.user),
            "current_key": request.session.session_key,
        },
    )


@login_required
@require_POST
def session_sign_out(request: AuthenticatedRequest, session_id: str) -> HttpResponse:
    session = selectors.get_user_session_of_user(user=request.user, session_id=session_id)
    if session.session_key == request.session.session_key:
        logout(request)
        return redirect("account_login")
    services.user_session_sign_out(
        user=request.user, session=session, ip=services.client_ip(request)
    )
    messages.success(
        request,
        _("Signed out %(browser)s on %(os)s.")
        % {"browser": session.browser or _("unknown browser"), "os": session.os or "?"},
    )
    return redirect("accounts:sessions")


@login_required
@require_POST
def sessions_sign_out_others(request: AuthenticatedRequest) -> HttpResponse:
    count = services.user_sessions_sign_out_others(
        user=request.user,
        current_session_key=str(request.session.session_key),
        ip=services.client_ip(request),
    )
    messages.success(
        request,
        ngettext(
            "Signed out %(count)d other session.", "Signed out %(count)d other sessions.", count
        )
        % {"count": count},
    )
    return redirect("accounts:sessions")


def _not_me_done(request: HttpRequest, user: User) -> HttpResponse:
    if request.user.is_authenticated and request.user.pk == user.pk:
        logout(request)  # its session is already gone from the store; start a clean one
    return render(request, "accounts/security_not_me.html", {"done": True, "email": user.email})


@login_required
@require_POST
def session_not_me(request: AuthenticatedRequest, session_id: str) -> HttpResponse:
    """ "This wasn't me" from the page, about one session's sign-in."""
    session = selectors.get_user_session_of_user(user=request.user, session_id=session_id)
    user = request.user
    services.security_report_open(
        user=user,
        login_event=session.login_event,
        source=SecurityReport.Source.PAGE,
        ip=services.client_ip(request),
        request=request,
    )
    return _not_me_done(request, user)


@require_http_methods(["GET", "POST"])
def security_not_me(request: HttpRequest, token: str) -> HttpResponse:
    """ "This wasn't me" from the new-device e-mail: GET asks (mail scanners open links), POST
    acts. The signed, expiring token is the credential; no sign-in needed."""
    found = services.not_me_token_read(token)
    if found is None:
        return render(request, "accounts/security_not_me.html", {"invalid": True}, status=404)
    user, login_event = found
    if request.method == "POST":
        services.security_report_open(
            user=user,
            login_event=login_event,
            source=SecurityReport.Source.EMAIL,
            ip=services.client_ip(request),
            request=request,
        )
        return _not_me_done(request, user)
    return render(
        request, "accounts/security_not_me.html", {"login_event": login_event, "token": token}
    )
