"""Render an e-mail from templates/email/<name>_subject.txt, .txt and .html, and send it.

Each recipient reads it in their own language (issue 19): an address that belongs to a user
gets the user's language; any other address (an invitee without an account yet) gets
``language``, the language of whoever caused the e-mail (the page they were on). Recipients
are grouped by language: one message per language, rendered inside
``translation.override``, so subjects, bodies, dates and numbers all follow it."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import translation

from accounts.language import supported_language
from accounts.models import User


def recipients_by_language(*, to: list[str], language: str = "") -> dict[str, list[str]]:
    """The addresses grouped by the language each one reads, in the order given."""
    fallback = supported_language(language) or settings.LANGUAGE_CODE
    chosen = {
        email.lower(): code
        for email, code in User.objects.filter(email__in=[a.lower() for a in to])
        .exclude(language="")
        .values_list("email", "language")
    }
    groups: dict[str, list[str]] = {}
    for address in to:
        code = supported_language(chosen.get(address.lower())) or fallback
        groups.setdefault(code, []).append(address)
    return groups


def email_render_and_send(
    *, to: list[str], template: str, context: dict[str, Any], language: str = ""
) -> None:
    ctx = {"site_url": settings.SITE_URL, "support_email": settings.SUPPORT_EMAIL, **context}
    for code, addresses in recipients_by_language(to=to, language=language).items():
        with translation.override(code):
            subject = render_to_string(f"email/{template}_subject.txt", ctx).strip()
            text = render_to_string(f"email/{template}.txt", ctx)
            html = render_to_string(f"email/{template}.html", ctx)
        message = EmailMultiAlternatives(
            subject=settings.ACCOUNT_EMAIL_SUBJECT_PREFIX + subject, body=text, to=addresses
        )
        message.extra_headers["Content-Language"] = code
        message.attach_alternative(html, "text/html")
        message.send()
