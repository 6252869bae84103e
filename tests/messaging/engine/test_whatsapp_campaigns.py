"""Campaigns that send Meta WhatsApp templates, end to end against the sandbox over HTTP: every
request is `type: template` filled per contact and in its language, the header image is
uploaded once per campaign and number, a free-form campaign on a Cloud API number is refused
at pre-flight, and a template Meta pauses mid-campaign pauses it until it is reinstated."""

from __future__ import annotations

import base64
import re
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import override_settings

from billing import services as billing
from messaging.campaigns import services as campaigns
from messaging.campaigns.models import Campaign, CampaignMedia, Message
from messaging.contacts.models import Contact
from messaging.content.models import WhatsAppTemplate
from messaging.content.signals import whatsapp_template_status_changed
from messaging.engine import dispatch, fanout
from messaging.numbers.models import Sender

from ..conftest import SandboxClient
from .conftest import drain_all

pytestmark = pytest.mark.django_db

#: The smallest valid PNG (1x1): what the builder uploads as the header image.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)

BODIES = {
    "az": "Salam {{1}}! {{2}} mağazamızda bu həftə 20% endirim var.",
    "ru": "Здравствуйте, {{1}}! В магазине {{2}} на этой неделе скидка 20%.",
    "en_US": "Hello {{1}}! Our {{2}} store has 20% off this week.",
}


def components(language: str) -> list[dict[str, Any]]:
    """Meta's components: an image header, a body with two variables, a footer and a URL
    button with a dynamic suffix."""
    return [
        {"type": "HEADER", "format": "IMAGE", "example": {"header_handle": ["4::aW1n"]}},
        {
            "type": "BODY",
            "text": BODIES[language],
            "example": {"body_text": [["Aysel", "Bakı"]]},
        },
        {"type": "FOOTER", "text": "STOP"},
        {
            "type": "BUTTONS",
            "buttons": [
                {
                    "type": "URL",
                    "text": "Shop",
                    "url": "https://shop.example.az/s/{{1}}",
                    "example": ["https://shop.example.az/s/aysel"],
                }
            ],
        },
    ]


def approved_sale(workspace, *, waba_id: str = "waba-1", meta_id: str = "meta-az"):
    """The approved `spring_sale` template in Azerbaijani (image header, two variables)."""
    return WhatsAppTemplate.objects.create(
        workspace=workspace,
        waba_id=waba_id,
        meta_id=meta_id,
        name="spring_sale",
        language="az",
        category=WhatsAppTemplate.Category.MARKETING,
        status=WhatsAppTemplate.Status.APPROVED,
        components=components("az"),
    )


VARIABLES = {
    "1": {"field": "first_name", "fallback": "dost"},
    "2": {"field": "attributes.city", "fallback": "Bakı"},
    "button.0": {"field": "attributes.code", "fallback": "all"},
}


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path) -> None:
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def cloud_number(
    workspace, sandbox_number, engine_sandbox: SandboxClient
) -> Iterator[Callable[..., Sender]]:
    """A Cloud API number whose Graph API is the sandbox (as production talks to Meta)."""

    def make(rate: int = 500) -> Sender:
        sender = sandbox_number(rate=rate)
        Sender.objects.filter(pk=sender.pk).update(provider=Sender.Provider.CLOUD_API)
        sender.refresh_from_db()
        return sender

    with override_settings(WHATSAPP_GRAPH_URL=engine_sandbox.base_url):
        yield make


@pytest.fixture
def sale_templates(workspace) -> Callable[[Sender], dict[str, WhatsAppTemplate]]:
    """The approved `spring_sale` template in three languages, in the product and at Meta."""

    def make(number: Sender) -> dict[str, WhatsAppTemplate]:
        made = {}
        for language in BODIES:
            made[language] = WhatsAppTemplate.objects.create(
                workspace=workspace,
                waba_id=number.waba_id,
                meta_id=f"meta-{language}",
                name="spring_sale",
                language=language,
                category=WhatsAppTemplate.Category.MARKETING,
                status=WhatsAppTemplate.Status.APPROVED,
                components=components(language),
            )
        return made

    return make


def register_at_meta(sandbox: SandboxClient, number: Sender) -> dict[str, str]:
    """The same templates in the sandbox's registry (its WABA); returns language -> its id."""
    ids = {}
    for language in BODIES:
        answer = sandbox.call(
            "POST",
            "/_sandbox/templates",
            {
                "waba_id": number.waba_id,
                "name": "spring_sale",
                "language": language,
                "category": "MARKETING",
                "components": components(language),
                "status": "APPROVED",
            },
        )
        assert answer.status == 201, answer.raw
        ids[language] = answer.body["id"]
    return ids


def sent_log(sandbox: SandboxClient, number: Sender) -> list[dict[str, Any]]:
    answer = sandbox.call("GET", f"/_sandbox/numbers/{number.phone_number_id}/messages")
    assert answer.status == 200, answer.raw
    return answer.body["data"]


def create_template_campaign(
    workspace, owner, numbers: list[Sender], template: WhatsAppTemplate, *, link: str = ""
) -> Campaign:
    """The header image uploaded as a file, or given as a link."""
    upload = None if link else SimpleUploadedFile("sale.png", PNG, content_type="image/png")
    return campaigns.campaign_create(
        workspace=workspace,
        actor=owner,
        name="Spring sale",
        whatsapp_template=template,
        template_variables=VARIABLES,
        template_language="az",
        header_media_file=upload,
        header_media_url=link,
        senders=numbers,
        audience={},
    )


def launch_now(workspace, owner, campaign: Campaign) -> Campaign:
    campaigns.campaign_launch(workspace=workspace, campaign=campaign, actor=owner)
    while fanout.fanout_chunk(campaign_id=campaign.pk, chunk=400):
        pass
    campaign.refresh_from_db()
    return campaign


def cold_contacts(workspace, n: int) -> list[Contact]:
    """`n` contacts who never wrote to the business, in several languages; every third lacks
    a city, every fifth a first name, some have only a country."""
    languages = ["az", "ru", "en", "", ""]
    countries = ["", "", "", "RU", ""]
    return Contact.objects.bulk_create(
        Contact(
            workspace=workspace,
            phone=f"+99450{2_000_000 + i:07d}",
            first_name="" if i % 5 == 0 else f"Name{i}",
            language=languages[i % 5],
            country=countries[i % 5],
            attributes={"code": f"c{i}", **({} if i % 3 == 0 else {"city": f"City{i % 7}"})},
        )
        for i in range(n)
    )


def expected_language(i: int) -> str:
    return ["az", "ru", "en_US", "ru", "az"][i % 5]


def test_a_template_campaign_to_1000_cold_contacts(
    workspace, owner, cloud_number, sale_templates, credits, engine_sandbox
) -> None:
    # given: 1,000 contacts who never wrote in (a free-form message would fail with 131047)
    people = cold_contacts(workspace, 1000)
    credits(1000)
    number = cloud_number()
    templates = sale_templates(number)
    register_at_meta(engine_sandbox, number)
    campaign = create_template_campaign(workspace, owner, [number], templates["az"])

    # when: launched and drained
    preflight = campaigns.campaign_preflight(campaign=campaign)
    assert preflight["blocking"] == []
    campaign = launch_now(workspace, owner, campaign)
    drain_all([number])

    # then: every message accepted once, each a template filled for its contact
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.COMPLETED
    assert (campaign.count_accepted, campaign.count_failed, campaign.count_skipped) == (1000, 0, 0)
    log = sent_log(engine_sandbox, number)
    assert len(log) == 1000
    assert {entry["type"] for entry in log} == {"template"}
    assert not [entry for entry in log if entry.get("failed_with")]
    messages = dict(
        Message.objects.filter(campaign=campaign).values_list("public_id", "contact_id")
    )
    index = {c.pk: i for i, c in enumerate(people)}
    upload_ids = set()
    for entry in log:
        i = index[messages[_uuid(entry["biz_opaque_callback_data"])]]
        template = entry["template"]
        assert template["name"] == "spring_sale"
        assert template["language"] == {"code": expected_language(i)}
        header, body, button = template["components"]
        upload_ids.add(header["parameters"][0]["image"]["id"])
        assert [p["text"] for p in body["parameters"]] == [
            "dost" if i % 5 == 0 else f"Name{i}",  # the fallback where the name is missing
            "Bakı" if i % 3 == 0 else f"City{i % 7}",  # the fallback where the city is missing
        ]
        assert (button["sub_type"], button["index"]) == ("url", "0")
        assert button["parameters"] == [{"type": "text", "text": f"c{i}"}]
    # the image went to Meta once for the campaign and number, and every send reused its id
    assert len(upload_ids) == 1
    assert engine_sandbox.number_stats(number.phone_number_id)["media_uploads"] == 1
    assert CampaignMedia.objects.get(campaign=campaign, sender=number).uploads == 1
    # the messages log shows what each contact read, in its language
    body_of = dict(Message.objects.filter(campaign=campaign).values_list("contact_id", "body"))
    assert body_of[people[1].pk].startswith("Здравствуйте, Name1!")
    assert body_of[people[2].pk].startswith("Hello Name2! Our City2 store")
    assert body_of[people[0].pk].startswith("Salam dost! Bakı mağazamızda")
    balance = billing.credits_balance(workspace=workspace)
    assert (balance.available, balance.reserved) == (0, 0)
    call_command("billing_check_ledger")


def _uuid(value: str) -> Any:
    import uuid

    return uuid.UUID(value)


def test_the_preflight_shows_languages_samples_and_contacts_lacking_a_value(
    workspace, owner, cloud_number, sale_templates, credits, engine_sandbox
) -> None:
    cold_contacts(workspace, 30)
    number = cloud_number()
    templates = sale_templates(number)
    campaign = create_template_campaign(workspace, owner, [number], templates["az"])

    preflight = campaigns.campaign_preflight(campaign=campaign)

    whatsapp = preflight["whatsapp_template"]
    assert whatsapp["approved_languages"] == ["az", "en_US", "ru"]
    assert whatsapp["languages"] == {"az": 12, "ru": 12, "en_US": 6}
    by_slot = {v["slot"]: v for v in whatsapp["variables"]}
    assert by_slot["body.1"]["lacking"] == 6  # every fifth has no first name
    assert by_slot["body.1"]["fallback_used"] == 6
    assert by_slot["body.2"]["lacking"] == 10  # every third has no city
    assert by_slot["button.0"]["lacking"] == 0
    assert all(v["empty"] == 0 for v in whatsapp["variables"])
    assert whatsapp["samples"]
    assert all(sample["text"] for sample in whatsapp["samples"])
    assert whatsapp["header_media"] == "image"


def test_free_form_text_on_a_cloud_api_number_is_refused(
    workspace, owner, cloud_number, template, credits, engine_sandbox
) -> None:
    cold_contacts(workspace, 20)
    credits(20)
    number = cloud_number()

    # the builder and the API refuse to create it
    with pytest.raises(ValidationError, match="WhatsApp template"):
        campaigns.campaign_create(
            workspace=workspace,
            actor=owner,
            name="Free text",
            template=template,
            senders=[number],
            audience={},
        )
    # a draft saved before the rule (or whose numbers changed) is refused at pre-flight
    draft = Campaign.objects.create(workspace=workspace, name="Old draft", template=template)
    draft.senders.set([number])
    preflight = campaigns.campaign_preflight(campaign=draft)
    assert preflight["can_launch"] is False
    assert any("WhatsApp template" in reason for reason in preflight["blocking"])
    with pytest.raises(ValidationError, match="WhatsApp template"):
        campaigns.campaign_launch(workspace=workspace, campaign=draft, actor=owner)
    assert not Message.objects.exists()
    assert engine_sandbox.number_stats(number.phone_number_id)["accepted"] == 0


def test_a_template_not_approved_is_not_launched(
    workspace, owner, cloud_number, sale_templates, credits, engine_sandbox
) -> None:
    cold_contacts(workspace, 5)
    credits(5)
    number = cloud_number()
    templates = sale_templates(number)
    WhatsAppTemplate.objects.filter(pk=templates["az"].pk).update(
        status=WhatsAppTemplate.Status.PENDING
    )
    campaign = create_template_campaign(workspace, owner, [number], templates["az"])

    preflight = campaigns.campaign_preflight(campaign=campaign)

    assert any("Pending" in reason for reason in preflight["blocking"])
    with pytest.raises(ValidationError, match="Pending"):
        campaigns.campaign_launch(workspace=workspace, campaign=campaign, actor=owner)


def _set_status(template: WhatsAppTemplate, status: str) -> None:
    """What the product does when Meta's status webhook or a sync changes a template."""
    old = template.status
    template.status = status
    template.save(update_fields=["status"])
    whatsapp_template_status_changed.send(
        sender=WhatsAppTemplate, template=template, old_status=old, new_status=status, reason=""
    )


def test_a_template_paused_mid_campaign_pauses_it_and_reinstating_resumes_it(
    workspace,
    owner,
    cloud_number,
    sale_templates,
    credits,
    engine_sandbox,
    django_capture_on_commit_callbacks,
) -> None:
    cold_contacts(workspace, 300)
    credits(300)
    number = cloud_number(rate=50)
    templates = sale_templates(number)
    at_meta = register_at_meta(engine_sandbox, number)
    created = create_template_campaign(
        workspace, owner, [number], templates["az"], link="https://cdn.example.az/sale.png"
    )
    campaign = launch_now(workspace, owner, created)
    dispatch.drain(sender_id=number.pk, slice_seconds=1.0)
    sent_before = engine_sandbox.number_stats(number.phone_number_id)["accepted"]
    assert 0 < sent_before < 300

    # when: Meta pauses the template (low quality): sends answer 132015
    for template_id in at_meta.values():
        answer = engine_sandbox.call(
            "POST", f"/_sandbox/templates/{template_id}/status", {"status": "PAUSED"}
        )
        assert answer.status == 200, answer.raw
    dispatch.drain(sender_id=number.pk, slice_seconds=1.0)

    # then: the campaign pauses with that reason; nothing failed, nothing charged for it
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.PAUSED
    assert campaign.pause_reason == Campaign.PauseReason.TEMPLATE_PAUSED
    assert "132015" in campaign.pause_detail
    assert not Message.objects.filter(campaign=campaign, status=Message.Status.FAILED).exists()
    accepted = Message.objects.filter(campaign=campaign, status=Message.Status.ACCEPTED).count()
    assert accepted == engine_sandbox.number_stats(number.phone_number_id)["accepted"]

    # when: Meta reinstates it (the status webhook reaches the product)
    for template_id in at_meta.values():
        engine_sandbox.call(
            "POST", f"/_sandbox/templates/{template_id}/status", {"status": "APPROVED"}
        )
    with django_capture_on_commit_callbacks(execute=True):
        for template in templates.values():
            _set_status(template, WhatsAppTemplate.Status.PAUSED)
            _set_status(template, WhatsAppTemplate.Status.APPROVED)

    # then: it resumes and completes, each contact exactly once
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.RUNNING
    drain_all([number])
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.COMPLETED
    assert campaign.count_accepted == 300
    stats = engine_sandbox.number_stats(number.phone_number_id)
    assert (stats["accepted"], stats["distinct"], stats["duplicates"]) == (300, 300, 0)
    call_command("billing_check_ledger")


def test_a_template_paused_by_meta_webhook_pauses_running_campaigns(
    workspace, owner, cloud_number, sale_templates, credits, engine_sandbox
) -> None:
    cold_contacts(workspace, 10)
    credits(10)
    number = cloud_number()
    templates = sale_templates(number)
    campaign = launch_now(
        workspace, owner, create_template_campaign(workspace, owner, [number], templates["az"])
    )

    _set_status(templates["ru"], WhatsAppTemplate.Status.DISABLED)

    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.PAUSED
    assert campaign.pause_reason == Campaign.PauseReason.TEMPLATE_DISABLED
    assert "spring_sale (ru)" in campaign.pause_detail


def test_an_expired_upload_is_uploaded_again(
    workspace, owner, cloud_number, sale_templates, credits, engine_sandbox
) -> None:
    cold_contacts(workspace, 40)
    credits(40)
    number = cloud_number()
    templates = sale_templates(number)
    register_at_meta(engine_sandbox, number)
    campaign = launch_now(
        workspace, owner, create_template_campaign(workspace, owner, [number], templates["az"])
    )
    # Meta no longer knows the id it gave (it keeps uploads 30 days)
    CampaignMedia.objects.create(campaign=campaign, sender=number, media_id="gone-1234")

    drain_all([number])

    campaign.refresh_from_db()
    assert (campaign.status, campaign.count_accepted) == (Campaign.Status.COMPLETED, 40)
    upload = CampaignMedia.objects.get(campaign=campaign, sender=number)
    assert upload.media_id != "gone-1234"
    assert engine_sandbox.number_stats(number.phone_number_id)["media_uploads"] == 1
    ids = {
        e["template"]["components"][0]["parameters"][0]["image"]["id"]
        for e in sent_log(engine_sandbox, number)
    }
    assert ids == {upload.media_id}
    assert Counter(Message.objects.filter(campaign=campaign).values_list("status", flat=True)) == {
        "accepted": 40
    }


@pytest.fixture
def web_number(workspace, owner, engine_sandbox: SandboxClient) -> Callable[[], Sender]:
    """A WhatsApp-Web number on the sandbox's WAHA, paired, at a test pace."""
    from messaging.numbers import services as numbers

    def make() -> Sender:
        with override_settings(ALLOW_PRIVATE_WEBHOOK_URLS=True):
            sender = numbers.sender_connect_web_gateway(
                workspace=workspace,
                actor=owner,
                base_url=engine_sandbox.base_url,
                api_key="sandbox",
            )
        answer = engine_sandbox.call(
            "POST", f"/_sandbox/sessions/{sender.web_session}/scan", {"phone": "994551234567"}
        )
        assert answer.status in (200, 201, 303), answer.raw
        Sender.objects.filter(pk=sender.pk).update(
            status=Sender.Status.ACTIVE,
            throughput_per_second=50,
            min_interval_ms=0,
            jitter_ms=0,
            daily_cap=1000,
        )
        sender.refresh_from_db()
        dispatch.limiter().reset(f"sender:{sender.pk}")
        return sender

    return make


def session_log(sandbox: SandboxClient, number: Sender) -> list[dict[str, Any]]:
    answer = sandbox.call("GET", f"/_sandbox/sessions/{number.web_session}/messages")
    assert answer.status == 200, answer.raw
    return answer.body["data"]


def test_a_whatsapp_web_number_sends_the_template_text_with_its_image(
    workspace, owner, web_number, sale_templates, credits, engine_sandbox
) -> None:
    people = cold_contacts(workspace, 6)
    credits(6)
    number = web_number()
    number.waba_id = "waba-of-the-templates"
    templates = sale_templates(number)
    campaign = launch_now(
        workspace, owner, create_template_campaign(workspace, owner, [number], templates["az"])
    )

    drain_all([number])

    campaign.refresh_from_db()
    assert (campaign.status, campaign.count_accepted) == (Campaign.Status.COMPLETED, 6)
    log = session_log(engine_sandbox, number)
    assert [entry["type"] for entry in log] == ["image"] * 6
    by_phone = {entry["to"]: entry for entry in log}
    first = by_phone[people[1].phone.lstrip("+")]
    assert first["caption"].startswith("Здравствуйте, Name1!")  # its language, as text
    assert first["file"]["mimetype"] == "image/png"
    assert first["file"]["size"] == len(PNG)  # the kept file, inline


def test_a_message_template_with_an_image_goes_out_by_send_image(
    workspace, owner, web_number, template, credits, engine_sandbox
) -> None:
    cold_contacts(workspace, 3)
    credits(3)
    number = web_number()
    template.media_type = "image"
    template.media_url = "https://cdn.example.az/promo.jpg"
    template.save()
    campaign = campaigns.campaign_create(
        workspace=workspace,
        actor=owner,
        name="Promo",
        template=template,
        senders=[number],
        audience={},
    )
    launch_now(workspace, owner, campaign)

    drain_all([number])

    log = session_log(engine_sandbox, number)
    assert [entry["type"] for entry in log] == ["image"] * 3
    assert {entry["file"]["url"] for entry in log} == {"https://cdn.example.az/promo.jpg"}
    assert all(entry["caption"] for entry in log)


def test_a_message_dropped_for_a_paused_template_pauses_the_campaign(
    workspace, owner, cloud_number, sale_templates, credits, engine_sandbox
) -> None:
    from messaging.engine import ingest
    from messaging.gateways.base import DeliveryStatus, ProviderError, StatusEvent

    cold_contacts(workspace, 5)
    credits(5)
    number = cloud_number(rate=1)
    templates = sale_templates(number)
    register_at_meta(engine_sandbox, number)
    created = create_template_campaign(
        workspace, owner, [number], templates["az"], link="https://cdn.example.az/sale.png"
    )
    campaign = launch_now(workspace, owner, created)
    dispatch.drain(sender_id=number.pk, slice_seconds=0.5)
    sent = Message.objects.filter(campaign=campaign, status=Message.Status.ACCEPTED).first()
    assert sent is not None

    # when: Meta held the message for quality, then dropped it: a failed status, 132015
    ingest.apply_statuses(
        workspace_id=workspace.pk,
        events=[
            StatusEvent(
                account_id=number.phone_number_id,
                provider_message_id=sent.provider_message_id,
                status=DeliveryStatus.FAILED,
                recipient=sent.phone.lstrip("+"),
                timestamp=None,
                public_id=str(sent.public_id),
                error=ProviderError(code=132015, title="Template is paused"),
            )
        ],
    )

    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.PAUSED
    assert campaign.pause_reason == Campaign.PauseReason.TEMPLATE_PAUSED
    assert "132015" in campaign.pause_detail


def test_an_upload_older_than_meta_keeps_it_is_uploaded_again(
    workspace, owner, cloud_number, sale_templates, credits, engine_sandbox
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    cold_contacts(workspace, 20)
    credits(20)
    number = cloud_number(rate=10)
    templates = sale_templates(number)
    register_at_meta(engine_sandbox, number)
    campaign = launch_now(
        workspace, owner, create_template_campaign(workspace, owner, [number], templates["az"])
    )
    dispatch.drain(sender_id=number.pk, slice_seconds=0.5)
    first = CampaignMedia.objects.get(campaign=campaign, sender=number)
    # 30 days later, Meta no longer keeps the file: the next batch uploads it again
    CampaignMedia.objects.filter(pk=first.pk).update(
        uploaded_at=timezone.now() - timedelta(days=30)
    )

    drain_all([number])

    again = CampaignMedia.objects.get(pk=first.pk)
    assert (
        again.uploads,
        engine_sandbox.number_stats(number.phone_number_id)["media_uploads"],
    ) == (
        2,
        2,
    )
    assert again.media_id != first.media_id
    campaign.refresh_from_db()
    assert (campaign.status, campaign.count_accepted) == (Campaign.Status.COMPLETED, 20)


def test_a_header_file_posted_as_html_is_stored_under_the_type_its_bytes_have(
    workspace, owner, settings
) -> None:
    # given: an approved template with an image header; the file is a PNG by its bytes, named
    # .html (MEDIA_URL is served publicly from our origin, where .html is a page)
    from core.crypto import encrypt_json

    number = Sender.objects.create(
        workspace=workspace,
        provider=Sender.Provider.CLOUD_API,
        phone_number="+994550000011",
        phone_number_id="81001",
        waba_id="waba-81",
        credentials_encrypted=encrypt_json({"access_token": "t", "app_secret": "s"}),
        status=Sender.Status.ACTIVE,
    )
    template = approved_sale(workspace, waba_id=number.waba_id, meta_id="meta-html")
    upload = SimpleUploadedFile("sale.html", PNG + b"<script>alert(1)</script>", "text/html")

    # when: the campaign is created with it
    campaign = campaigns.campaign_create(
        workspace=workspace,
        actor=owner,
        name="Spring sale",
        whatsapp_template=template,
        template_variables=VARIABLES,
        template_language="az",
        header_media_file=upload,
        senders=[number],
        audience={},
    )

    # then: it is kept as sale.png, the image it is
    stored = campaign.header_media_file.name
    assert re.fullmatch(r"campaign-media/\d{4}/\d{2}/sale(_\w+)?\.png", stored), stored
    assert campaign.header_media_type == "image/png"
