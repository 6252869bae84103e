"""Warm-up plans from the numbers pages (issue #21): a new number is offered a warm-up plan when
it is connected (ticked by default), its page shows today's cap and the steps, and the user can
stop it or start it again."""

from __future__ import annotations

import pytest
from django.test import override_settings
from django.urls import reverse

from messaging.engine.caps import effective_daily_cap
from messaging.numbers.models import Sender, WarmupPlan

from ..conftest import SandboxClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def graph(sandbox: SandboxClient):
    with override_settings(
        SANDBOX_GATEWAY_URL=sandbox.base_url, WHATSAPP_GRAPH_URL=sandbox.base_url
    ):
        yield sandbox


def _cloud_form(phone_id: str) -> dict[str, str]:
    return {
        "provider": "cloud_api",
        "cloud-phone_number_id": phone_id,
        "cloud-waba_id": "778",
        "cloud-app_secret": "s3cret",
        "cloud-access_token": f"token-{phone_id}",
        "cloud-label": "New",
    }


def test_a_new_number_connected_with_warm_up_ticked_starts_its_plan(
    member_client, workspace, graph
):
    # given: the add form offers the warm-up, ticked
    url = reverse("messaging_numbers:add", args=[workspace.slug])
    form_page = member_client.get(url).content.decode()
    assert 'name="cloud-warm_up" id="id_cloud-warm_up" value="1" checked' in form_page
    graph.register("5553001", access_token="token-5553001", display_phone_number="994503330001")

    # when: the number is connected with it ticked
    response = member_client.post(url, {**_cloud_form("5553001"), "cloud-warm_up": "1"})

    # then: the plan runs from its first step; the engine's cap for the number is 50
    sender = Sender.objects.get(phone_number_id="5553001")
    assert response.status_code == 302
    plan = WarmupPlan.objects.get(sender=sender)
    assert (plan.state, plan.cap_today, plan.steps) == (
        WarmupPlan.State.RUNNING,
        50,
        [50, 100, 200, 400, 800, 1600],
    )
    assert effective_daily_cap(sender) == 50
    page = member_client.get(
        reverse("messaging_numbers:detail", args=[workspace.slug, sender.public_id])
    ).content.decode()
    assert "at most 50 messages today" in page

    # when: the user stops it
    member_client.post(
        reverse("messaging_numbers:warmup", args=[workspace.slug, sender.public_id]), {"stop": "1"}
    )

    # then: the number's own cap applies again
    plan.refresh_from_db()
    assert plan.state == WarmupPlan.State.STOPPED
    assert effective_daily_cap(sender) == sender.daily_cap

    # when: they start it again from the number's page
    member_client.post(reverse("messaging_numbers:warmup", args=[workspace.slug, sender.public_id]))
    plan.refresh_from_db()
    assert (plan.state, plan.step) == (WarmupPlan.State.RUNNING, 0)


def test_a_number_connected_without_the_warm_up_has_no_plan(member_client, workspace, graph):
    graph.register("5553002", access_token="token-5553002", display_phone_number="994503330002")

    member_client.post(
        reverse("messaging_numbers:add", args=[workspace.slug]), _cloud_form("5553002")
    )

    sender = Sender.objects.get(phone_number_id="5553002")
    assert not WarmupPlan.objects.filter(sender=sender).exists()
    assert effective_daily_cap(sender) == sender.daily_cap
