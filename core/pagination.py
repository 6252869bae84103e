"""Pagination: cursor pagination for every API list (stable under inserts, no COUNT(*) over
big tables), and a capped count for the dashboard's big lists."""

from __future__ import annotations

import binascii
from base64 import b64decode
from functools import cached_property
from typing import Any

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.pagination import Cursor, CursorPagination


class DefaultCursorPagination(CursorPagination):
    """Newest first, by id: the cursor keeps the position of the first ordering field only,
    so that field must be unique. With `created_at` first, rows created in one statement (an
    import, a bulk upsert) share it, and the `previous` link skipped some of them."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
    ordering = ("-id",)

    def get_ordering(self, request: Any, queryset: Any, view: Any) -> tuple[str, ...]:
        return tuple(getattr(view, "cursor_ordering", self.ordering))

    def decode_cursor(self, request: Any) -> Cursor | None:
        """A cursor that is not one we made is a 404 "Invalid cursor", never the first page
        (DRF's lenient base64 drops the characters it does not know, so `%%%%` decoded to an
        empty cursor) nor a 500 (a position that is not an id reached the query)."""
        encoded = request.query_params.get(self.cursor_query_param)
        if encoded is None:
            return None
        try:
            b64decode(encoded.encode("ascii"), validate=True)
        except (UnicodeEncodeError, binascii.Error, ValueError):
            raise NotFound(self.invalid_cursor_message) from None
        cursor = super().decode_cursor(request)
        if cursor is not None and cursor.position is not None:
            position = str(cursor.position)  # the text after "p=" (typed int by DRF's stubs)
            if not (position.isascii() and position.isdigit() and len(position) <= 19):
                raise NotFound(self.invalid_cursor_message)
        return cursor

    def get_page_size(self, request: Any) -> int:
        """`page_size` must be one whole number from 1 to `max_page_size`: a wrong one is a
        400 with the reason, not silently the default (which hides the caller's bug)."""
        values = request.query_params.getlist(self.page_size_query_param)
        if not values:
            return self.page_size
        message = _("Must be one whole number from 1 to %(max)d.") % {"max": self.max_page_size}
        if len(values) != 1 or not values[0].isascii() or not values[0].isdigit():
            raise serializers.ValidationError({self.page_size_query_param: [message]})
        size = int(values[0])
        if not 1 <= size <= self.max_page_size:
            raise serializers.ValidationError({self.page_size_query_param: [message]})
        return size

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(minimum=1, maximum=self.max_page_size)
        return parameters


class CappedPaginator(Paginator):
    """Pages for the dashboard whose count stops at `cap` + 1 rows: "more than 10,000" is all
    a person needs, and counting a million matching contacts exactly takes 200-500 ms on every
    page view. Pages past the cap are not offered (refine the filter, or export)."""

    def __init__(
        self, object_list: Any, per_page: int, *, cap: int = 10_000, when_few: Any = None
    ) -> None:
        """`when_few`: the same rows in the same order, written so that Postgres filters first
        and sorts after; used when at most `cap` rows match. Sorting 10,000 rows is cheap,
        while walking a million-row index in order to find the one match is not (and the
        planner, misled by its estimates, picks that walk for rare matches)."""
        super().__init__(object_list, per_page)
        self.cap = cap
        self.when_few = when_few

    def page(self, number: Any) -> Any:
        if self.when_few is not None and not self.capped:
            self.object_list = self.when_few
        return super().page(number)

    @cached_property
    def count(self) -> int:
        # SELECT count(*) FROM (SELECT ... LIMIT cap + 1): no ORDER BY needed to count.
        rows: QuerySet[Any] = self.object_list  # type: ignore[assignment]  # always a queryset here
        return rows.order_by()[: self.cap + 1].count()

    @property
    def capped(self) -> bool:
        """More rows match than were counted; `count` is then `cap` + 1."""
        return self.count > self.cap

    @property
    def shown_count(self) -> int:
        """The rows a person can page through: all of them, or `cap` when capped."""
        return min(self.count, self.cap)

    @cached_property
    def num_pages(self) -> int:
        return max(1, -(-self.shown_count // self.per_page))
