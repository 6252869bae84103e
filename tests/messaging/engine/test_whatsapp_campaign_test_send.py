""" "Send a test" of a WhatsApp-template campaign: the same `type: template` message the
campaign sends (filled for the test recipient's contact, in its language, with the fallbacks;
the header image by the id uploaded to the number), through the engine and one credit, to a
number that never wrote in (a template needs no open 24-hour window)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from billing import services as billing
from messaging.campaigns import services as campaigns
from messaging.campaigns.models import CampaignMedia, Message
from messaging.contacts.models import Contact
from messaging.content.models import WhatsAppTemplate

from . import test_whatsapp_campaigns as neighbour
from .conftest import drain_all
from .test_whatsapp_campaigns import (
    cold_contacts,
    create_template_campaign,
    launch_now,
    register_at_meta,
    sent_log,
)

# The neighbour's fixtures: a Cloud API number on the sandbox, the approved templates, media
# in a temporary folder.
cloud_number = neighbour.cloud_number
sale_templates = neighbour.sale_templates
_media_root = neighbour._media_root

pytestmark = pytest.mark.django_db


def _template_of(entry: dict[str, Any]) -> dict[str, Any]:
    assert entry["type"] == "template", entry
    return entry["template"]


def test_a_test_send_is_the_campaigns_template_filled_for_the_contact(
    workspace, owner, cloud_number, sale_templates, credits, engine_sandbox
) -> None:
    # given: a template campaign with an image header, and a Russian-speaking contact with no
    # city (the fallback is used) who never wrote to the business
    people = cold_contacts(workspace, 10)
    Contact.objects.create(
        workspace=workspace,
        phone="+994507770011",
        first_name="Olga",
        language="ru",
        attributes={"code": "olga10"},
    )
    credits(12)
    number = cloud_number()
    templates = sale_templates(number)
    register_at_meta(engine_sandbox, number)
    campaign = create_template_campaign(workspace, owner, [number], templates["az"])

    # when: the test goes to the contact's number (typed as a person types it)
    message = campaigns.campaign_send_test(
        workspace=workspace, campaign=campaign, actor=owner, to="050 777 00 11"
    )
    drain_all([number])

    # then: Meta's sandbox got one template message, filled for Olga in Russian
    [entry] = sent_log(engine_sandbox, number)
    assert entry["to"] == "994507770011"
    template = _template_of(entry)
    assert template["name"] == "spring_sale"
    assert template["language"] == {"code": "ru"}
    header, body, button = template["components"]
    media_id = header["parameters"][0]["image"]["id"]
    assert media_id
    assert [p["text"] for p in body["parameters"]] == ["Olga", "Bakı"]
    assert button["parameters"] == [{"type": "text", "text": "olga10"}]
    message.refresh_from_db()
    assert message.campaign_id is None  # not one of the campaign's recipients
    assert message.status in {Message.Status.ACCEPTED, Message.Status.DELIVERED, "read", "sent"}
    assert message.body.startswith("Здравствуйте, Olga! В магазине Bakı")
    # one credit, as a text campaign's test costs
    assert billing.credits_balance(workspace=workspace).available == 11

    # and the campaign's own sends reuse the image uploaded for the test
    campaign = launch_now(workspace, owner, campaign)
    drain_all([number])
    log = sent_log(engine_sandbox, number)
    assert len(log) == 1 + len(people) + 1  # the test, then every contact (Olga included)
    assert {_template_of(e)["components"][0]["parameters"][0]["image"]["id"] for e in log} == {
        media_id
    }
    assert CampaignMedia.objects.get(campaign=campaign, sender=number).uploads == 1
    assert engine_sandbox.number_stats(number.phone_number_id)["media_uploads"] == 1
    call_command("billing_check_ledger")


def test_a_number_that_is_no_contact_gets_the_users_name_and_the_fallbacks(
    workspace, owner, cloud_number, sale_templates, credits, engine_sandbox
) -> None:
    credits(1)
    number = cloud_number()
    templates = sale_templates(number)
    register_at_meta(engine_sandbox, number)
    owner.first_name = "Rauf"
    owner.save(update_fields=["first_name"])
    campaign = create_template_campaign(workspace, owner, [number], templates["az"])

    campaigns.campaign_send_test(
        workspace=workspace, campaign=campaign, actor=owner, to="+994507770099"
    )
    drain_all([number])

    [entry] = sent_log(engine_sandbox, number)
    template = _template_of(entry)
    assert template["language"] == {"code": "az"}  # the campaign's default language
    header, body, button = template["components"]
    assert [p["text"] for p in body["parameters"]] == ["Rauf", "Bakı"]
    assert button["parameters"] == [{"type": "text", "text": "all"}]


def test_a_template_meta_has_not_approved_is_not_sent_as_a_test(
    workspace, owner, cloud_number, sale_templates, credits, engine_sandbox
) -> None:
    credits(1)
    number = cloud_number()
    templates = sale_templates(number)
    campaign = create_template_campaign(workspace, owner, [number], templates["az"])
    WhatsAppTemplate.objects.filter(name="spring_sale").update(
        status=WhatsAppTemplate.Status.PENDING
    )

    with pytest.raises(ValidationError, match="Pending"):
        campaigns.campaign_send_test(
            workspace=workspace, campaign=campaign, actor=owner, to="+994507770099"
        )

    assert not Message.objects.exists()
    assert billing.credits_balance(workspace=workspace).available == 1


def test_a_text_campaigns_test_still_goes_out_as_text(
    workspace, owner, sandbox_number, template, credits, engine_sandbox
) -> None:
    credits(1)
    number = sandbox_number()
    campaign = campaigns.campaign_create(
        workspace=workspace,
        actor=owner,
        name="Promo",
        template=template,
        senders=[number],
        audience={},
    )

    campaigns.campaign_send_test(
        workspace=workspace, campaign=campaign, actor=owner, to="+994507770099"
    )
    drain_all([number])

    [entry] = sent_log(engine_sandbox, number)
    assert entry["type"] == "text"
