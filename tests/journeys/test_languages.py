"""Journey (issue 19): a newcomer signs up and sends a campaign with the interface in
Azerbaijani, another in Russian. They pick the language as a person does (the header's menu,
the footer's list), and every page they pass through is read for English left behind.

The labels differ per language, so this journey finds fields and buttons by what does not
change with the language (the form's field names, the links' addresses, test ids), and reads
the words only to check them. The English found on every page is gathered and reported at the
end, so one run shows all of it (and whether everything else worked)."""

from __future__ import annotations

import re

from django.core import mail
from django.test import override_settings
from django.utils import translation
from playwright.sync_api import expect

from accounts.models import User
from billing import services as billing
from messaging.campaigns.models import Campaign, Message
from messaging.contacts.models import Contact
from messaging.content.models import MessageTemplate
from messaging.numbers import services as senders
from messaging.numbers.models import Sender
from tests.english import english_left
from tests.reliability.conftest import wait_for

from .conftest import JOURNEY

pytestmark = JOURNEY

RECIPIENTS = 5
NBSP = "\xa0"
#: What the people of this journey typed themselves (their names, their company, their text).
THEIR_OWN = frozenset({"Aysel", "Rustam"})


class Reader:
    """Reads each page the person sees: its language and any English left on it."""

    def __init__(self, journey, page, language: str) -> None:
        self.journey, self.page, self.language = journey, page, language
        self.english: list[str] = []

    def look(self, step: str) -> None:
        self.page.wait_for_load_state()
        expect(self.page.locator("html")).to_have_attribute("lang", self.language)
        text = self.page.title() + "\n" + self.page.locator("body").inner_text()
        self.english += [f"{step}: {line}" for line in english_left(text, allowed=THEIR_OWN)]
        self.journey.shot(self.page, f"{self.language} {step}")


def _sign_up(journey, page, reader: Reader, *, first: str, company: str, email: str) -> User:
    page.locator('a[href="/accounts/signup/"]').first.click()
    page.wait_for_url(re.compile(r"/accounts/signup/"))
    reader.look("sign-up form")
    form = page.locator('main form[action="/accounts/signup/"]')
    form.locator('[name="first_name"]').fill(first)
    form.locator('[name="last_name"]').fill("Həsənov" if first == "Rustam" else "Hüseynova")
    form.locator('[name="company_name"]').fill(company)
    form.locator('[name="phone"]').fill("+994 55 765 43 21")
    form.locator('[name="email"]').fill(email)
    form.locator('[name="password1"]').fill("flowers-for-everyone-2026")
    form.locator('[name="password2"]').fill("flowers-for-everyone-2026")
    form.locator('[name="is_adult"]').check()
    form.locator('[name="accept_terms"]').check()
    form.locator('button[type="submit"]').click()
    page.wait_for_url(re.compile(r"/accounts/confirm-email/$"))
    reader.look("check your e-mail")

    # The confirmation e-mail is in the language the page was read in.
    [email_message] = [m for m in mail.outbox if m.to == [email]]
    body = email_message.subject + "\n" + email_message.body
    reader.english += [f"e-mail: {line}" for line in english_left(body, allowed=THEIR_OWN)]
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", email_message.body).group(0)
    page.goto(link)
    reader.look("confirm e-mail")
    page.locator('main form button[type="submit"]').click()
    page.wait_for_url(re.compile(r"/w/[\w-]+/$"))
    reader.look("workspace")
    return User.objects.get(email=email)


def _ready_to_send(sandbox, user: User) -> Sender:
    """Preconditions that are not this journey (its own journeys cover them): contacts, a
    template, credits and a sandbox number whose webhooks reach the live server. Made in the
    person's language, as if they had clicked them (the number's default label is written in
    the language of the page it was connected from)."""
    with translation.override(user.language):
        return _prepare(sandbox, user)


def _prepare(sandbox, user: User) -> Sender:
    workspace = user.memberships.get().workspace
    Contact.objects.bulk_create(
        Contact(workspace=workspace, phone=f"+99450{4_000_201 + i:07d}", first_name=f"Müştəri{i}")
        for i in range(RECIPIENTS)
    )
    MessageTemplate.objects.create(
        workspace=workspace, name="Yaz endirimi", variants=["Salam {{first_name}}! Bu gün -20%."]
    )
    billing.credits_adjust(workspace=workspace, amount=12_500, reason="journey", actor=user)
    with override_settings(SANDBOX_GATEWAY_URL=sandbox.base_url):
        sender = senders.sender_connect_sandbox(workspace=workspace, actor=user)
        Sender.objects.filter(pk=sender.pk).update(throughput_per_second=200, daily_cap=100_000)
        sender.refresh_from_db()
        senders._sandbox_register(sender)
    return sender


def _send_a_campaign(page, reader: Reader, user: User, sender: Sender) -> None:
    workspace = user.memberships.get().workspace
    page.reload()
    # The balance is written the language's way: 12 500 (a no-break space between thousands).
    expect(page.get_by_test_id("home-balance")).to_have_text(f"12{NBSP}500")
    reader.look("home with credits")
    page.locator(f'#sidebar a[href="/w/{workspace.slug}/campaigns/"]').click()
    reader.look("campaigns")
    page.locator(f'a[href="/w/{workspace.slug}/campaigns/new/"]').first.click()
    page.locator('[name="name"]').fill("Yaz endirimi")
    page.locator('select[name="template"]').select_option(label="Yaz endirimi")
    page.locator(f'input[name="senders"][value="{sender.pk}"]').check()
    page.locator('select[name="pacing_preset"]').select_option("fast")
    expect(page.get_by_test_id("audience")).to_contain_text(str(RECIPIENTS))
    reader.look("campaign builder")
    page.locator('main form[enctype="multipart/form-data"] > button[type="submit"]').click()
    launch = page.get_by_test_id("launch")
    expect(launch).to_be_enabled()
    reader.look("review")

    asked: list[str] = []

    def accept(dialog) -> None:
        asked.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    launch.click()
    reader.english += [f"launch dialog: {line}" for line in english_left("\n".join(asked))]
    with translation.override(reader.language):
        completed = str(Campaign.Status.COMPLETED.label)
    expect(page.get_by_test_id("campaign-status")).to_have_text(completed, timeout=60_000)
    reader.look("completed")
    campaign = Campaign.objects.get(workspace=workspace)
    wait_for(
        lambda: Message.objects.filter(campaign=campaign, status="read").count() == RECIPIENTS,
        timeout=20,
        what="every message read (the sandbox reads all)",
    )
    page.locator(f'#sidebar a[href="/w/{workspace.slug}/campaigns/"]').click()
    page.locator(f'main a[href="/w/{workspace.slug}/campaigns/messages/"]').first.click()
    expect(page.get_by_test_id("message-row")).to_have_count(RECIPIENTS)
    reader.look("messages log")


def test_sign_up_and_send_a_campaign_in_azerbaijani_then_in_russian(
    journey, worker, journey_sandbox
) -> None:
    english: list[str] = []

    # Aysel's browser speaks English; she picks Azerbaijani in the header's language menu.
    page = journey.new_page("Aysel", locale="en-US")
    page.goto(journey.base + "/")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.get_by_test_id("header-language").locator(".dropdown-toggle").click()
    page.get_by_test_id("language-az").click()
    aysel = Reader(journey, page, "az")
    aysel.look("front page")
    user = _sign_up(
        journey, page, aysel, first="Aysel", company="Bakı Güllər", email="aysel@gul.az"
    )
    assert user.language == "az"  # her choice is now her profile's
    _send_a_campaign(page, aysel, user, _ready_to_send(journey_sandbox, user))
    english += aysel.english

    # Rustam's browser speaks Azerbaijani; he picks Russian in the footer's list.
    page = journey.new_page("Rustam", locale="az-AZ")
    page.goto(journey.base + "/")
    expect(page.locator("html")).to_have_attribute("lang", "az")
    footer = page.get_by_test_id("language-form")
    footer.locator("select").select_option("ru")
    footer.locator('button[type="submit"]').click()
    rustam = Reader(journey, page, "ru")
    rustam.look("front page")
    user = _sign_up(journey, page, rustam, first="Rustam", company="Гянджа Чай", email="r@chay.az")
    assert user.language == "ru"
    _send_a_campaign(page, rustam, user, _ready_to_send(journey_sandbox, user))
    english += rustam.english

    assert english == [], f"{len(english)} lines still in English:\n" + "\n".join(english)
