"""Login events for every sign-in success and failure (Django's auth signals, which
django-allauth's login goes through), and the user's session record (Sessions and devices)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from accounts.models import User
from accounts.services import login_event_record, user_session_forget, user_session_start


@receiver(user_logged_in)
def _on_login(sender: Any, request: Any, user: User, **kwargs: Any) -> None:
    event = login_event_record(request=request, user=user, email=user.email, success=True)
    if request is not None and hasattr(request, "session"):
        user_session_start(request=request, user=user, login_event=event)


@receiver(user_logged_out)
def _on_logout(sender: Any, request: Any, user: User | None = None, **kwargs: Any) -> None:
    session = getattr(request, "session", None)
    user_session_forget(session_key=session.session_key if session is not None else None)


@receiver(user_login_failed)
def _on_login_failed(
    sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any
) -> None:
    email = str(credentials.get("email") or credentials.get("username") or "")
    user = User.objects.filter(email__iexact=email).first() if email else None
    login_event_record(request=request, user=user, email=email, success=False)
