"""Render an e-mail from templates/email/<name>_subject.txt, .txt and .html, and send it."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import translation


def email_render_and_send(
    *, to: list[str], template: str, context: dict[str, Any], language: str | None = None
) -> None:
    """`language`: render in it (the recipient's), else in the language active here."""
    ctx = {"site_url": settings.SITE_URL, "support_email": settings.SUPPORT_EMAIL, **context}
    with translation.override(language or translation.get_language()):
        subject = render_to_string(f"email/{template}_subject.txt", ctx).strip()
        text = render_to_string(f"email/{template}.txt", ctx)
        html = render_to_string(f"email/{template}.html", ctx)
    message = EmailMultiAlternatives(
        subject=settings.ACCOUNT_EMAIL_SUBJECT_PREFIX + subject, body=text, to=to
    )
    message.attach_alternative(html, "text/html")
    message.send()
