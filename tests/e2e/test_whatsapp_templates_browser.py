"""In Chromium: write a WhatsApp template with an image header and a URL button in the editor
(Meta's rules refused on the page first), submit it, see it PENDING; approve it on the
sandbox's own page by clicking; see it APPROVED in the product. And the same editor uploading
an image header's sample file (a PNG made here) instead of a pasted handle."""

from __future__ import annotations

import re

import pytest
from django.test import override_settings

from messaging.content.models import WhatsAppTemplate
from tests.factories import PASSWORD, MembershipFactory
from tests.messaging.conftest import sandbox, sandbox_gateway  # noqa: F401  (fixtures)
from tests.messaging.sandbox.test_uploads import PNG

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_create_template_and_approve_it_on_the_sandbox_page(page, live_server, sandbox) -> None:  # noqa: F811
    owner = MembershipFactory().user
    workspace = owner.memberships.get().workspace
    with override_settings(SANDBOX_GATEWAY_URL=sandbox.base_url, SITE_URL=live_server.url):
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("#id_login", owner.email)
        page.fill("#id_password", PASSWORD)
        page.click("form button[type=submit]")
        page.wait_for_url(re.compile(r"/w/[\w-]+/$"))

        # a sandbox number (Cloud API dialect), in one click
        page.click("text=Numbers")
        page.click("text=Connect a number")
        page.click("[data-testid=connect-sandbox]")
        page.wait_for_url(re.compile(r"/numbers/[0-9a-f-]+/$"))

        page.goto(f"{live_server.url}/w/{workspace.slug}/templates/")
        # the number's starter template was synced when it was connected
        starter = page.locator("[data-testid='wa-row-isend_welcome-en']")
        assert starter.locator("[data-testid=wa-status]").inner_text() == "Approved"
        page.click("[data-testid=new-whatsapp-template]")

        page.fill("#id_name", "spring_sale")
        page.fill("#id_language", "az")
        page.select_option("#id_category", "MARKETING")
        page.select_option("#id_header_format", "IMAGE")
        page.fill("#id_header_handle", "4::aW1hZ2UvcG5n:ARaSample")
        # a body ending with a variable breaks Meta's rules: refused on the page
        page.fill("#id_body", "Salam {{1}}, the spring sale is on until {{2}}")
        page.fill("#id_body_examples", "Aysel\nSunday")
        page.select_option("#id_button_1_type", "URL")
        page.fill("#id_button_1_text", "Shop now")
        page.fill("#id_button_1_value", "https://shop.example.az/p/{{1}}")
        page.fill("#id_button_1_example", "spring")
        page.click("[data-testid=submit-template]")
        page.wait_for_selector("text=The body cannot end with a variable")
        assert not WhatsAppTemplate.objects.filter(name="spring_sale").exists()

        page.fill("#id_body", "Salam {{1}}, the spring sale is on until {{2}}. Come by!")
        page.fill("#id_header_handle", "4::aW1hZ2UvcG5n:ARaSample")
        page.click("[data-testid=submit-template]")
        page.wait_for_url(re.compile(r"/templates/whatsapp/[0-9a-f-]+/$"))
        assert page.locator("[data-testid=wa-status]").inner_text() == "Pending review"
        assert page.locator("[data-testid=header-format]").inner_text() == "IMAGE"
        template = WhatsAppTemplate.objects.get(workspace=workspace, name="spring_sale")
        assert template.components[-1]["buttons"][0] == {
            "type": "URL",
            "text": "Shop now",
            "url": "https://shop.example.az/p/{{1}}",
            "example": ["spring"],
        }

        # Meta's reviewer: the sandbox's page
        meta = page.context.new_page()
        meta.goto(f"{sandbox.base_url}/_sandbox/")
        row = meta.locator("tr", has_text="spring_sale")
        row.locator("button", has_text="Approve").click()
        meta.wait_for_load_state()

        # the webhook has reached the product: the page shows it after a reload
        for _attempt in range(50):
            page.reload()
            if page.locator("[data-testid=wa-status]").inner_text() == "Approved":
                break
            page.wait_for_timeout(200)
        assert page.locator("[data-testid=wa-status]").inner_text() == "Approved"
        template.refresh_from_db()
        assert template.status == WhatsAppTemplate.Status.APPROVED
        sandbox.wait_idle()  # no late webhook reaches the live server during the flush


def test_an_image_header_sample_is_uploaded_from_the_editor(
    page,
    live_server,
    sandbox,  # noqa: F811
    tmp_path,
) -> None:
    """On a sandbox number the editor uploads the sample file itself (Meta's Resumable Upload
    API at the sandbox): no handle to paste, and the template at Meta carries the new handle."""
    owner = MembershipFactory().user
    workspace = owner.memberships.get().workspace
    sample = tmp_path / "spring.png"
    sample.write_bytes(PNG)
    with override_settings(SANDBOX_GATEWAY_URL=sandbox.base_url, SITE_URL=live_server.url):
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("#id_login", owner.email)
        page.fill("#id_password", PASSWORD)
        page.click("form button[type=submit]")
        page.wait_for_url(re.compile(r"/w/[\w-]+/$"))
        page.click("text=Numbers")
        page.click("text=Connect a number")
        page.click("[data-testid=connect-sandbox]")
        page.wait_for_url(re.compile(r"/numbers/[0-9a-f-]+/$"))

        page.goto(f"{live_server.url}/w/{workspace.slug}/templates/")
        page.click("[data-testid=new-whatsapp-template]")
        page.fill("#id_name", "spring_picture")
        page.fill("#id_language", "az")
        page.select_option("#id_category", "MARKETING")
        page.select_option("#id_header_format", "IMAGE")
        page.set_input_files("#id_header_file", str(sample))
        assert page.input_value("#id_header_handle") == ""
        page.fill("#id_body", "Salam {{1}}, the spring sale starts today!")
        page.fill("#id_body_examples", "Aysel")
        page.click("[data-testid=submit-template]")

        page.wait_for_url(re.compile(r"/templates/whatsapp/[0-9a-f-]+/$"))
        assert page.locator("[data-testid=wa-status]").inner_text() == "Pending review"
        assert page.locator("[data-testid=header-format]").inner_text() == "IMAGE"
        template = WhatsAppTemplate.objects.get(workspace=workspace, name="spring_picture")
        handle = template.components[0]["example"]["header_handle"][0]
        (upload,) = sandbox.call("GET", "/_sandbox/uploads").body
        assert (upload["file_name"], upload["file_type"], upload["file_length"]) == (
            "spring.png",
            "image/png",
            len(PNG),
        )
        assert upload["handle"] == handle
        (at_meta,) = sandbox.call("GET", "/_sandbox/templates?name=spring_picture").body
        assert at_meta["components"][0]["example"] == {"header_handle": [handle]}
        sandbox.wait_idle()  # no late webhook reaches the live server during the flush
