"""`POST /api/v1/campaigns/` with a WhatsApp template: variables validated against the
template's slots (400 with field errors, nothing stored), another workspace's template
refused, the mapping and the pause reason shown in GET."""

from __future__ import annotations

import pytest
from django.urls import reverse

from messaging.campaigns.models import Campaign
from messaging.content.models import WhatsAppTemplate
from messaging.numbers.models import Sender
from tests.factories import WorkspaceFactory

from .test_whatsapp_campaigns import components

pytestmark = pytest.mark.django_db


@pytest.fixture
def cloud_sender(workspace) -> Sender:
    return Sender.objects.create(
        workspace=workspace,
        provider=Sender.Provider.CLOUD_API,
        phone_number="+994551112233",
        phone_number_id="5550001",
        waba_id="waba-1",
        status=Sender.Status.ACTIVE,
    )


def _template(workspace, *, language: str = "az", **extra) -> WhatsAppTemplate:
    fields = {
        "waba_id": "waba-1",
        "name": "spring_sale",
        "language": language,
        "status": WhatsAppTemplate.Status.APPROVED,
        "components": components(language),
        **extra,
    }
    return WhatsAppTemplate.objects.create(workspace=workspace, **fields)


def _body(sender: Sender, template: WhatsAppTemplate, **extra) -> dict:
    return {
        "name": "Spring",
        "senders": [str(sender.public_id)],
        "whatsapp_template": str(template.public_id),
        "template_variables": {
            "1": "first_name",
            "2": {"field": "attributes.city", "fallback": "Bakı"},
            "button.0": {"text": "spring"},
        },
        "header_media_url": "https://cdn.example.az/sale.png",
        **extra,
    }


def test_a_template_campaign_is_created_and_shown(
    api_client_with_scopes, workspace, cloud_sender
) -> None:
    template = _template(workspace)
    client = api_client_with_scopes("campaigns:write", "campaigns:read")

    created = client.post(
        reverse("api:campaign-list"), _body(cloud_sender, template), format="json"
    )

    assert created.status_code == 201, created.json()
    shown = client.get(reverse("api:campaign-detail", args=[created.json()["id"]])).json()
    assert shown["whatsapp_template"] == str(template.public_id)
    assert shown["template"] is None
    assert shown["template_language"] == "az"
    assert shown["template_variables"] == {
        "body.1": {"field": "first_name", "fallback": ""},
        "body.2": {"field": "attributes.city", "fallback": "Bakı"},
        "button.0": {"text": "spring"},
    }
    assert shown["header_media_url"] == "https://cdn.example.az/sale.png"


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"1": "first_name", "button.0": {"text": "x"}}, "body.2"),  # a variable left unmapped
        ({"1": "shoe_size", "2": "first_name", "button.0": {"text": "x"}}, "shoe_size"),
        ({"1": "first_name", "2": "last_name", "3": "phone", "button.0": {"text": "x"}}, "'3'"),
        (
            {"1": {"field": "first_name", "text": "x"}, "2": "phone", "button.0": "phone"},
            "not both",
        ),
    ],
)
def test_variables_are_checked_against_the_template(
    api_client_with_scopes, workspace, cloud_sender, variables, message
) -> None:
    template = _template(workspace)
    client = api_client_with_scopes("campaigns:write")

    answer = client.post(
        reverse("api:campaign-list"),
        _body(cloud_sender, template, template_variables=variables),
        format="json",
    )

    assert answer.status_code == 400
    errors = answer.json()["template_variables"]
    assert any(message in error for error in errors), errors
    assert not Campaign.objects.exists()


def test_a_media_header_needs_its_file_or_link(
    api_client_with_scopes, workspace, cloud_sender
) -> None:
    template = _template(workspace)
    client = api_client_with_scopes("campaigns:write")

    answer = client.post(
        reverse("api:campaign-list"),
        _body(cloud_sender, template, header_media_url=""),
        format="json",
    )

    assert answer.status_code == 400
    assert "header_media_file" in answer.json()
    assert not Campaign.objects.exists()


def test_another_workspaces_template_is_refused(
    api_client_with_scopes, workspace, cloud_sender
) -> None:
    foreign = _template(WorkspaceFactory(name="Gamma"))
    client = api_client_with_scopes("campaigns:write")

    answer = client.post(reverse("api:campaign-list"), _body(cloud_sender, foreign), format="json")

    assert answer.status_code == 400
    assert "whatsapp_template" in answer.json()
    assert not Campaign.objects.exists()


def test_free_text_on_a_cloud_api_number_is_refused_with_a_reason_offering_a_template(
    api_client_with_scopes, workspace, cloud_sender, template
) -> None:
    client = api_client_with_scopes("campaigns:write")

    answer = client.post(
        reverse("api:campaign-list"),
        {
            "name": "Free",
            "senders": [str(cloud_sender.public_id)],
            "template": str(template.public_id),
        },
        format="json",
    )

    assert answer.status_code == 400
    assert "WhatsApp template" in " ".join(answer.json()["template"])


def test_a_template_pause_is_shown_with_its_reason(
    api_client_with_scopes, workspace, cloud_sender
) -> None:
    template = _template(workspace)
    client = api_client_with_scopes("campaigns:write", "campaigns:read")
    created = client.post(
        reverse("api:campaign-list"), _body(cloud_sender, template), format="json"
    )
    Campaign.objects.filter(public_id=created.json()["id"]).update(
        status=Campaign.Status.PAUSED,
        pause_reason=Campaign.PauseReason.TEMPLATE_PAUSED,
        pause_detail="Meta set spring_sale (az) to PAUSED.",
    )

    shown = client.get(reverse("api:campaign-detail", args=[created.json()["id"]])).json()

    assert shown["pause_reason"] == "template_paused"
    assert shown["pause_reason_text"] == (
        "Meta paused the WhatsApp template: Meta set spring_sale (az) to PAUSED."
    )


def test_the_builder_refuses_free_text_on_a_cloud_api_number_and_offers_a_template(
    member_client, workspace, cloud_sender, template
) -> None:
    _template(workspace)
    response = member_client.post(
        reverse("messaging_campaigns:new", args=[workspace.slug]),
        {
            "name": "Free",
            "template": template.pk,
            "senders": [cloud_sender.pk],
            "pacing_preset": "fast",
        },
    )

    assert response.status_code == 200
    body = response.content.decode()
    assert "choose a WhatsApp template" in body
    assert "spring_sale · az" in body  # the approved template is on offer
    assert not Campaign.objects.exists()


def test_the_builder_shows_the_template_variables_and_keeps_the_mapping(
    member_client, workspace, cloud_sender
) -> None:
    wa = _template(workspace)
    _template(workspace, language="ru")
    part = member_client.get(
        reverse("messaging_campaigns:template_part", args=[workspace.slug]),
        {"whatsapp_template": wa.pk},
    )
    html = part.content.decode()
    assert "body {{1}}" in html
    assert "body {{2}}" in html
    assert "button 1 (url)" in html
    assert 'value="ru"' in html  # the translations are the default-language choices

    response = member_client.post(
        reverse("messaging_campaigns:new", args=[workspace.slug]),
        {
            "name": "Spring",
            "whatsapp_template": wa.pk,
            "var_source__body.1": "first_name",
            "var_value__body.1": "dost",
            "var_source__body.2": "__text__",
            "var_value__body.2": "Bakı",
            "var_source__button.0": "phone",
            "var_value__button.0": "",
            "template_language": "ru",
            "header_media_url": "https://cdn.example.az/sale.png",
            "senders": [cloud_sender.pk],
            "pacing_preset": "fast",
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    campaign = Campaign.objects.get()
    assert campaign.template_variables == {
        "body.1": {"field": "first_name", "fallback": "dost"},
        "body.2": {"text": "Bakı"},
        "button.0": {"field": "phone", "fallback": ""},
    }
    assert campaign.template_language == "ru"


def test_a_number_of_another_business_account_is_warned_about(workspace, cloud_sender) -> None:
    from messaging.campaigns import services as campaigns

    other = Sender.objects.create(
        workspace=workspace,
        provider=Sender.Provider.CLOUD_API,
        phone_number="+994551112299",
        phone_number_id="5550002",
        waba_id="waba-2",
        status=Sender.Status.ACTIVE,
    )
    campaign = campaigns.campaign_create(
        workspace=workspace,
        actor=None,
        name="Two accounts",
        whatsapp_template=_template(workspace),
        template_variables={"1": "first_name", "2": "phone", "button.0": "phone"},
        header_media_url="https://cdn.example.az/sale.png",
        senders=[cloud_sender, other],
        audience={},
    )

    warnings = campaigns.campaign_preflight(campaign=campaign)["warnings"]

    assert any("+994551112299" in w and "132001" in w for w in warnings)
