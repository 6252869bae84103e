"""Rendering a claimed batch reads its contacts in one query, whatever the batch's size: the
drainer loads only the fields rendering reads, and none of them is fetched again per
message."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from messaging.engine import dispatch
from messaging.engine.content import prepare


def _prepare(number, n: int):
    claimed = dispatch.claim(sender_id=number.pk, limit=n)
    assert len(claimed) == n
    with CaptureQueriesContext(connection) as queries:
        plan = prepare(sender=number, claimed=claimed, upload=lambda *args: None)
    return plan, len(queries.captured_queries)


def test_a_batch_is_rendered_in_the_same_queries_for_3_or_30_contacts(
    sandbox_number, contacts, credits, launch
) -> None:
    people = contacts(33)
    credits(33)
    number = sandbox_number()
    launch([number])

    small, small_queries = _prepare(number, 3)
    large, large_queries = _prepare(number, 30)

    assert large_queries == small_queries
    bodies = {*small.bodies.values(), *large.bodies.values()}
    assert len(bodies) == 33
    names = {p.first_name for p in people}
    assert all(any(name in body for name in names) for body in bodies)
