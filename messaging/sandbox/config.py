"""The sandbox's behaviour knobs: settable by CLI flags at start and by ``POST /_sandbox/config``.

One flat dataclass so the CLI, the control endpoint and the page all show the same names. Every
value is validated on update; an unknown key or a bad value is an error, never silently ignored.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


class ConfigError(ValueError):
    """A config update named an unknown key or carried an invalid value."""


@dataclass(frozen=True, slots=True)
class SandboxConfig:
    """Faults, limits and timings of the simulated WhatsApp service (seconds unless noted)."""

    #: Seed for the one random generator (``None``: seeded from the OS). Tests set it.
    seed: int | None = None
    #: The ``X-Api-Key`` the WAHA-compatible endpoints require.
    web_api_key: str = "sandbox"
    #: Throughput for numbers registered without one (Meta's default: 80 messages/s).
    default_throughput_per_second: int = 80
    #: Pair rate limit (131056): a token bucket per (number, recipient) of ``pair_burst``
    #: messages, refilled one per ``pair_interval_seconds`` (Meta: 45 burst, 1 per 6 s).
    pair_burst: int = 45
    pair_interval_seconds: float = 6.0
    #: Recipients matching this regex (on their digits) are "not on WhatsApp" (131026).
    not_on_whatsapp_pattern: str = r"0000$"
    #: Delays from acceptance to each status webhook.
    sent_delay: float = 0.2
    delivered_delay: float = 0.6
    read_delay: float = 1.5
    #: Share of delivered messages that are also read.
    read_ratio: float = 0.6
    #: Share of accepted messages that fail asynchronously with ``failure_code``.
    failure_ratio: float = 0.0
    failure_code: int = 131049
    #: Share of sends answered with HTTP 500 / code 131000 (not accepted).
    error_5xx_ratio: float = 0.0
    #: Added latency on every send.
    latency_seconds: float = 0.0
    #: Share of sends held ``timeout_hold_seconds`` before answering. They ARE accepted (and
    #: get webhooks): after a client timeout the message may really have gone out.
    timeout_ratio: float = 0.0
    timeout_hold_seconds: float = 30.0
    #: Share of webhook POSTs delivered twice (Meta delivers at least once).
    duplicate_webhook_ratio: float = 0.0
    #: Share of messages whose statuses are emitted out of order (and of batches shuffled).
    out_of_order_ratio: float = 0.0
    #: Ban a number after this many accepted messages (0: never).
    ban_after: int = 0
    #: Webhook batching: at most this many statuses per POST, flushed every interval.
    webhook_batch_size: int = 100
    webhook_batch_interval: float = 0.05
    #: Webhook retries on non-2xx: attempts in all, first retry at once, then doubling delays.
    webhook_max_attempts: int = 5
    webhook_retry_base_seconds: float = 0.5
    webhook_timeout_seconds: float = 5.0
    #: Benchmarks: remember when each status webhook was first posted (``wamid:status`` ->
    #: epoch seconds, read at ``GET /_sandbox/webhook-times``), for at most this many statuses.
    record_webhook_times: int = 0
    #: Templates created through ``POST /{waba_id}/message_templates`` stay PENDING this long,
    #: then the automatic review approves or rejects them (0: manual only, from the page or
    #: ``POST /_sandbox/templates/{id}/status``). Meta: "Review can take up to 24 hours".
    template_review_seconds: float = 0.0
    #: A paused template is reinstated by itself after this long the first time and twice as
    #: long the second time; a third pause disables it (Meta's template pausing: 3 h, 6 h,
    #: disabled; research §1.5). 0: paused until reinstated by hand.
    template_pause_seconds: float = 10800.0
    #: The customer-service window (research §1.5): free-form messages to a customer who has
    #: not written within it fail with 131047 (numbers registered with ``"rules": "meta"``).
    customer_service_window_seconds: float = 86400.0
    #: Uploaded media ids expire (Meta ``media``: "Media IDs returned by the API expire after
    #: 30 days").
    media_ttl_seconds: float = 2592000.0
    #: A deleted approved template's name+language cannot be created again for this long
    #: ("Once deleted, the name of the approved template cannot be reused for 30 days").
    deleted_template_block_seconds: float = 2592000.0

    def updated(self, changes: Mapping[str, Any]) -> SandboxConfig:
        """A copy with ``changes`` applied (partial update), validated."""
        known = {f.name: f for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - set(known))
        if unknown:
            raise ConfigError(f"unknown config keys: {', '.join(unknown)}")
        values = {name: _coerce(name, known[name].type, value) for name, value in changes.items()}
        candidate = dataclasses.replace(self, **values)
        candidate.validate()
        return candidate

    def validate(self) -> None:
        for name in (
            "read_ratio",
            "failure_ratio",
            "error_5xx_ratio",
            "timeout_ratio",
            "duplicate_webhook_ratio",
            "out_of_order_ratio",
        ):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(f"{name} must be between 0 and 1")
        for name in ("default_throughput_per_second", "pair_burst", "webhook_batch_size"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1")
        if self.webhook_max_attempts < 1 or self.ban_after < 0:
            raise ConfigError("webhook_max_attempts must be >= 1 and ban_after >= 0")
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, float) and value < 0:
                raise ConfigError(f"{f.name} must not be negative")
        if self.pair_interval_seconds <= 0 or self.webhook_batch_interval <= 0:
            raise ConfigError("pair_interval_seconds and webhook_batch_interval must be > 0")
        try:
            re.compile(self.not_on_whatsapp_pattern)
        except re.error as exc:
            raise ConfigError(f"not_on_whatsapp_pattern is not a regex: {exc}") from exc

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _coerce(name: str, annotation: Any, value: Any) -> Any:
    """Accept JSON/CLI values of the field's type (ints for floats too); reject the rest."""
    kind = str(annotation)
    if kind == "int | None":
        if value is None:
            return None
        kind = "int"
    if isinstance(value, bool):
        raise ConfigError(f"{name} must be a number or string, not a boolean")
    try:
        if kind == "int":
            if isinstance(value, float) and not value.is_integer():
                raise ConfigError(f"{name} must be an integer")
            return int(value)
        if kind == "float":
            return float(value)
        if kind == "str":
            if not isinstance(value, str):
                raise ConfigError(f"{name} must be a string")
            return value
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{name}: {exc}") from exc
    raise ConfigError(f"{name} cannot be set")


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    """One ``--kebab-case`` flag per config field (values are validated by :func:`from_args`)."""
    group = parser.add_argument_group("behaviour (also settable at runtime: POST /_sandbox/config)")
    for f in dataclasses.fields(SandboxConfig):
        flag = "--" + f.name.replace("_", "-")
        group.add_argument(flag, dest=f"config_{f.name}", default=None, metavar="VALUE")


def config_from_args(namespace: argparse.Namespace) -> SandboxConfig:
    changes = {
        f.name: getattr(namespace, f"config_{f.name}")
        for f in dataclasses.fields(SandboxConfig)
        if getattr(namespace, f"config_{f.name}", None) is not None
    }
    return SandboxConfig().updated(changes)


def parse_cli(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m messaging.sandbox",
        description="iSend's WhatsApp simulator (Cloud API dialect + WAHA subset).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default loopback)")
    parser.add_argument("--port", type=int, default=9100)
    parser.add_argument("--log-level", default="INFO")
    add_config_arguments(parser)
    return parser.parse_args(argv)
