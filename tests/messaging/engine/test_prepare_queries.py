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


def test_a_batch_renders_each_contacts_attributes_and_skips_who_opted_out_since_launch(
    sandbox_number, contacts, credits, launch, template
) -> None:
    from django.utils import timezone

    from messaging.contacts.models import Contact

    people = contacts(3)
    Contact.objects.filter(pk=people[0].pk).update(
        first_name="Şəbnəm", attributes={"city": "Bakı", "note": 'say "hi"'}
    )
    Contact.objects.filter(pk=people[1].pk).update(attributes={})
    template.variants = ["{{first_name}} in {{city|nowhere}}"]
    template.save(update_fields=["variants"])
    credits(3)
    number = sandbox_number()
    launch([number])
    Contact.objects.filter(pk=people[2].pk).update(opted_out_at=timezone.now())

    claimed = dispatch.claim(sender_id=number.pk, limit=3)
    plan = prepare(sender=number, claimed=claimed, upload=lambda *args: None)

    by_contact = {item.contact_id: item.id for item in claimed}
    assert plan.bodies[by_contact[people[0].pk]] == "Şəbnəm in Bakı"
    assert plan.bodies[by_contact[people[1].pk]] == "Name1 in nowhere"
    assert plan.skip[by_contact[people[2].pk]][0] == "opted_out"
    assert by_contact[people[2].pk] not in plan.messages
