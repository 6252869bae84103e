"""Helpers the apps' API views share."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from rest_framework import serializers, status
from rest_framework.exceptions import APIException

T = TypeVar("T")


class Conflict(APIException):
    """409: the object is in use or in a state that forbids the request (documented on every
    write by isend.openapi)."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "The object is in use."
    default_code = "conflict"


def scope_related(field: Any, queryset: QuerySet[Any]) -> None:
    """Let a related field resolve ids only inside `queryset` (the request's workspace): another
    tenant's id is then a 400. `field` is Any: DRF's stubs type `queryset` as a class-level
    manager descriptor, which an instance assignment does not match."""
    field.queryset = queryset


def call_service(fn: Callable[..., T], /, **kwargs: Any) -> T:
    """Run a service; its ValidationError becomes DRF's 400 with field messages."""
    try:
        return fn(**kwargs)
    except DjangoValidationError as exc:
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        raise serializers.ValidationError(detail) from exc


def validated_query(serializer_class: type[serializers.Serializer], params: Any) -> dict[str, Any]:
    """A list's query parameters checked by a serializer: a malformed filter (an id that is no
    UUID, a status that does not exist) is a 400 naming the parameter, never a 500 and never
    silently ignored."""
    # A plain dict, not the QueryDict: DRF reads an empty form value as "not given", so
    # `?campaign=` would pass unchecked; here it is an invalid id like any other.
    serializer = serializer_class(data=params.dict() if hasattr(params, "dict") else params)
    serializer.is_valid(raise_exception=True)
    return {
        key: value for key, value in serializer.validated_data.items() if value not in ("", None)
    }
