"""Helpers the apps' API views share."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from rest_framework import parsers, serializers, status
from rest_framework.exceptions import APIException, ParseError

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


def _holds_null(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_null(k) or _holds_null(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_null(v) for v in value)
    return False


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, refusing a document with a NUL character (\\u0000) in any string with
    a 400. PostgreSQL stores it in neither text nor jsonb: a value that reached a JSON field
    (a contact's attributes, a segment's filters) answered 500, where DRF's own fields say
    "Null characters are not allowed."."""

    def parse(
        self,
        stream: Any,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        data = super().parse(stream, media_type, parser_context)
        if _holds_null(data):
            raise ParseError("JSON parse error - a string holds a NUL character (\\u0000).")
        return data
