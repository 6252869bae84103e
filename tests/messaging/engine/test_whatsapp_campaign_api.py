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
