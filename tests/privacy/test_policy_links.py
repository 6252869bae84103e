"""Issue 17, "Also": policy Markdown renders only http(s), mailto and relative links; a
`javascript:` (or data:, vbscript:) link loses its target."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from privacy.markdown_render import render_policy_markdown
from privacy.models import PolicyDocument

BODY = """# Terms

[run](javascript:alert(1)) [tab](java\tscript:alert(2)) [entity](&#106;avascript:alert(3))
[data](data:text/html;base64,PHNjcmlwdD4=) [vb](VBScript:msgbox) ![img](javascript:alert(4))
[site](https://isend.az/help) [mail](mailto:dpo@isend.az) [here](/privacy/) [top](#top)
"""


SAFE = ["https://isend.az/help", "mailto:dpo@isend.az", "/privacy/", "#top"]
_TARGETS = re.compile(r'(?:href|src)="([^"]*)"')


def test_only_safe_link_targets_survive() -> None:
    html = render_policy_markdown(BODY)

    assert _TARGETS.findall(html) == SAFE
    assert ">run</a>" in html  # the link text stays, without a target


@pytest.mark.django_db
def test_the_policy_page_carries_no_script_link() -> None:
    PolicyDocument.objects.create(
        kind="terms",
        version="9.0",
        title="Terms v9",
        body=BODY,
        published_at=timezone.now() - timedelta(days=1),
        effective_at=timezone.now() - timedelta(seconds=1),
    )

    page = Client().get(reverse("privacy:terms")).content.decode()

    targets = [unescape(t).lower().replace("\t", "") for t in _TARGETS.findall(page)]
    assert "https://isend.az/help" in targets
    assert not [t for t in targets if t.startswith(("javascript:", "data:", "vbscript:"))]
