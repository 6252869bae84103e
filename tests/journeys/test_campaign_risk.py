"""Journey: the ban-risk score is live on the new-campaign form. An owner opens the builder,
ticks a number and sees the score with its reasons before saving anything; choosing a small
list for the audience lowers it on the spot (no reload)."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from messaging.contacts.models import Contact, ContactList, ContactListMembership
from messaging.content.models import MessageTemplate
from messaging.numbers.models import Sender
from tests.factories import MembershipFactory

from .conftest import JOURNEY, words

pytestmark = JOURNEY


def test_risk_score_follows_the_audience_in_the_builder(journey) -> None:
    # Preconditions (not the journey): 1,000 contacts never messaged, a list of 20 regulars,
    # a template and a sandbox number connected today.
    owner = MembershipFactory(workspace__name="Ganja Books").user
    workspace = owner.memberships.get().workspace
    people = Contact.objects.bulk_create(
        Contact(workspace=workspace, phone=f"+99450{5_000_101 + i:07d}", first_name=f"Reader{i}")
        for i in range(1000)
    )
    regulars = ContactList.objects.create(workspace=workspace, name="Regulars")
    ContactListMembership.objects.bulk_create(
        ContactListMembership(workspace=workspace, contact_list=regulars, contact=c)
        for c in people[:20]
    )
    MessageTemplate.objects.create(
        workspace=workspace, name="New books", variants=["Salam {{first_name}}! New books in."]
    )
    sender = Sender.objects.create(
        workspace=workspace,
        provider=Sender.Provider.SANDBOX,
        status=Sender.Status.ACTIVE,
        phone_number="+994502230001",
        throughput_per_second=200,
    )

    page = journey.new_page()
    journey.sign_in(page, owner.email)
    page.get_by_role("link", name=words("Campaigns")).first.click()
    page.get_by_role("link", name=words("New campaign")).click()
    page.get_by_label(words("Name")).fill("New books")
    page.get_by_label(re.compile(r"^\s*Message template", re.I)).select_option(label="New books")

    # The only active number is ticked already: the score is there before anything is saved.
    expect(
        page.get_by_role("checkbox", name=re.compile(re.escape(sender.phone_number)))
    ).to_be_checked()
    live = page.get_by_test_id("risk-live")
    score = live.get_by_test_id("risk-score")
    expect(score).to_have_text(re.compile(r"^\d+ / 100$"))
    expect(live).to_contain_text("Each number would message 1000 people")
    everyone = int(score.inner_text().split(" /")[0])
    journey.shot(page, "risk for everyone")

    # Choosing the list of 20 lowers it at once.
    page.get_by_label(words("List")).select_option(label="Regulars")
    expect(page.get_by_test_id("audience-reachable")).to_have_text("20")
    expect(live).not_to_contain_text("Each number would message")
    regulars_score = int(score.inner_text().split(" /")[0])
    assert regulars_score < everyone
    journey.shot(page, "risk for the list")

    # Unticking the number says what is missing instead of a score.
    page.get_by_role("checkbox", name=re.compile(re.escape(sender.phone_number))).uncheck()
    expect(live).to_contain_text("Choose at least one number to see the ban-risk score.")
    expect(live.get_by_test_id("risk-score")).to_have_count(0)
