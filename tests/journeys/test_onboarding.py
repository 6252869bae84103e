"""Journeys of a new workspace's first steps, each from the dashboard's links: connect a
sandbox number (and send it a test), import a CSV and read its report, write a template."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from messaging.contacts.models import Contact
from messaging.content.models import MessageTemplate
from messaging.numbers.models import Sender
from tests.factories import MembershipFactory

from .conftest import JOURNEY, words

pytestmark = JOURNEY


def _owner():
    owner = MembershipFactory(workspace__name="Baku Flowers").user
    return owner, owner.memberships.get().workspace


def test_connect_sandbox_number(journey, journey_sandbox) -> None:
    owner, workspace = _owner()
    page = journey.new_page()
    journey.sign_in(page, owner.email)
    page.get_by_role("link", name=words("Connect a WhatsApp number")).click()
    page.get_by_role("link", name=words("Connect a number")).click()
    page.wait_for_url(re.compile(r"/numbers/add/$"))
    journey.shot(page, "connect a number")
    page.get_by_role("button", name=words("Connect a sandbox number")).click()
    page.wait_for_url(re.compile(r"/numbers/[0-9a-f-]{36}/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Active")
    journey.shot(page, "number connected")

    # A test message to the owner's phone, through the sandbox gateway (a real HTTP server).
    page.get_by_label(words("Send to")).fill("+994 50 555 12 34")
    page.get_by_role("button", name=words("Send test")).click()
    expect(
        page.get_by_text(re.compile(r"Test message accepted by WhatsApp for \+994505551234"))
    ).to_be_visible()
    journey.shot(page, "test sent")

    sender = Sender.objects.get(workspace=workspace)
    assert (sender.provider, sender.status) == ("sandbox", "active")
    assert journey_sandbox.number_stats(sender.phone_number_id)["accepted"] == 1

    # The numbers page lists it.
    page.get_by_role("link", name=words("Numbers")).first.click()
    expect(page.get_by_role("cell", name=sender.phone_number)).to_be_visible()
    journey.shot(page, "numbers")


CSV = (
    "Phone,First name,Last name,City\n"
    "+994 50 301 00 01,Aysel,Huseynova,Baku\n"
    "050 301 00 02,Rashad,Mammadov,Ganja\n"
    "not a phone,Broken,Row,Baku\n"
    "+994503010001,Aysel,Duplicate,Baku\n"
    "+994 55 301 00 03,Leyla,Aliyeva,Sumgait\n"
)


def test_import_csv_and_read_report(journey, tmp_path) -> None:
    owner, workspace = _owner()
    csv = tmp_path / "customers.csv"
    csv.write_text(CSV, encoding="utf-8")
    page = journey.new_page()
    journey.sign_in(page, owner.email)
    page.get_by_role("link", name=words("Import your contacts")).click()
    journey.shot(page, "imports")
    page.get_by_label(re.compile(r"^\s*CSV or Excel", re.I)).set_input_files(csv)
    page.get_by_role("button", name=words("Upload")).click()
    expect(page.get_by_role("heading", name="Import customers.csv")).to_be_visible()
    journey.shot(page, "map columns")
    page.get_by_label(re.compile(r"I confirm", re.I)).check()
    page.get_by_role("button", name=words("Start import")).click()
    report = page.get_by_test_id("import-summary")
    expect(page.get_by_text(re.compile(r"^\s*Completed"))).to_be_visible()
    journey.shot(page, "report")
    expect(report.get_by_role("row", name=re.compile(r"^Created\s+3$"))).to_be_visible()
    expect(report.get_by_role("row", name=re.compile(r"^Invalid rows\s+1$"))).to_be_visible()
    expect(
        report.get_by_role("row", name=re.compile(r"^Duplicates inside the file\s+1$"))
    ).to_be_visible()
    # The rejected row is named by its line in the file.
    expect(page.get_by_role("row", name=re.compile(r"^4\s"))).to_be_visible()

    assert sorted(Contact.objects.filter(workspace=workspace).values_list("phone", flat=True)) == [
        "+994503010001",
        "+994503010002",
        "+994553010003",
    ]

    # The report leads on: the contacts are there.
    page.get_by_role("link", name=words("Contacts")).first.click()
    expect(page.get_by_text("Huseynova")).to_be_visible()
    journey.shot(page, "contacts")


def test_write_template(journey) -> None:
    owner, workspace = _owner()
    page = journey.new_page()
    journey.sign_in(page, owner.email)
    page.get_by_role("link", name=words("Write a template")).click()
    page.get_by_role("link", name=words("New template")).click()
    journey.shot(page, "new template")
    page.get_by_label(words("Name")).fill("Spring sale")
    message = page.get_by_label(re.compile(r"^\s*Message", re.I))
    message.press_sequentially("Salam {{first_name|dost}}! Spring sale: -20% until Sunday.")
    # The preview follows the typing (htmx), for a sample contact.
    expect(page.get_by_test_id("preview")).to_contain_text("Spring sale: -20% until Sunday.")
    journey.shot(page, "preview")
    page.get_by_role("button", name=words("Save")).click()
    expect(page.get_by_text("Template “Spring sale” saved.")).to_be_visible()
    journey.shot(page, "saved")
    page.get_by_role("link", name=words("Templates")).first.click()
    expect(page.get_by_role("link", name="Spring sale")).to_be_visible()
    journey.shot(page, "templates")

    template = MessageTemplate.objects.get(workspace=workspace)
    assert template.name == "Spring sale"
    assert template.variants == ["Salam {{first_name|dost}}! Spring sale: -20% until Sunday."]


def test_header_box_reads_the_columns_again(journey, tmp_path) -> None:
    """Unticking "The first row is a header" shows that row as data under numbered columns;
    ticking it again names the columns from it (the mapping follows each time)."""
    owner, _workspace = _owner()
    csv = tmp_path / "customers.csv"
    csv.write_text(CSV, encoding="utf-8")
    page = journey.new_page()
    journey.sign_in(page, owner.email)
    page.get_by_role("link", name=words("Import your contacts")).click()
    page.get_by_label(re.compile(r"^\s*CSV or Excel", re.I)).set_input_files(csv)
    page.get_by_role("button", name=words("Upload")).click()
    expect(page.get_by_role("heading", name="Import customers.csv")).to_be_visible()
    header_box = page.get_by_label(re.compile(r"first row is a header", re.I))
    expect(header_box).to_be_checked()

    with page.expect_navigation():
        header_box.uncheck()
    expect(header_box).not_to_be_checked()
    expect(page.get_by_role("cell", name="#1", exact=True)).to_be_visible()
    journey.shot(page, "first row as data")

    with page.expect_navigation():
        page.get_by_label(re.compile(r"first row is a header", re.I)).check()
    expect(page.get_by_role("cell", name="#1", exact=True)).to_have_count(0)
    journey.shot(page, "first row as header")
