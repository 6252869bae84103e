"""drf-spectacular postprocessing: the error answers every API operation can give.

Each view documents its success answer; the errors come from layers every view shares
(authentication, scopes, the object lookup, input validation, the per-key throttle), so they
are documented here, in one place, rather than by `extend_schema` on ~80 operations. An
operation that documents one of these codes itself keeps its own description."""

from __future__ import annotations

from typing import Any

_ERROR = {
    "type": "object",
    "description": "An error with a human-readable reason.",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
# DRF answers bad input with field -> messages (nested for nested fields), or with a list of
# messages for an error that belongs to no field.
_VALIDATION_ERROR = {
    "description": "Field errors: each invalid field (or query parameter) with its messages; "
    "`non_field_errors` or `detail` for errors that belong to no one field.",
    "oneOf": [
        {"type": "object", "additionalProperties": {}},
        {"type": "array", "items": {"type": "string"}},
    ],
}

_WRITE_METHODS = {"post", "put", "patch", "delete"}


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _response(description: str, schema: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(schema)}}}


def add_error_responses(result: dict[str, Any], **_kwargs: Any) -> dict[str, Any]:
    """Add 400, 401, 403, 404 and 429 to every operation (and 409 to writes) unless the
    operation documents the code itself."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("Error", _ERROR)
    schemas.setdefault("ValidationError", _VALIDATION_ERROR)
    common = {
        "400": _response("Invalid input (body or query parameters).", "ValidationError"),
        "401": _response("No API key, or an unknown, revoked or expired one.", "Error"),
        "403": _response("The key lacks the scope this operation needs.", "Error"),
        "404": _response("No such object in the key's workspace (or an invalid cursor).", "Error"),
        "429": _response("Too many requests for this key: retry after `Retry-After`.", "Error"),
    }
    conflict = _response("The object is in use or in a state that forbids this.", "Error")
    for methods in result.get("paths", {}).values():
        for method, operation in methods.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            for code, response in common.items():
                responses.setdefault(code, response)
            if method in _WRITE_METHODS:
                responses.setdefault("409", conflict)
    return result
