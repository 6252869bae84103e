"""Query helpers every app's selectors share."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import (
    QuerySet,
)
from django.http import Http404


def get_or_404(queryset: QuerySet[Any], **lookup: Any) -> Any:
    """One row, or a 404 for "missing" and "malformed id" alike (another tenant's row is
    missing: the queryset is already scoped)."""
    try:
        return queryset.get(**lookup)
    except (queryset.model.DoesNotExist, ValueError, TypeError, ValidationError) as exc:
        # ValueError/TypeError/ValidationError (a UUID field's own): a malformed id is "not
        # found", never a 500.
        raise Http404 from exc
