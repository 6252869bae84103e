from __future__ import annotations

import markdown
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.safestring import mark_safe

from .selectors import policy_current, policy_history


def _render_markdown(text: str) -> str:
    # Policy bodies are written by staff in admin; raw HTML in them is escaped.
    return markdown.markdown(text.replace("<", "&lt;"), extensions=["tables", "sane_lists"])


def policy_page(request: HttpRequest, *, kind: str) -> HttpResponse:
    document = policy_current(kind=kind)
    if document is None:
        raise Http404
    return render(
        request,
        "privacy/policy.html",
        {
            "document": document,
            "body_html": mark_safe(_render_markdown(document.body)),  # noqa: S308 - escaped above
            "history": policy_history(kind=kind),
        },
    )
