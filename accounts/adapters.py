from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django import forms
from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest
from django.urls import reverse
from django.utils import translation
from django.utils.translation import ngettext

from accounts import login_throttle
from accounts.emails import recipients_by_language
from accounts.services import client_ip


def _login_email(credentials: dict[str, Any]) -> str:
    return str(credentials.get("email") or credentials.get("username") or "")


class AccountAdapter(DefaultAccountAdapter):
    def get_login_redirect_url(self, request: HttpRequest) -> str:
        return reverse("home")

    # Failed sign-ins slow the (account, IP) pair down (accounts/login_throttle.py), never
    # lock the account for its owner elsewhere (issue 17, F8).

    def pre_authenticate(self, request: HttpRequest, **credentials: Any) -> None:
        wait = login_throttle.wait_seconds(email=_login_email(credentials), ip=client_ip(request))
        if wait:
            raise forms.ValidationError(
                ngettext(
                    "Too many failed login attempts. Try again in %(seconds)d second.",
                    "Too many failed login attempts. Try again in %(seconds)d seconds.",
                    wait,
                )
                % {"seconds": wait},
                code="too_many_login_attempts",
            )
        super().pre_authenticate(request, **credentials)

    def authenticate(self, request: HttpRequest, **credentials: Any) -> AbstractBaseUser | None:
        user = super().authenticate(request, **credentials)
        if user is not None:
            login_throttle.success_record(email=_login_email(credentials), ip=client_ip(request))
        return user

    def authentication_failed(self, request: HttpRequest, **credentials: Any) -> None:
        login_throttle.failure_record(email=_login_email(credentials), ip=client_ip(request))

    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        """allauth's e-mails (address confirmation, password reset, security notices) in the
        recipient's language: the account's when the address has one, else the page's."""
        groups = recipients_by_language(to=[email], language=translation.get_language() or "")
        (language,) = groups
        with translation.override(language):
            super().send_mail(template_prefix, email, context)
