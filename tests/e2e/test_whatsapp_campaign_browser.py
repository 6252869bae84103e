"""In Chromium: a campaign on a Cloud API number built with an approved WhatsApp template that
has an image header. The builder shows the template's variables once it is picked; each is
mapped to a contact field or attribute with a fallback, the image is uploaded, the pre-flight
shows what contacts will read, the launch goes out as `type: template` through the sandbox
(a real HTTP server speaking the Graph API) and the messages log shows the image."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
from django.db import connections
from django.test import override_settings
from playwright.sync_api import expect

from billing import services as billing
from messaging.campaigns.models import Campaign, CampaignMedia
from messaging.contacts.models import Contact
from messaging.content.models import WhatsAppTemplate
from messaging.engine import dispatch
from messaging.numbers import services as senders
from messaging.numbers.models import Sender
from tests.factories import PASSWORD, MembershipFactory
from tests.messaging.conftest import (  # noqa: F401  (fixtures)
    SandboxClient,
    sandbox,
    sandbox_gateway,
)
from tests.messaging.engine.conftest import drain_all
from tests.messaging.engine.test_whatsapp_campaigns import PNG, components

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@dataclass
class Scene:
    owner: object
    workspace: object
    contacts: list[Contact]
    sender: Sender


@pytest.fixture
def scene(sandbox: SandboxClient, settings, tmp_path) -> Scene:  # noqa: F811
    settings.MEDIA_ROOT = tmp_path / "media"
    owner = MembershipFactory().user
    workspace = owner.memberships.get().workspace
    contacts = Contact.objects.bulk_create(
        Contact(
            workspace=workspace,
            phone=f"+99450{4_000_101 + i:07d}",
            first_name=f"Person{i}" if i != 3 else "",
            language="ru" if i % 2 else "az",
            attributes={"city": "Gəncə"} if i < 4 else {},
        )
        for i in range(8)
    )
    billing.credits_adjust(workspace=workspace, amount=100, reason="test credits", actor=owner)

    def connect() -> Sender:
        # In a thread of its own: connecting syncs the number's templates (asyncio.run), and
        # Playwright's sync API may already run a loop in this thread.
        try:
            with override_settings(SANDBOX_GATEWAY_URL=sandbox.base_url):
                return senders.sender_connect_sandbox(workspace=workspace, actor=owner)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as pool:
        sender = pool.submit(connect).result(timeout=60)
    # A Cloud API number whose Graph API is the sandbox (as production talks to Meta).
    Sender.objects.filter(pk=sender.pk).update(
        provider=Sender.Provider.CLOUD_API,
        label="Shop",
        throughput_per_second=100,
        daily_cap=100_000,
    )
    sender.refresh_from_db()
    dispatch.limiter().reset(f"sender:{sender.pk}")
    for language in ("az", "ru"):
        WhatsAppTemplate.objects.create(
            workspace=workspace,
            waba_id=sender.waba_id,
            name="spring_sale",
            language=language,
            status=WhatsAppTemplate.Status.APPROVED,
            components=components(language),
        )
        answer = sandbox.call(
            "POST",
            "/_sandbox/templates",
            {
                "waba_id": sender.waba_id,
                "name": "spring_sale",
                "language": language,
                "category": "MARKETING",
                "components": components(language),
            },
        )
        assert answer.status == 201, answer.raw
    return Scene(owner, workspace, contacts, sender)


def _drain_in_worker_thread(sender: Sender) -> None:
    """The drainer runs an asyncio loop; Playwright's sync API already runs one here."""

    def work() -> None:
        try:
            drain_all([sender])
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(work).result(timeout=120)


def test_build_launch_and_see_an_image_template_campaign(
    page,
    live_server,
    scene: Scene,
    sandbox: SandboxClient,  # noqa: F811
    tmp_path,
) -> None:
    image = tmp_path / "sale.png"
    image.write_bytes(PNG)
    workspace, sender = scene.workspace, scene.sender
    with override_settings(
        SANDBOX_GATEWAY_URL=sandbox.base_url, WHATSAPP_GRAPH_URL=sandbox.base_url
    ):
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("#id_login", scene.owner.email)
        page.fill("#id_password", PASSWORD)
        page.click("form button[type=submit]")
        page.wait_for_url(re.compile(r"/w/[\w-]+/$"))

        # Build: pick the WhatsApp template; its variables appear (an htmx part)
        page.goto(f"{live_server.url}/w/{workspace.slug}/campaigns/new/")
        page.fill("#id_name", "Spring sale")
        page.select_option("#id_whatsapp_template", label="spring_sale · az")
        part = page.locator("[data-testid=template-part]")
        expect(part).to_be_visible()
        expect(part.locator("[data-testid^=variable-]")).to_have_count(3)
        page.select_option("#id_var_source__body\\.1", value="first_name")
        page.fill("#id_var_value__body\\.1", "dost")
        page.select_option("#id_var_source__body\\.2", label="Attribute: city")
        page.fill("#id_var_value__body\\.2", "Bakı")
        page.select_option("#id_var_source__button\\.0", label="Fixed text")
        page.fill("#id_var_value__button\\.0", "spring")
        page.select_option("#id_template_language", value="az")
        page.set_input_files("#id_header_media_file", str(image))
        page.check(f"input[name=senders][value='{sender.pk}']")
        page.select_option("#id_pacing_preset", value="fast")
        page.click("text=Save and review")
        page.wait_for_url(re.compile(r"/campaigns/[0-9a-f-]{36}/$"))

        campaign = Campaign.objects.get(workspace=workspace)
        assert campaign.whatsapp_template is not None
        assert campaign.template_variables["body.2"] == {
            "field": "attributes.city",
            "fallback": "Bakı",
        }
        # Pre-flight: what contacts will read, in their languages, and who lacks a value
        rendered = page.locator("[data-testid=preflight-rendered]")
        expect(rendered).to_contain_text("Salam Person0! Gəncə mağazamızda")
        expect(rendered).to_contain_text("Здравствуйте, Person1!")
        expect(page.locator("[data-testid=preflight-languages]")).to_contain_text("az: 4")
        variables = page.locator("[data-testid=preflight-variables]")
        expect(variables.locator("tr", has_text="body {{2}}")).to_contain_text("4")
        expect(page.locator("[data-testid=launch-blocking]")).to_have_count(0)

        page.once("dialog", lambda dialog: dialog.accept())
        with page.expect_navigation():
            page.locator("[data-testid=launch]").click()
        expect(page.locator("[data-testid=campaign-status]")).to_have_text("Running")

        _drain_in_worker_thread(sender)

        page.reload()
        expect(page.locator("[data-testid=campaign-status]")).to_have_text("Completed")
        log = sandbox.call("GET", f"/_sandbox/numbers/{sender.phone_number_id}/messages").body
        assert log["count"] == 8
        assert {entry["type"] for entry in log["data"]} == {"template"}
        assert CampaignMedia.objects.get(campaign=campaign).uploads == 1

        # The messages log shows each message with the image (served by the product)
        page.goto(f"{live_server.url}/w/{workspace.slug}/campaigns/messages/")
        images = page.locator("[data-testid=message-image]")
        expect(images).to_have_count(8)
        assert images.first.evaluate("img => img.complete && img.naturalWidth") == 1
        contents = page.locator("[data-testid=message-content]")
        expect(contents.filter(has_text="Salam Person0! Gəncə mağazamızda")).to_have_count(1)
        expect(contents.filter(has_text="Здравствуйте, Person7! В магазине Bakı")).to_have_count(1)


def test_send_a_test_of_a_template_campaign_from_its_page(
    page,
    live_server,
    scene: Scene,
    sandbox: SandboxClient,  # noqa: F811
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from messaging.campaigns import services as campaigns

    workspace, sender = scene.workspace, scene.sender
    # Person1 speaks Russian and has a city; the test is filled for them.
    person = scene.contacts[1]
    campaign = campaigns.campaign_create(
        workspace=workspace,
        actor=scene.owner,
        name="Spring sale",
        whatsapp_template=WhatsAppTemplate.objects.get(workspace=workspace, language="az"),
        template_variables={
            "body.1": {"field": "first_name", "fallback": "dost"},
            "body.2": {"field": "attributes.city", "fallback": "Bakı"},
            "button.0": {"text": "spring"},
        },
        template_language="az",
        header_media_file=SimpleUploadedFile("sale.png", PNG, content_type="image/png"),
        senders=[sender],
        audience={},
    )
    with override_settings(
        SANDBOX_GATEWAY_URL=sandbox.base_url, WHATSAPP_GRAPH_URL=sandbox.base_url
    ):
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("#id_login", scene.owner.email)
        page.fill("#id_password", PASSWORD)
        page.click("form button[type=submit]")
        page.wait_for_url(re.compile(r"/w/[\w-]+/$"))

        # The campaign's page offers the test; the user types the contact's number and clicks
        page.goto(f"{live_server.url}/w/{workspace.slug}/campaigns/{campaign.public_id}/")
        page.fill("#test-to", person.phone)
        with page.expect_navigation():
            page.locator("[data-testid=send-test]").click()
        expect(page.locator("body")).to_contain_text("a test is on its way")

        _drain_in_worker_thread(sender)

    # The sandbox (Meta's Graph API) received the campaign's template, filled for the contact
    [entry] = sandbox.call("GET", f"/_sandbox/numbers/{sender.phone_number_id}/messages").body[
        "data"
    ]
    assert entry["type"] == "template"
    assert entry["to"] == person.phone.lstrip("+")
    template = entry["template"]
    assert (template["name"], template["language"]) == ("spring_sale", {"code": "ru"})
    header, body, button = template["components"]
    assert header["parameters"][0]["image"]["id"]
    assert [p["text"] for p in body["parameters"]] == ["Person1", "Gəncə"]
    assert button["parameters"] == [{"type": "text", "text": "spring"}]
    assert CampaignMedia.objects.get(campaign=campaign).uploads == 1
