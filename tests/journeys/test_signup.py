"""Journey: a newcomer signs up from the front page, verifies the e-mail through the link in
the e-mail, and lands in the workspace made for their company."""

from __future__ import annotations

import re

from django.core import mail
from playwright.sync_api import expect

from accounts.models import User

from .conftest import JOURNEY, words

pytestmark = JOURNEY


def test_signup_verify_workspace(journey) -> None:
    page = journey.new_page()
    page.goto(journey.base + "/")
    journey.shot(page, "front page")
    page.get_by_role("link", name=words("Sign up")).first.click()
    page.wait_for_url(re.compile(r"/accounts/signup/"))
    page.get_by_label(words("First name")).fill("Aysel")
    page.get_by_label(words("Last name")).fill("Huseynova")
    page.get_by_label(words("Company")).fill("Baku Flowers")
    page.get_by_label(words("Phone")).fill("+994 55 765 43 21")
    page.get_by_label(re.compile(r"^\s*e-?mail", re.I)).fill("aysel@bakuflowers.az")
    page.get_by_label(words("Password")).fill("flowers-for-everyone-2026")
    page.get_by_label(re.compile(r"^\s*(password \(again\)|confirm password|repeat)", re.I)).fill(
        "flowers-for-everyone-2026"
    )
    page.get_by_label(words("I am 18 years of age or older")).check()
    page.get_by_label(re.compile(r"^\s*I accept the Terms", re.I)).check()
    journey.shot(page, "sign-up form")
    page.get_by_role("button", name=words("Sign up")).click()
    page.wait_for_url(re.compile(r"/accounts/confirm-email/$"))
    expect(page.get_by_text(re.compile("verif", re.I)).first).to_be_visible()
    journey.shot(page, "check your e-mail")

    # The e-mail: one message to the new address with the confirmation link.
    assert [m.to for m in mail.outbox] == [["aysel@bakuflowers.az"]]
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", mail.outbox[0].body).group(0)
    assert link.startswith(journey.base), link  # the link points at the site that sent it
    page.goto(link)
    journey.shot(page, "confirm e-mail")
    page.get_by_role("button", name=words("Confirm")).click()
    page.wait_for_url(re.compile(r"/w/[\w-]+/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Baku Flowers")
    journey.shot(page, "workspace")

    user = User.objects.get(email="aysel@bakuflowers.az")
    assert user.emailaddress_set.get().verified
    workspace = user.memberships.get().workspace
    assert workspace.name == "Baku Flowers"
    assert page.url == f"{journey.base}/w/{workspace.slug}/"
