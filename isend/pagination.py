"""Cursor pagination for every API list: stable under inserts, no COUNT(*) over big tables."""

from __future__ import annotations

from typing import Any

from rest_framework.pagination import CursorPagination


class DefaultCursorPagination(CursorPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
    ordering = ("-created_at", "-id")

    def get_ordering(self, request: Any, queryset: Any, view: Any) -> tuple[str, ...]:
        return tuple(getattr(view, "cursor_ordering", self.ordering))
