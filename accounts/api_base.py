"""Base classes for tenant-owned API resources.

`WorkspaceReadOnlyViewSet`/`WorkspaceModelViewSet` are the only bases for such resources.
Subclasses implement `safely_get_queryset(queryset)`; overriding `get_queryset`, `get_object`
or `get_permissions` raises at import time, so no viewset can drop the workspace filter."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from rest_framework import serializers, viewsets

from accounts.api_auth import request_workspace
from accounts.models import ApiKey, Workspace


def _carries_a_value(value: Any) -> bool:
    return value not in (None, "", [], {})


class RejectUnknownFieldsMixin:
    """A write that names a field the resource does not have is a 400 naming it: a typo
    ("nmae", "pace") must not pass as a change that changed nothing. Read-only fields sent
    back in an update, as they were read, are known and ignored; a creation that sets one
    (`opted_out_at`, `status`) is a 400 naming it, not a success that kept nothing of it."""

    fields: Any
    instance: Any

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            unknown = sorted(str(key) for key in data if key not in self.fields)
            if unknown:
                raise serializers.ValidationError(
                    {key: [_("Unknown field: this resource has no such field.")] for key in unknown}
                )
            if self.instance is None:
                read_only = sorted(
                    str(key)
                    for key, value in data.items()
                    if self.fields[key].read_only and _carries_a_value(value)
                )
                if read_only:
                    raise serializers.ValidationError(
                        {
                            key: [_("Read-only: iSend sets this field; leave it out.")]
                            for key in read_only
                        }
                    )
        return super().to_internal_value(data)  # type: ignore[misc]


def unknown_fields_errors(items: Any, known: Any) -> dict[str, dict[str, list[str]]]:
    """Per item of a bulk write, keyed by its index: the fields it names that the resource
    does not have (the bulk form of `RejectUnknownFieldsMixin`)."""
    errors: dict[str, dict[str, list[str]]] = {}
    for index, item in enumerate(items):
        if isinstance(item, Mapping):
            unknown = sorted(str(key) for key in item if key not in known)
            if unknown:
                errors[str(index)] = {
                    key: [_("Unknown field: this resource has no such field.")] for key in unknown
                }
    return errors


def read_scope_map(area: str) -> dict[str, str]:
    return {"GET": f"{area}:read", "HEAD": f"{area}:read", "OPTIONS": f"{area}:read"}


def write_scope_map(area: str) -> dict[str, str]:
    return {
        **read_scope_map(area),
        "POST": f"{area}:write",
        "PUT": f"{area}:write",
        "PATCH": f"{area}:write",
        "DELETE": f"{area}:write",
    }


_FORBIDDEN_OVERRIDES = ("get_queryset", "get_object", "get_permissions", "get_authenticators")


class WorkspaceViewSetMixin:
    scope_map: ClassVar[dict[str, str]] = {}
    queryset: Any = None
    lookup_field = "public_id"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name in _FORBIDDEN_OVERRIDES:
            if name in cls.__dict__:
                raise TypeError(
                    f"{cls.__name__} overrides {name}(); implement safely_get_queryset() instead "
                    "so the workspace filter cannot be dropped."
                )

    @property
    def workspace(self) -> Workspace:
        return request_workspace(self.request)  # type: ignore[attr-defined]

    @property
    def api_key(self) -> ApiKey | None:
        """The key the request authenticated with (audit and service calls record it)."""
        auth = self.request.auth  # type: ignore[attr-defined]
        return auth if isinstance(auth, ApiKey) else None

    def get_queryset(self) -> QuerySet[Any]:
        base = self.queryset.model.objects.filter(workspace=self.workspace)
        return self.safely_get_queryset(base)

    def safely_get_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset


class WorkspaceReadOnlyViewSet(WorkspaceViewSetMixin, viewsets.ReadOnlyModelViewSet):
    pass


class WorkspaceModelViewSet(WorkspaceViewSetMixin, viewsets.ModelViewSet):
    pass
