"""Keeps the user's session record (Sessions and devices) current: "last seen" at most once a
minute per session (the time of the last write is kept in the session itself, so the other
requests cost no query), and the long-lived device cookie a sign-in handed out."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from accounts import services
from accounts.models import User


class UserSessionMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if isinstance(user, User) and user.is_authenticated and hasattr(request, "session"):
            seen = request.session.get(services.SESSION_SEEN_KEY)
            if not isinstance(seen, int | float) or (
                time.time() - seen >= services.SESSION_SEEN_INTERVAL
            ):
                services.user_session_touch(request=request, user=user)
        response = self.get_response(request)
        device_id = getattr(request, services.NEW_DEVICE_ATTR, None)
        if device_id:
            response.set_signed_cookie(
                services.DEVICE_COOKIE,
                device_id,
                salt=services.DEVICE_COOKIE_SALT,
                max_age=services.DEVICE_COOKIE_AGE,
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                samesite="Lax",
            )
        return response
