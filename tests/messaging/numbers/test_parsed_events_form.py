"""The events of a stored webhook body, as staff read them in admin, keep one form: each event
a dict of its fields (as `dataclasses.asdict` gives them) with its class name under "type",
enums as their values, times in ISO form."""

from __future__ import annotations

import dataclasses
import enum
import json
from datetime import datetime
from typing import Any

import pytest

from messaging.gateways import cloud_api, web_gateway
from messaging.numbers.services import _plain
from tests.messaging.conftest import PAYLOADS, load_payload


def _reference(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {"type": type(value).__name__, **_untyped(dataclasses.asdict(value))}
    return _untyped(value)


def _untyped(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _untyped(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_reference(v) for v in value]
    return value


@pytest.mark.parametrize(
    "name",
    sorted(p.name for p in PAYLOADS.glob("*.json") if p.name.startswith(("webhook_", "waha_"))),
)
def test_every_recorded_webhooks_events_are_stored_in_the_same_form(name: str) -> None:
    payload = load_payload(name)
    parser = web_gateway.parse_webhook if name.startswith("waha_") else cloud_api.parse_webhook
    parsed = list(parser(payload))
    assert parsed, "the recorded payload parses into events"

    stored = _plain(parsed)

    assert stored == [_reference(event) for event in parsed]
    assert all(isinstance(event, dict) and event["type"] for event in stored)
    json.dumps(stored)  # plain JSON: no enum or datetime left
