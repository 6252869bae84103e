"""Shared helpers for the sandbox's Meta-rules tests: Graph calls and template payloads."""

from __future__ import annotations

from typing import Any

from ..conftest import HttpAnswer, SandboxClient

PHONE_ID = "2001"
WABA_ID = "WABA-2001"
TOKEN = "sandbox-token"
SECRET = "sandbox-secret"
VERSION = "v23.0"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def register(sandbox: SandboxClient, **fields: Any) -> dict[str, Any]:
    """The test number, in its own WABA."""
    return sandbox.register(PHONE_ID, waba_id=WABA_ID, **fields)


def graph(
    sandbox: SandboxClient,
    method: str,
    path: str,
    payload: Any = None,
    *,
    token: str = TOKEN,
) -> HttpAnswer:
    return sandbox.call(
        method, f"/{VERSION}/{path}", payload, headers={"Authorization": f"Bearer {token}"}
    )


def body_component(text: str, *examples: str) -> dict[str, Any]:
    component: dict[str, Any] = {"type": "BODY", "text": text}
    if examples:
        component["example"] = {"body_text": [list(examples)]}
    return component


def definition(name: str, language: str = "en", **overrides: Any) -> dict[str, Any]:
    """A valid creation payload: one positional body variable with its example."""
    return {
        "name": name,
        "language": language,
        "category": "MARKETING",
        "components": [body_component("Salam {{1}}, our spring sale starts today!", "Aysel")],
        **overrides,
    }


def create(sandbox: SandboxClient, payload: dict[str, Any]) -> HttpAnswer:
    return graph(sandbox, "POST", f"{WABA_ID}/message_templates", payload)


def send_template(
    sandbox: SandboxClient,
    name: str,
    language: str = "en",
    components: list[dict[str, Any]] | None = None,
    *,
    to: str = "994501234567",
) -> HttpAnswer:
    template: dict[str, Any] = {"name": name, "language": {"code": language}}
    if components is not None:
        template["components"] = components
    return graph(
        sandbox,
        "POST",
        f"{PHONE_ID}/messages",
        {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to,
            "type": "template",
            "template": template,
        },
    )


def send_text(sandbox: SandboxClient, to: str, text: str = "Salam!", **extra: Any) -> HttpAnswer:
    return graph(
        sandbox,
        "POST",
        f"{PHONE_ID}/messages",
        {
            "messaging_product": "whatsapp",
            "to": to,
            "type": "text",
            "text": {"body": text},
            **extra,
        },
    )


def text_parameters(*values: str) -> list[dict[str, Any]]:
    return [{"type": "text", "text": value} for value in values]


def control_status(
    sandbox: SandboxClient, template_id: str, status: str, **extra: Any
) -> HttpAnswer:
    return sandbox.call(
        "POST", f"/_sandbox/templates/{template_id}/status", {"status": status, **extra}
    )


def error_code(answer: HttpAnswer) -> int:
    assert isinstance(answer.body, dict), answer.raw
    assert "error" in answer.body, answer.raw
    return int(answer.body["error"]["code"])
