"""The CSP (`script-src 'self'`) blocks inline JavaScript, so a template that relies on it
silently loses the behaviour (a "Delete" that no longer asks). Scan every template of the
project for inline event handlers, `javascript:` URLs, htmx's `hx-on` (evaluated code) and
inline `<script>` blocks; confirmations use `data-confirm` (static/js/confirm.js)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(settings.BASE_DIR)

INLINE_HANDLER = re.compile(r"""<[^>]*?[\s"'](on[a-z]+)\s*=""", re.IGNORECASE)
HX_ON = re.compile(r"""[\s"']hx-on(?::|-|\w)*\s*=""", re.IGNORECASE)
JAVASCRIPT_URL = re.compile(r"javascript\s*:", re.IGNORECASE)
SCRIPT_TAG = re.compile(r"<script\b([^>]*)>", re.IGNORECASE)


def _template_files() -> list[Path]:
    dirs = [Path(d) for engine in settings.TEMPLATES for d in engine.get("DIRS", [])]
    dirs += [p for p in ROOT.glob("*/templates") if ".venv" not in p.parts]
    files = {f for d in dirs if d.exists() for f in d.rglob("*") if f.suffix in {".html", ".txt"}}
    return sorted(files)


def _problems(text: str) -> list[str]:
    found = [f"inline handler {m.group(1)}=" for m in INLINE_HANDLER.finditer(text)]
    found += ["hx-on (inline code)" for _m in HX_ON.finditer(text)]
    found += ["javascript: URL" for _m in JAVASCRIPT_URL.finditer(text)]
    for m in SCRIPT_TAG.finditer(text):
        attrs = m.group(1)
        if "src=" not in attrs and "application/json" not in attrs:
            found.append("inline <script> block")
    return found


def test_the_scan_finds_what_the_csp_blocks() -> None:
    assert _problems("""<form onsubmit="return confirm('x')">""") == ["inline handler onsubmit="]
    assert _problems("<a href='#' onclick='go()'>") == ["inline handler onclick="]
    assert _problems('<a href="javascript:void(0)">') == ["javascript: URL"]
    assert _problems('<button hx-on:click="alert(1)">') == ["hx-on (inline code)"]
    assert _problems("<script>alert(1)</script>") == ["inline <script> block"]
    assert _problems('<script src="/static/js/confirm.js" defer></script>') == []
    assert _problems('<script type="application/json" id="d">{}</script>') == []
    assert _problems('<form data-confirm="Delete?"><button>Go on</button>') == []


def test_the_scan_covers_the_templates() -> None:
    names = {f.relative_to(ROOT).as_posix() for f in _template_files()}
    assert "templates/base.html" in names
    assert "templates/messaging/contact_detail.html" in names
    assert len(names) > 100


@pytest.mark.parametrize("path", _template_files(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_inline_javascript_in_templates(path: Path) -> None:
    assert _problems(path.read_text(encoding="utf-8")) == []


def test_confirmations_are_handled_by_a_static_script() -> None:
    base = (ROOT / "templates" / "base.html").read_text(encoding="utf-8")
    assert re.search(r"""<script src="\{% static 'js/confirm.js' %\}" defer></script>""", base)
    script = (ROOT / "static" / "js" / "confirm.js").read_text(encoding="utf-8")
    assert "data-confirm" in script
    contact = (ROOT / "templates" / "messaging" / "contact_detail.html").read_text("utf-8")
    assert "data-confirm=" in contact
