"""End to end over HTTP, nothing injected: a campaign runs on a sandbox number that enforces
Meta's rules (`"rules": "meta"`); Meta (the sandbox) pauses its template and posts the signed
`message_template_status_update` webhook to the product's receiver (a live server), and the
campaign pauses with that reason; Meta reinstates it (the APPROVED webhook) and the campaign
resumes and completes, each contact exactly once."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.management import call_command
from django.test import override_settings

from billing import services as billing
from messaging.campaigns import services as campaigns
from messaging.campaigns.models import Campaign, Message
from messaging.contacts.models import Contact
from messaging.content import services as content
from messaging.content.models import WhatsAppTemplate
from messaging.engine import dispatch, fanout
from messaging.engine.adapters import sender_credentials
from messaging.numbers import services as senders
from messaging.numbers.models import Sender
from messaging.numbers.selectors import sender_webhook_url
from tests.factories import MembershipFactory

from ..conftest import SandboxClient, wait_until
from .conftest import drain_all
from .test_whatsapp_campaigns import VARIABLES, components

pytestmark = pytest.mark.django_db(transaction=True)

RECIPIENTS = 200


@pytest.fixture
def product(live_server, sandbox: SandboxClient) -> Iterator[str]:
    """The product's public address is the live server: numbers register their webhook URL
    there, so the sandbox's webhooks travel over HTTP to the real receiver."""
    with override_settings(SANDBOX_GATEWAY_URL=sandbox.base_url, SITE_URL=live_server.url):
        yield live_server.url
        # Late status webhooks must not reach the live server while the tables are flushed
        # (a receiver's insert deadlocked with the teardown's TRUNCATE once).
        sandbox.wait_idle()


def _meta_rules_number(sandbox: SandboxClient, workspace, owner) -> Sender:
    """A one-click sandbox number, registered again (an idempotent upsert) with Meta's rules:
    the 24-hour window is enforced, so only templates reach contacts who never wrote in."""
    number = senders.sender_connect_sandbox(workspace=workspace, actor=owner)
    Sender.objects.filter(pk=number.pk).update(throughput_per_second=40, daily_cap=100_000)
    number.refresh_from_db()
    creds = sender_credentials(number)
    sandbox.register(
        number.phone_number_id,
        display_phone_number=number.phone_number.lstrip("+"),
        access_token=creds["access_token"],
        app_secret=creds["app_secret"],
        callback_url=sender_webhook_url(number),
        throughput_per_second=40,
        waba_id=number.waba_id,
        rules="meta",
    )
    registered = {n["phone_number_id"]: n for n in sandbox.call("GET", "/_sandbox/numbers").body}
    assert registered[number.phone_number_id]["rules"] == "meta"
    dispatch.limiter().reset(f"sender:{number.pk}")
    return number


def _campaign(workspace) -> Campaign:
    campaign = Campaign.objects.get(workspace=workspace)
    return campaign


def test_meta_pauses_the_template_over_http_and_reinstates_it(
    product: str, sandbox: SandboxClient
) -> None:
    # given: a running template campaign to cold contacts on a Meta-rules sandbox number
    owner = MembershipFactory().user
    workspace = owner.memberships.get().workspace
    number = _meta_rules_number(sandbox, workspace, owner)
    registered = sandbox.call(
        "POST",
        "/_sandbox/templates",
        {
            "waba_id": number.waba_id,
            "name": "spring_sale",
            "language": "az",
            "category": "MARKETING",
            "components": components("az"),
            "status": "APPROVED",
        },
    )
    assert registered.status == 201, registered.raw
    meta_id = registered.body["id"]
    content.whatsapp_templates_sync(workspace=workspace, sender=number)
    template = WhatsAppTemplate.objects.get(workspace=workspace, name="spring_sale")
    assert (template.meta_id, template.status) == (meta_id, WhatsAppTemplate.Status.APPROVED)
    # Contacts who never wrote in (none of them a number the sandbox says is not on WhatsApp)
    Contact.objects.bulk_create(
        Contact(
            workspace=workspace,
            phone=f"+99451{3_000_001 + i:07d}",
            first_name=f"Name{i}",
            language="az",
            attributes={"city": "Gəncə", "code": f"c{i}"},
        )
        for i in range(RECIPIENTS)
    )
    billing.credits_adjust(workspace=workspace, amount=RECIPIENTS, reason="test", actor=owner)
    created = campaigns.campaign_create(
        workspace=workspace,
        actor=owner,
        name="Spring sale",
        whatsapp_template=template,
        template_variables=VARIABLES,
        template_language="az",
        header_media_url="https://cdn.example.az/sale.png",
        senders=[number],
        audience={},
    )
    campaigns.campaign_launch(workspace=workspace, campaign=created, actor=owner)
    while fanout.fanout_chunk(campaign_id=created.pk, chunk=400):
        pass
    dispatch.drain(sender_id=number.pk, slice_seconds=1.0)
    sent_before = sandbox.number_stats(number.phone_number_id)["accepted"]
    assert 0 < sent_before < RECIPIENTS
    assert _campaign(workspace).status == Campaign.Status.RUNNING

    # when: Meta pauses the template (its quality fell); the sandbox posts the webhook
    answer = sandbox.call("POST", f"/_sandbox/templates/{meta_id}/status", {"status": "PAUSED"})
    assert answer.status == 200, answer.raw

    # then: the product hears it over HTTP and the campaign pauses with that reason
    wait_until(lambda: _campaign(workspace).status == Campaign.Status.PAUSED)
    paused = _campaign(workspace)
    assert paused.pause_reason == Campaign.PauseReason.TEMPLATE_PAUSED
    assert "spring_sale" in paused.pause_detail
    template.refresh_from_db()
    assert template.status == WhatsAppTemplate.Status.PAUSED
    # nothing more goes out while it is paused, and nothing failed or was charged for it
    dispatch.drain(sender_id=number.pk, slice_seconds=0.5)
    stalled = sandbox.number_stats(number.phone_number_id)["accepted"]
    dispatch.drain(sender_id=number.pk, slice_seconds=0.5)
    assert sandbox.number_stats(number.phone_number_id)["accepted"] == stalled
    assert not Message.objects.filter(campaign=paused, status=Message.Status.FAILED).exists()

    # when: Meta reinstates it (the APPROVED status webhook)
    answer = sandbox.call("POST", f"/_sandbox/templates/{meta_id}/status", {"status": "REINSTATED"})
    assert answer.status == 200, answer.raw

    # then: the campaign resumes and completes, each contact exactly once
    wait_until(lambda: _campaign(workspace).status == Campaign.Status.RUNNING)
    drain_all([number])
    done = _campaign(workspace)
    assert done.status == Campaign.Status.COMPLETED
    assert (done.count_accepted, done.count_failed, done.count_skipped) == (RECIPIENTS, 0, 0)
    stats = sandbox.number_stats(number.phone_number_id)
    assert (stats["accepted"], stats["distinct"], stats["duplicates"]) == (
        RECIPIENTS,
        RECIPIENTS,
        0,
    )
    log = sandbox.call("GET", f"/_sandbox/numbers/{number.phone_number_id}/messages").body
    assert {entry["type"] for entry in log["data"]} == {"template"}
    assert not [entry for entry in log["data"] if entry.get("failed_with")]
    call_command("billing_check_ledger")
