"""Dates and numbers follow the user's language: dd.mm.yyyy and a space between thousands
in Azerbaijani and Russian; date inputs show and accept that format (and ISO). English writes
dates day first too (isend/formats/en): "12/03/2026" was Django's American month first, which
customers in Azerbaijan read as 12 March."""

from __future__ import annotations

import re
import zoneinfo
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import formats, translation

from accounts.models import ApiKey, User, Workspace
from billing import services as billing
from billing.models import LedgerEntry
from core.forms import date_format_hint
from messaging.analytics.forms import AnalyticsFilterForm
from messaging.contacts import selectors, services
from messaging.contacts.forms import SegmentForm
from messaging.contacts.models import Contact

pytestmark = pytest.mark.django_db

NBSP = "\xa0"


def _get(client: Client, url: str, language: str, **params: str) -> str:
    response = client.get(url, params, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def added_on_3_december(workspace: Workspace) -> Contact:
    contact = services.contact_create(
        workspace=workspace, data={"phone": "+994501234567", "first_name": "Aysel"}
    )
    Contact.objects.filter(pk=contact.pk).update(
        created_at=datetime(2026, 12, 3, 10, 0, tzinfo=ZoneInfo("Asia/Baku"))
    )
    return contact


@pytest.mark.parametrize(
    ("language", "date", "balance"),
    [
        ("az", "03.12.2026", f"12{NBSP}500"),
        ("ru", "03.12.2026", f"12{NBSP}500"),
        ("en", "03.12.2026", "12,500"),
    ],
)
def test_dates_and_numbers_are_written_the_user_s_way(
    member_client: Client,
    workspace: Workspace,
    owner: User,
    added_on_3_december: Contact,
    language: str,
    date: str,
    balance: str,
) -> None:
    billing.credits_adjust(workspace=workspace, amount=12500, reason="test", actor=owner)

    contacts = _get(member_client, f"/w/{workspace.slug}/contacts/", language)
    home = _get(member_client, f"/w/{workspace.slug}/", language)

    assert f'<html lang="{language}">' in contacts
    assert date in contacts
    found = re.search(r'data-testid="home-balance"[^>]*>([^<]*)<', home)
    assert found
    assert found.group(1).strip() == balance


@pytest.mark.parametrize(
    ("language", "hint"), [("az", "dd.mm.yyyy"), ("ru", "dd.mm.yyyy"), ("en", "dd.mm.yyyy")]
)
def test_date_inputs_show_and_accept_the_user_s_format(
    member_client: Client, workspace: Workspace, language: str, hint: str
) -> None:
    page = _get(
        member_client,
        f"/w/{workspace.slug}/analytics/",
        language,
        date_from="01.11.2026",
        date_to="2026-11-30",  # ISO (links, saved filters) is accepted as well
    )
    date_from = re.search(r'<input[^>]*name="date_from"[^>]*>', page)
    assert date_from
    assert 'type="text"' in date_from.group(0)
    assert f'placeholder="{hint}"' in date_from.group(0)
    assert 'value="01.11.2026"' in date_from.group(0)
    assert "The filters have errors" not in page
    with translation.override(language):
        assert date_format_hint() == hint
        form = AnalyticsFilterForm(
            {"date_from": "01.11.2026", "date_to": "30.11.2026"}, workspace=workspace
        )
        assert form.is_valid(), form.errors
        assert form.cleaned_data["date_from"].isoformat() == "2026-11-01"


def test_the_default_analytics_range_is_shown_in_the_user_s_format(
    member_client: Client, workspace: Workspace
) -> None:
    page = _get(member_client, f"/w/{workspace.slug}/analytics/", "az")
    value = re.search(
        r'name="date_from"[^>]*value="([^"]*)"|value="([^"]*)"[^>]*name="date_from"', page
    )
    assert value
    assert re.fullmatch(r"\d\d\.\d\d\.\d{4}", value.group(1) or value.group(2))


def test_a_contact_filter_date_typed_dd_mm_yyyy_filters(
    member_client: Client, workspace: Workspace, added_on_3_december: Contact
) -> None:
    with translation.override("az"):
        field = SegmentForm.base_fields["created_after"]
        assert field.clean("03.12.2026").isoformat() == "2026-12-03"
    found = selectors.contacts_matching(
        workspace=workspace, filters={"created_after": "2026-12-03"}
    )
    assert list(found) == [added_on_3_december]


def test_a_new_workspace_defaults_to_baku_time(workspace: Workspace) -> None:
    assert Workspace._meta.get_field("time_zone").default == "Asia/Baku"
    assert workspace.time_zone == "Asia/Baku"


def test_the_footer_switches_the_language_and_the_formats_follow(
    member_client: Client, workspace: Workspace, added_on_3_december: Contact
) -> None:
    page = member_client.get(f"/w/{workspace.slug}/contacts/").content.decode()
    assert 'data-testid="language-form"' in page
    assert '<option value="az">Azərbaycanca</option>' in page

    member_client.post("/i18n/setlang/", {"language": "az", "next": f"/w/{workspace.slug}/"})

    page = member_client.get(f"/w/{workspace.slug}/contacts/").content.decode()
    assert '<html lang="az">' in page
    assert "03.12.2026" in page


def test_the_api_key_expiry_is_typed_the_user_s_way(
    member_client: Client, workspace: Workspace
) -> None:
    url = f"/w/{workspace.slug}/developers/"
    page = member_client.get(url, HTTP_ACCEPT_LANGUAGE="az").content.decode()
    field = re.search(r'<input[^>]*name="expires_at"[^>]*>', page)
    assert field
    assert 'placeholder="dd.mm.yyyy HH:MM"' in field.group(0)

    member_client.post(
        url,
        {"name": "CRM", "scopes": ["contacts:read"], "expires_at": "31.12.2030 23:59"},
        HTTP_ACCEPT_LANGUAGE="az",
    )

    key = ApiKey.objects.get(workspace=workspace, name="CRM")
    assert key.expires_at is not None
    # typed in the workspace's time zone, as every time on its pages
    local = key.expires_at.astimezone(zoneinfo.ZoneInfo(workspace.time_zone))
    assert local.strftime("%d.%m.%Y %H:%M") == "31.12.2030 23:59"


def test_english_pages_write_dates_day_first(
    member_client: Client, workspace: Workspace, owner: User
) -> None:
    billing.credits_adjust(workspace=workspace, amount=10, reason="test", actor=owner)
    LedgerEntry.objects.filter(workspace=workspace).update(
        created_at=datetime(2026, 12, 5, 14, 30, tzinfo=ZoneInfo("Asia/Baku"))
    )

    ledger = _get(member_client, f"/w/{workspace.slug}/billing/ledger/", "en")

    rows = ledger.split('data-testid="ledger"', 1)[1]
    assert "05.12.2026 14:30" in rows
    assert "12/05/2026" not in rows


def test_the_long_english_date_names_the_month_after_the_day() -> None:
    with translation.override("en"):
        assert formats.date_format(date(2026, 12, 5)) == "5 Dec 2026"
        assert formats.date_format(date(2026, 12, 5), "SHORT_DATE_FORMAT") == "05.12.2026"


def test_an_english_date_is_typed_day_first_and_iso_still_works(workspace: Workspace) -> None:
    with translation.override("en"):
        typed = AnalyticsFilterForm(
            {"date_from": "05.12.2026", "date_to": "2026-12-31"}, workspace=workspace
        )
        american = AnalyticsFilterForm(
            {"date_from": "12/05/2026", "date_to": "12/31/2026"}, workspace=workspace
        )

        assert typed.is_valid(), typed.errors
        assert typed.cleaned_data["date_from"] == date(2026, 12, 5)
        assert typed.cleaned_data["date_to"] == date(2026, 12, 31)
        # month first is refused, never read as another date
        assert not american.is_valid()
        assert set(american.errors) >= {"date_from", "date_to"}
