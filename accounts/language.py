"""Which language a person reads: the signed-in user's choice, the visitor's browser, the
recipient of an e-mail, a workspace's contacts.

Order of precedence for a page (issue 19): the user's profile setting once they chose one, else
the language cookie (set by the switcher for anonymous visitors), else the browser's
Accept-Language (Django's LocaleMiddleware), else ``settings.LANGUAGE_CODE``. URLs carry no
language prefix: one address per page, whatever language it is read in.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation


def supported_language(code: str | None) -> str | None:
    """The site language for a code such as "ru", "ru-RU" or "az_AZ", or None when the site
    does not speak it."""
    if not code:
        return None
    code = code.replace("_", "-").lower()
    try:
        return translation.get_supported_language_variant(code)
    except LookupError:
        return None


def user_language(user: object | None) -> str:
    """The language of pages and e-mails for this user: their choice, else the default."""
    chosen = getattr(user, "language", "") if user is not None else ""
    return supported_language(chosen) or settings.LANGUAGE_CODE


def contact_language(*, contact_language: str, workspace_language: str) -> str:
    """The language the product writes to a contact in: the contact's own (when the site
    speaks it), else the workspace's default for its contacts, else the site's default."""
    return (
        supported_language(contact_language)
        or supported_language(workspace_language)
        or settings.LANGUAGE_CODE
    )


class UserLanguageMiddleware:
    """After authentication: a signed-in user's profile language wins over the cookie and the
    browser (LocaleMiddleware has already chosen those). It sits after
    AuthenticationMiddleware; LocaleMiddleware's response half then reads
    ``request.LANGUAGE_CODE`` for the Content-Language header."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        chosen = (
            supported_language(getattr(user, "language", ""))
            if user is not None and user.is_authenticated
            else None
        )
        if chosen:
            translation.activate(chosen)
            request.LANGUAGE_CODE = chosen
        return self.get_response(request)
