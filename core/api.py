"""Helpers the apps' API views share."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

T = TypeVar("T")


def call_service(fn: Callable[..., T], /, **kwargs: Any) -> T:
    """Run a service; its ValidationError becomes DRF's 400 with field messages."""
    try:
        return fn(**kwargs)
    except DjangoValidationError as exc:
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        raise serializers.ValidationError(detail) from exc
