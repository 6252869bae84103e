"""F7 of issue 17: requests that answered 500. Each is now a clear 4xx (or a proper answer)."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from messaging.campaigns.models import Campaign
from messaging.content.models import MessageTemplate

from .isolation import API_OBJECTS, Tenant, make_tenant

pytestmark = pytest.mark.django_db


@pytest.fixture
def tenant() -> Tenant:
    return make_tenant("Gamma Foods", "gamma-foods")


@pytest.fixture
def api(tenant: Tenant) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tenant.api_secret}")
    return client


def _template_in_use(tenant: Tenant) -> MessageTemplate:
    campaign = Campaign.objects.get(public_id=API_OBJECTS["campaign"](tenant))
    return campaign.template


def test_deleting_a_template_a_campaign_uses_is_a_409_and_keeps_it(tenant, api) -> None:
    template = _template_in_use(tenant)

    answer = api.delete(f"/api/v1/templates/{template.public_id}/")

    assert answer.status_code == 409
    assert "Iso campaign" in answer.json()["detail"]
    assert MessageTemplate.objects.filter(pk=template.pk).exists()


def test_deleting_a_template_a_campaign_uses_in_the_dashboard_says_why(tenant) -> None:
    template = _template_in_use(tenant)
    browser = Client()
    browser.force_login(tenant.owner)

    page = browser.post(
        f"/w/{tenant.workspace.slug}/templates/{template.public_id}/delete/", follow=True
    )

    assert page.status_code == 200
    assert "Iso campaign" in page.content.decode()
    assert MessageTemplate.objects.filter(pk=template.pk).exists()


def test_an_unused_template_is_still_deleted(tenant, api) -> None:
    template_id = API_OBJECTS["template"](tenant)
    assert api.delete(f"/api/v1/templates/{template_id}/").status_code == 204


@pytest.mark.parametrize(
    ("basename", "path"),
    [
        ("campaign", "campaigns/{id}/preflight"),
        ("segment", "segments/{id}/audience"),
        ("contact-import", "imports/{id}/rejections"),
        ("automation-rule", "automation-rules/{id}/runs"),
    ],
)
def test_a_format_suffix_on_an_action_is_never_a_500(tenant, api, basename, path) -> None:
    url = "/api/v1/" + path.format(id=API_OBJECTS[basename](tenant))

    plain = api.get(url + "/")
    suffixed = api.get(url + ".json")

    assert plain.status_code == 200
    assert suffixed.status_code in (200, 404)
    if suffixed.status_code == 200:
        assert suffixed.json() == plain.json()


def test_messages_filtered_by_a_malformed_campaign_id_is_a_400(api) -> None:
    answer = api.get("/api/v1/messages/", {"campaign": "notauuid"})

    assert answer.status_code == 400
    assert "campaign" in answer.json()


def test_a_campaign_with_a_garbage_audience_is_refused_at_create(tenant, api) -> None:
    template_id = API_OBJECTS["template"](tenant)
    number_id = API_OBJECTS["number"](tenant)

    answer = api.post(
        "/api/v1/campaigns/",
        {
            "name": "Garbage",
            "template": str(template_id),
            "senders": [str(number_id)],
            "audience": {"created_after": "garbage"},
        },
        format="json",
    )

    assert answer.status_code == 400, answer.content
    assert "audience" in answer.json()
    assert not Campaign.objects.filter(name="Garbage").exists()
