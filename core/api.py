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


#: No resource nests deeper than a few levels (a segment's filters, a contact's attributes); a
#: document nested hundreds deep only ever comes from a fuzzer, and walking it recursively
#: reached Python's recursion limit: a 500.
MAX_JSON_DEPTH = 32


def _json_problem(document: Any) -> str:
    """What makes a parsed document unacceptable ("" if nothing): a NUL character in any
    string, or nesting deeper than MAX_JSON_DEPTH. Walked without recursion."""
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                return "a string holds a NUL character (\\u0000)."
        elif isinstance(value, dict | list):
            if depth > MAX_JSON_DEPTH:
                return f"the document is nested more than {MAX_JSON_DEPTH} levels deep."
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                if isinstance(key, str) and "\x00" in key:
                    return "a string holds a NUL character (\\u0000)."
                stack.append((item, depth + 1))
    return ""


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, refusing with a 400 a document nested deeper than MAX_JSON_DEPTH or
    with a NUL character (\\u0000) in any string. PostgreSQL stores a NUL in neither text nor
    jsonb: a value that reached a JSON field (a contact's attributes, a segment's filters)
    answered 500, where DRF's own fields say "Null characters are not allowed."."""

    def parse(
        self,
        stream: Any,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(
                f"JSON parse error - the document is nested more than {MAX_JSON_DEPTH} levels deep."
            ) from None
        if problem := _json_problem(data):
            raise ParseError(f"JSON parse error - {problem}")
        return data
