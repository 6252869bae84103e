"""Policy Markdown to HTML, safely: raw HTML is escaped, and only http(s), mailto and
relative links survive (issue 17: a `javascript:` link rendered; the CSP blocked it, but a
page must not carry one at all). Staff write these documents in admin."""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET  # noqa: S405 - builds no tree from input, walks Markdown's
from urllib.parse import urlsplit

import markdown
from markdown.extensions import Extension
from markdown.treeprocessors import Treeprocessor

SAFE_SCHEMES = frozenset({"http", "https", "mailto"})
_INVISIBLE = re.compile(r"[\x00-\x20\x7f-\x9f\u200b-\u200f\u2028\u2029\ufeff]+")


def url_is_safe(url: str) -> bool:
    """http(s), mailto or relative; anything else (javascript:, data:, vbscript:) is not.
    Browsers ignore tabs, newlines and entities inside a scheme, so they are removed first."""
    cleaned = _INVISIBLE.sub("", html.unescape(url))
    scheme = urlsplit(cleaned).scheme.lower() if ":" in cleaned else ""
    if not scheme:
        # "java script:" style tricks leave a colon before any slash: treat as a scheme.
        head = cleaned.split("/", 1)[0]
        return ":" not in head
    return scheme in SAFE_SCHEMES


class _SafeLinks(Treeprocessor):
    def run(self, root: ET.Element) -> None:
        for element in root.iter():
            for attribute in ("href", "src"):
                value = element.get(attribute)
                if value is not None and not url_is_safe(value):
                    del element.attrib[attribute]


class SafeLinksExtension(Extension):
    def extendMarkdown(self, md: markdown.Markdown) -> None:  # noqa: N802 - Markdown's name
        # After inline patterns (priority 20) so links and images exist.
        md.treeprocessors.register(_SafeLinks(md), "isend_safe_links", 0)


def render_policy_markdown(text: str) -> str:
    """HTML for a policy body; raw HTML is shown as text, unsafe links lose their target."""
    return markdown.markdown(
        text.replace("<", "&lt;"), extensions=["tables", "sane_lists", SafeLinksExtension()]
    )
