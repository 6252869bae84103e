"""Re-acceptance of policy versions, and the cookie choice exposed to templates."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from privacy.selectors import (
    analytics_allowed,
    policies_in_force_for_acceptance,
    policy_pending_for_user,
)
from privacy.services import COOKIE_NAME

SESSION_KEY = "privacy_accepted_docs"

# Paths a signed-in user can reach before accepting: the acceptance page itself, policy
# pages, sign-out, static files, API (key-authenticated), webhooks and health checks.
EXEMPT_PREFIXES = (
    "/privacy/",
    "/terms/",
    "/cookies/",
    "/subprocessors/",
    "/retention/",
    "/accounts/logout/",
    "/static/",
    "/media/",
    "/api/",
    "/webhooks/",
    "/healthz",
    "/account/privacy/",
)


class PolicyAcceptanceMiddleware:
    """Once a new terms or privacy version is in force that a signed-in user has not
    accepted, every page redirects to the acceptance page. Also sets
    `request.analytics_allowed` from the cookie choice (no analytics script exists today;
    templates must check it before adding one)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        choice = request.COOKIES.get(COOKIE_NAME, "")
        request.cookie_choice = choice  # type: ignore[attr-defined]
        user = getattr(request, "user", None)
        request.analytics_allowed = analytics_allowed(  # type: ignore[attr-defined]
            user=user, cookie_choice=choice
        )
        if self._must_accept(request):
            target = reverse("privacy:accept")
            return redirect(f"{target}?next={request.get_full_path()}")
        return self.get_response(request)

    def _must_accept(self, request: HttpRequest) -> bool:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return False
        path = request.path
        if path.startswith(EXEMPT_PREFIXES) or "/webhooks/" in path:
            return False
        if path.startswith("/admin/") and user.is_staff:
            return False
        in_force = policies_in_force_for_acceptance()
        ids = sorted(doc.pk for doc in in_force)
        # Once the versions in force are known to be accepted, the session remembers it, so
        # a request costs one small query until a new version takes effect.
        if request.session.get(SESSION_KEY) == ids:
            return False
        if policy_pending_for_user(user=user, in_force=in_force):
            return True
        request.session[SESSION_KEY] = ids
        return False
