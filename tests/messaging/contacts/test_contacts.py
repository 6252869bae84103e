"""Contacts, lists, segments and the audience preview."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Workspace
from messaging.contacts import selectors, services
from messaging.contacts.models import Contact, OptOutSource, WhatsAppStatus

pytestmark = pytest.mark.django_db


def test_create_normalises_phone_and_derives_country_and_time_zone(workspace: Workspace) -> None:
    contact = services.contact_create(
        workspace=workspace,
        data={"phone": "050 123 45 67", "first_name": " Aygün ", "tags": ["vip", " new", "vip"]},
    )
    assert contact.phone == "+994501234567"
    assert contact.country == "AZ"
    assert contact.time_zone == "Asia/Baku"
    assert contact.first_name == "Aygün"
    assert contact.tags == ["new", "vip"]


def test_same_phone_twice_in_a_workspace_is_a_field_error(
    workspace: Workspace, other_workspace: Workspace, make_contact: Callable[..., Contact]
) -> None:
    make_contact(workspace, "+994501234567")
    with pytest.raises(ValidationError) as excinfo:
        make_contact(workspace, "0501234567")
    assert "phone" in excinfo.value.message_dict
    # another workspace may hold the same number
    assert make_contact(other_workspace, "+994501234567").workspace == other_workspace


def test_invalid_input_names_every_field_and_writes_nothing(workspace: Workspace) -> None:
    with pytest.raises(ValidationError) as excinfo:
        services.contact_create(
            workspace=workspace,
            data={"phone": "12", "country": "Azerbaijan", "attributes": {"Bad Key": 1}},
        )
    assert set(excinfo.value.message_dict) == {"phone", "country", "attributes"}
    assert Contact.objects.for_workspace(workspace).count() == 0


def test_opt_out_is_sticky_and_opt_in_needs_consent(
    workspace: Workspace, make_contact: Callable[..., Contact]
) -> None:
    contact = make_contact(workspace)
    services.contact_opt_out(
        workspace=workspace, contact=contact, source=OptOutSource.KEYWORD, reason="STOP"
    )
    first_time = contact.opted_out_at
    services.contact_opt_out(workspace=workspace, contact=contact, source=OptOutSource.MANUAL)
    contact.refresh_from_db()
    assert contact.opted_out_at == first_time
    assert contact.opt_out_source == OptOutSource.KEYWORD
    with pytest.raises(ValidationError):
        services.contact_opt_in(workspace=workspace, contact=contact, consent_source="")
    services.contact_opt_in(workspace=workspace, contact=contact, consent_source="Web form")
    contact.refresh_from_db()
    assert contact.opted_out_at is None
    assert contact.consent_source == "Web form"


def test_upsert_counts_created_updated_unchanged_and_never_touches_opt_out(
    workspace: Workspace, make_contact: Callable[..., Contact]
) -> None:
    stopped = make_contact(workspace, "+994501111111", first_name="Old")
    services.contact_opt_out(workspace=workspace, contact=stopped)
    make_contact(workspace, "+994502222222", first_name="Same")
    rows = [
        services.UpsertRow(phone="+994501111111", first_name="New"),
        services.UpsertRow(phone="+994502222222", first_name="Same"),
        services.UpsertRow(phone="+994503333333", first_name="Fresh", tags=["a"]),
    ]
    outcomes = services.contacts_upsert_rows(workspace=workspace, rows=rows)
    assert {p: o.status for p, o in outcomes.items()} == {
        "+994501111111": "updated",
        "+994502222222": "unchanged",
        "+994503333333": "created",
    }
    stopped.refresh_from_db()
    assert stopped.first_name == "New"
    assert stopped.opted_out_at is not None
    again = services.contacts_upsert_rows(workspace=workspace, rows=rows)
    assert {o.status for o in again.values()} == {"unchanged"}


def test_lists_add_is_idempotent_and_scoped(
    workspace: Workspace, other_workspace: Workspace, make_contact: Callable[..., Contact]
) -> None:
    a = make_contact(workspace, "+994501111111")
    make_contact(workspace, "+994502222222")
    make_contact(other_workspace, "+994503333333")
    vip = services.contact_list_create(workspace=workspace, name="VIP")
    all_contacts = Contact.objects.all()  # includes the other workspace's: the service scopes
    assert (
        services.contact_list_add_contacts(
            workspace=workspace, contact_list=vip, contacts=all_contacts
        )
        == 2
    )
    assert (
        services.contact_list_add_contacts(
            workspace=workspace, contact_list=vip, contacts=all_contacts
        )
        == 0
    )
    assert set(vip.contacts.values_list("phone", flat=True)) == {"+994501111111", "+994502222222"}
    with pytest.raises(ValidationError):
        services.contact_list_create(workspace=workspace, name="vip")
    matching = selectors.contacts_matching(workspace=workspace, filters={"list_id": vip.public_id})
    assert a in matching


def test_bulk_tag_untag_opt_out_delete(
    workspace: Workspace, make_contact: Callable[..., Contact]
) -> None:
    a = make_contact(workspace, "+994501111111", tags=["b"])
    b = make_contact(workspace, "+994502222222")
    qs = Contact.objects.for_workspace(workspace)
    assert (
        services.contacts_bulk_action(workspace=workspace, contacts=qs, action="tag", tag="a") == 2
    )
    assert (
        services.contacts_bulk_action(workspace=workspace, contacts=qs, action="tag", tag="a") == 0
    )
    a.refresh_from_db()
    assert a.tags == ["a", "b"]
    assert (
        services.contacts_bulk_action(
            workspace=workspace, contacts=qs.filter(pk=a.pk), action="untag", tag="b"
        )
        == 1
    )
    a.refresh_from_db()
    assert a.tags == ["a"]
    assert (
        services.contacts_bulk_action(
            workspace=workspace, contacts=qs.filter(pk=b.pk), action="opt_out"
        )
        == 1
    )
    assert services.contacts_bulk_action(workspace=workspace, contacts=qs, action="delete") == 2
    assert not qs.exists()


def test_segment_filters_and_audience_preview_in_one_query(
    workspace: Workspace, other_workspace: Workspace, make_contact: Callable[..., Contact]
) -> None:
    make_contact(workspace, "+994501111111", tags=["vip"], attributes={"city": "Baku"})
    out = make_contact(workspace, "+994502222222", tags=["vip"], attributes={"city": "Baku"})
    services.contact_opt_out(workspace=workspace, contact=out)
    bad = make_contact(workspace, "+994503333333", tags=["vip"], attributes={"city": "Baku"})
    Contact.objects.filter(pk=bad.pk).update(whatsapp_status=WhatsAppStatus.INVALID)
    make_contact(workspace, "+994504444444", tags=["vip"], attributes={"city": "Ganja"})
    make_contact(workspace, "+994505555555", tags=["other"], attributes={"city": "Baku"})
    make_contact(other_workspace, "+994501111111", tags=["vip"], attributes={"city": "Baku"})
    segment = services.segment_create(
        workspace=workspace,
        name="Baku VIPs",
        filters={"tags_any": ["vip"], "attributes": {"city": "Baku"}},
    )
    with CaptureQueriesContext(connection) as queries:
        counts = selectors.audience_preview(workspace=workspace, filters=segment.filters)
    assert len(queries) == 1
    assert counts == selectors.AudienceCounts(total=3, opted_out=1, invalid=1, reachable=1)
    assert selectors.reachable_contacts(workspace=workspace, filters=segment.filters).count() == 1


def test_segment_filters_are_validated(workspace: Workspace) -> None:
    with pytest.raises(ValidationError):
        services.segment_create(workspace=workspace, name="x", filters={"nope": 1})
    with pytest.raises(ValidationError):
        services.segment_create(
            workspace=workspace, name="x", filters={"created_after": "yesterday"}
        )
    with pytest.raises(ValidationError):
        services.segment_create(
            workspace=workspace,
            name="x",
            filters={"list_id": "00000000-0000-0000-0000-000000000000"},
        )


def test_search_by_phone_fragment_and_name(
    workspace: Workspace, make_contact: Callable[..., Contact]
) -> None:
    make_contact(workspace, "+994501234567", first_name="Leyla", last_name="Məmmədova")
    make_contact(workspace, "+994559876543", first_name="Orxan")
    assert [
        c.first_name
        for c in selectors.contacts_matching(workspace=workspace, filters={"search": "123 45"})
    ] == ["Leyla"]
    assert [
        c.first_name
        for c in selectors.contacts_matching(workspace=workspace, filters={"search": "orx"})
    ] == ["Orxan"]
    assert [
        c.first_name
        for c in selectors.contacts_matching(workspace=workspace, filters={"search": "Leyla Məm"})
    ] == ["Leyla"]


@pytest.mark.parametrize(
    "typed", ["050 123 45 67", "0501234567", "+994 50 123 45 67", "994501234567", "501234567"]
)
def test_search_by_a_whole_number_in_any_shape_finds_it(
    workspace: Workspace, make_contact: Callable[..., Contact], typed: str
) -> None:
    # the national shape with its trunk 0 is not a substring of +994501234567: only parsing
    # the search as a number finds it
    make_contact(workspace, "+994501234567", first_name="Leyla")
    make_contact(workspace, "+994559876543", first_name="Orxan")
    found = selectors.contacts_matching(workspace=workspace, filters={"search": typed})
    assert [c.first_name for c in found] == ["Leyla"]


@pytest.mark.parametrize(
    ("header", "key"),
    [
        ("City", "city"),
        ("Şəhər", "seher"),  # Azerbaijani
        ("Город", "gorod"),  # Russian
        ("Doğum tarixi", "dogum_tarixi"),
        ("İl", "il"),
        ("2nd phone", "a_2nd_phone"),
        ("  --  ", ""),
    ],
)
def test_column_headers_become_template_ready_attribute_names(header: str, key: str) -> None:
    assert services.attribute_key(header) == key
