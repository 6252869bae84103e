"""The sandbox's one HTML page: numbers, sessions, and a "scan" button to pair a session offline."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from messaging.sandbox.server import Sandbox

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#1f2933}
table{border-collapse:collapse;margin-bottom:2rem}
td,th{border:1px solid #cbd2d9;padding:.4rem .7rem;text-align:left;vertical-align:top}
th{background:#f5f7fa} .banned{color:#b91c1c;font-weight:600} img{width:180px;height:180px}
"""


def render_index(sandbox: Sandbox) -> str:
    """Numbers and sessions as tables; sessions waiting for a scan show their QR and a button."""
    number_rows = (
        "".join(
            "<tr><td>{id}</td><td>{display}</td><td>{url}</td><td>{tps}/s</td><td>{accepted}</td>"
            "<td>{state}</td></tr>".format(
                id=escape(number.phone_number_id),
                display=escape(number.display_phone_number),
                url=escape(number.callback_url or "(none)"),
                tps=number.throughput_per_second,
                accepted=number.stats.accepted,
                state='<span class="banned">banned</span>' if number.banned else "active",
            )
            for number in sandbox.state.numbers.values()
        )
        or '<tr><td colspan="6">No numbers registered yet.</td></tr>'
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
<style>{_STYLE}</style></head><body>
<h1>iSend WhatsApp sandbox</h1>
<p>A local simulator of the WhatsApp Cloud API and a WhatsApp-Web gateway.
Nothing here reaches WhatsApp. Figures: <a href="/_sandbox/stats">stats</a>,
<a href="/_sandbox/config">config</a>.</p>
<h2>Cloud API numbers</h2>
<table><tr><th>phone number id</th><th>display number</th><th>webhook URL</th>
<th>throughput</th><th>accepted</th><th>state</th></tr>{number_rows}</table>
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
