"""WhatsApp template fixtures: the sandbox over HTTP and sandbox numbers (Cloud API dialect)
connected the product's way."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import override_settings

from messaging.content.signals import whatsapp_template_status_changed
from messaging.numbers import services as senders
from messaging.numbers.models import Sender

from ..conftest import SandboxClient


@pytest.fixture
def tpl_sandbox(sandbox: SandboxClient) -> Iterator[SandboxClient]:
    with override_settings(SANDBOX_GATEWAY_URL=sandbox.base_url):
        yield sandbox


@pytest.fixture
def connect_number(owner, tpl_sandbox) -> Callable[..., Sender]:
    def make(workspace: Any = None) -> Sender:
        target = workspace or owner.memberships.get().workspace
        actor = owner if workspace is None else target.memberships.first().user
        return senders.sender_connect_sandbox(workspace=target, actor=actor)

    return make


@pytest.fixture
def status_changes() -> Iterator[list[tuple[str, str, str, str]]]:
    """Every whatsapp_template_status_changed sent during the test: (name, old, new, reason)."""
    seen: list[tuple[str, str, str, str]] = []

    def receiver(sender: Any, template: Any, old_status: str, new_status: str, **kw: Any) -> None:
        seen.append((template.name, old_status, new_status, kw.get("reason", "")))

    whatsapp_template_status_changed.connect(receiver, weak=False)
    yield seen
    whatsapp_template_status_changed.disconnect(receiver)


def sandbox_template(
    sandbox: SandboxClient, waba_id: str, name: str, *, language: str = "en", **fields: Any
) -> dict[str, Any]:
    """Register a template at the sandbox directly (as if made in Meta's own tools)."""
    payload = {
        "waba_id": waba_id,
        "name": name,
        "language": language,
        "category": "MARKETING",
        "components": [
            {
                "type": "BODY",
                "text": "Salam {{1}}, the spring sale starts today!",
                "example": {"body_text": [["Aysel"]]},
            }
        ],
        **fields,
    }
    answer = sandbox.call("POST", "/_sandbox/templates", payload)
    assert answer.status == 201, answer.raw
    return answer.body
