"""The sandbox's one HTML page: numbers (quality, tier, "reply as this customer"), the latest
messages the numbers sent to customers (what their phones show), templates (approve, reject,
pause, disable, reinstate, category, quality) and WhatsApp-Web sessions.

Plain forms posting to the control endpoints, which answer a form post with a redirect back
here; no JavaScript at all (the product's CSP rule, and nothing here needs it).
"""

from __future__ import annotations

from html import escape
from itertools import islice
from typing import TYPE_CHECKING, Any

from messaging.sandbox.state import QUALITY_RATINGS, THROUGHPUT_LEVELS, TIERS, Number
from messaging.sandbox.templates import CATEGORIES, QUALITY_SCORES, REJECTION_REASONS, Template

if TYPE_CHECKING:
    from messaging.sandbox.server import Sandbox

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#1f2933}
table{border-collapse:collapse;margin-bottom:2rem}
td,th{border:1px solid #cbd2d9;padding:.4rem .7rem;text-align:left;vertical-align:top}
th{background:#f5f7fa} .banned{color:#b91c1c;font-weight:600} img{width:180px;height:180px}
form{margin:.2rem 0} form.inline{display:inline-block;margin-right:.3rem}
.status-APPROVED{color:#047857;font-weight:600} .status-REJECTED,.status-DISABLED{color:#b91c1c}
.status-PAUSED,.status-PENDING{color:#b45309;font-weight:600} pre{margin:0;white-space:pre-wrap}
"""


def _options(values: tuple[str, ...] | list[str], selected: str) -> str:
    return "".join(
        f'<option value="{escape(v)}"{" selected" if v == selected else ""}>{escape(v)}</option>'
        for v in values
    )


def _select(name: str, values: tuple[str, ...] | list[str], selected: str, label: str) -> str:
    return (
        f'<label>{escape(label)} <select name="{escape(name)}">'
        f"{_options(values, selected)}</select></label>"
    )


def _number_row(number: Number) -> str:
    pid = escape(number.phone_number_id)
    levels = list(THROUGHPUT_LEVELS)
    health = (
        f'<form method="post" action="/_sandbox/numbers/{pid}/health">'
        f"{_select('quality_rating', QUALITY_RATINGS, number.quality_rating, 'quality')} "
        f"{_select('messaging_limit_tier', TIERS, number.messaging_limit_tier, 'tier')} "
        f"{_select('throughput_level', levels, number.throughput_level, 'throughput')} "
        '<button type="submit">Apply</button></form>'
    )
    reply = (
        '<form method="post" action="/_sandbox/inbound">'
        f'<input type="hidden" name="phone_number_id" value="{pid}">'
        '<label>customer <input name="from" required placeholder="994501234567" size="14">'
        "</label> "
        '<label>name <input name="name" placeholder="Aysel" size="8"></label> '
        '<label>message <input name="text" required placeholder="Salam!" size="18"></label> '
        '<button type="submit">Reply as this customer</button></form>'
    )
    state = '<span class="banned">banned</span>' if number.banned else "active"
    return (
        f"<tr><td>{pid}<br>WABA {escape(number.waba_id)}</td>"
        f"<td>{escape(number.display_phone_number)}</td>"
        f"<td>{escape(number.callback_url or '(none)')}</td>"
        f"<td>{number.throughput_per_second}/s</td><td>{number.stats.accepted}</td>"
        f"<td>{state}<br>rules: {escape(number.rules)}</td>"
        f"<td>{health}</td><td>{reply}</td></tr>"
    )


def _message_summary(entry: dict[str, Any]) -> str:
    """What the customer's phone would show for one accepted request."""
    kind = str(entry.get("type", ""))
    body = entry.get(kind)
    if not isinstance(body, dict):
        return kind
    if kind == "text":
        return str(body.get("body", ""))
    if kind == "template":
        return f"template {body.get('name', '')}"
    if kind == "interactive":
        return str((body.get("body") or {}).get("text", ""))
    return str(body.get("caption") or body.get("filename") or body.get("link") or kind)


def _message_rows(numbers: list[Number], *, latest: int = 20) -> str:
    """The newest requests the numbers accepted, newest first: the customers' side."""
    entries = [
        (number, entry) for number in numbers for entry in islice(reversed(number.log), latest)
    ]
    entries.sort(key=lambda pair: float(pair[1].get("at") or 0), reverse=True)
    return (
        "".join(
            f"<tr><td>{escape(number.phone_number_id)}</td>"
            f"<td>{escape(str(entry.get('to', '')))}</td>"
            f"<td>{escape(str(entry.get('type', '')))}</td>"
            f"<td>{escape(_message_summary(entry))}</td></tr>"
            for number, entry in entries[:latest]
        )
        or '<tr><td colspan="4">Nothing sent yet.</td></tr>'
    )


def _template_row(template: Template) -> str:
    tid = escape(template.id)
    action = f"/_sandbox/templates/{tid}/status"

    key = escape(f"{template.name}-{template.language}")

    def button(status: str, label: str) -> str:
        # data-testid: template-<status>-<name>-<language>, for browser tests.
        return (
            f'<form class="inline" method="post" action="{action}">'
            f'<input type="hidden" name="status" value="{status}">'
            f'<button type="submit" data-testid="template-{status.lower()}-{key}">'
            f"{escape(label)}</button></form>"
        )

    reject = (
        f'<form class="inline" method="post" action="{action}">'
        '<input type="hidden" name="status" value="REJECTED">'
        f"{_select('reason', REJECTION_REASONS, 'INVALID_FORMAT', 'reason')} "
        f'<button type="submit" data-testid="template-rejected-{key}">Reject</button></form>'
    )
    actions = {
        "PENDING": [button("APPROVED", "Approve"), reject],
        "APPROVED": [button("PAUSED", "Pause"), button("DISABLED", "Disable")],
        "REJECTED": [button("APPROVED", "Approve")],
        "PAUSED": [button("REINSTATED", "Reinstate"), button("DISABLED", "Disable")],
        "DISABLED": [button("REINSTATED", "Reinstate")],
    }[template.status]
    category = (
        f'<form method="post" action="/_sandbox/templates/{tid}/category">'
        f"{_select('category', CATEGORIES, template.category, 'category')} "
        '<button type="submit">Recategorise</button></form>'
    )
    quality = (
        f'<form method="post" action="/_sandbox/templates/{tid}/quality">'
        f"{_select('quality_score', QUALITY_SCORES, template.quality_score, 'quality')} "
        '<button type="submit">Set quality</button></form>'
    )
    body = next((c.get("text", "") for c in template.components if c["type"] == "BODY"), "")
    header = next((c for c in template.components if c["type"] == "HEADER"), None)
    reason = "" if template.status != "REJECTED" else f"<br>{escape(template.rejected_reason)}"
    return (
        f"<tr><td>{escape(template.name)}<br><small>id {tid}</small></td>"
        f"<td>{escape(template.language)}</td><td>{escape(template.waba_id)}</td>"
        f'<td class="status-{escape(template.status)}">{escape(template.status)}{reason}</td>'
        f"<td>{escape(str(header['format'])) if header else ''}</td>"
        f"<td><pre>{escape(str(body))}</pre></td><td>{template.sent}</td>"
        f"<td>{''.join(actions)}{category}{quality}</td></tr>"
    )


def render_index(sandbox: Sandbox) -> str:
    """Numbers, templates and sessions as tables with their controls."""
    number_rows = (
        "".join(_number_row(number) for number in sandbox.state.numbers.values())
        or '<tr><td colspan="8">No numbers registered yet.</td></tr>'
    )
    template_rows = (
        "".join(
            _template_row(template)
            for template in sorted(sandbox.state.templates.values(), key=lambda t: int(t.id))
        )
        or '<tr><td colspan="8">No templates yet.</td></tr>'
    )
    session_rows = (
        "".join(
            _session_row(session.name, session.status, session.me_id)
            for session in sandbox.state.sessions.values()
        )
        or '<tr><td colspan="4">No sessions yet.</td></tr>'
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>iSend WhatsApp sandbox</title>
<link rel="icon" href="data:,">
<style>{_STYLE}</style></head><body>
<h1>iSend WhatsApp sandbox</h1>
<p>A local simulator of the WhatsApp Cloud API and a WhatsApp-Web gateway.
Nothing here reaches WhatsApp. Figures: <a href="/_sandbox/stats">stats</a>,
<a href="/_sandbox/config">config</a>, <a href="/_sandbox/templates">templates (JSON)</a>.</p>
<h2>Cloud API numbers</h2>
<table><tr><th>phone number id</th><th>display number</th><th>webhook URL</th>
<th>throughput</th><th>accepted</th><th>state</th><th>quality and tier</th>
<th>reply as this customer (opens the 24-hour window)</th></tr>{number_rows}</table>
<h2>Latest messages to customers</h2>
<table><tr><th>from (phone number id)</th><th>to</th><th>type</th><th>text</th></tr>
{_message_rows(list(sandbox.state.numbers.values()))}</table>
<h2>Message templates</h2>
<table><tr><th>name</th><th>language</th><th>WABA</th><th>status</th><th>header</th>
<th>body</th><th>sent</th><th>review</th></tr>{template_rows}</table>
<h2>WhatsApp-Web sessions</h2>
<table><tr><th>session</th><th>status</th><th>paired as</th><th>QR code</th></tr>
{session_rows}</table>
</body></html>"""


def _session_row(name: str, status: str, me_id: str | None) -> str:
    pairing = ""
    if status == "SCAN_QR_CODE":
        pairing = (
            f'<img src="/_sandbox/sessions/{escape(name)}/qr.png" alt="QR code for {escape(name)}">'
            f'<form method="post" action="/_sandbox/sessions/{escape(name)}/scan">'
            '<button type="submit">Scan with a phone</button></form>'
        )
    return (
        f"<tr><td>{escape(name)}</td><td>{escape(status)}</td>"
        f"<td>{escape(me_id or '')}</td><td>{pairing}</td></tr>"
    )
