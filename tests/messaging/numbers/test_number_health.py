"""Live number health: Meta's quality and tier webhooks and the periodic node refresh update the
number, keep a history shown on the numbers pages, tell the workspace when quality drops, raise
the pace on a throughput upgrade; the pre-flight checks the WABA's tier headroom."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent, Notification
from core.crypto import encrypt_json
from messaging.campaigns import services as campaigns
from messaging.campaigns.models import Message
from messaging.contacts.models import Contact
from messaging.content.models import MessageTemplate
from messaging.numbers import services as number_services
from messaging.numbers.models import NumberHealthChange, Sender
from messaging.numbers.tasks import numbers_health_refresh_task

from ..conftest import SandboxClient

pytestmark = pytest.mark.django_db

SECRET = "health-app-secret"
WABA = "990001"


@pytest.fixture
def graph(sandbox: SandboxClient):
    with override_settings(
        SANDBOX_GATEWAY_URL=sandbox.base_url, WHATSAPP_GRAPH_URL=sandbox.base_url
    ):
        yield sandbox


def _connect(workspace, owner, graph: SandboxClient, phone_id: str, display: str) -> Sender:
    graph.register(
        phone_id,
        access_token=f"token-{phone_id}",
        display_phone_number=display,
        waba_id=WABA,
        messaging_limit_tier="TIER_2K",
    )
    return number_services.sender_connect_cloud_api(
        workspace=workspace,
        actor=owner,
        phone_number_id=phone_id,
        waba_id=WABA,
        access_token=f"token-{phone_id}",
        app_secret=SECRET,
    )


def _meta_webhook(sender: Sender, field: str, value: dict) -> None:
    """Meta's signed account-level webhook, received and applied (tasks run inline)."""
    payload = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": WABA,
                "time": int(timezone.now().timestamp()),
                "changes": [{"field": field, "value": value}],
            }
        ],
    }
    body = json.dumps(payload).encode()
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    response = Client().post(
        reverse("messaging_webhooks:webhook_whatsapp", args=[sender.public_id]),
        body,
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE_256=signature,
    )
    assert response.status_code == 200


def test_quality_drop_webhook_shows_on_the_numbers_pages_with_history_and_a_notice(
    member_client, workspace, owner, graph, django_capture_on_commit_callbacks
) -> None:
    # given: a Cloud API number whose quality Meta rates High
    sender = _connect(workspace, owner, graph, "5551001", "994501110001")
    assert sender.quality == "green"
    assert sender.messaging_limit_tier == "TIER_2K"  # read at connection

    # when: the rating drops to Low and Meta says so (FLAGGED); we ask the node for the rating
    graph.call("POST", "/_sandbox/numbers/5551001/health", {"quality_rating": "RED"})
    with django_capture_on_commit_callbacks(execute=True):
        _meta_webhook(
            sender,
            "phone_number_quality_update",
            {
                "display_phone_number": "994501110001",
                "event": "FLAGGED",
                "current_limit": "TIER_2K",
            },
        )

    # then: the numbers list shows Low, the number's page the change in its history
    sender.refresh_from_db()
    assert sender.quality == "red"
    listing = member_client.get(reverse("messaging_numbers:list", args=[workspace.slug]))
    assert 'data-testid="number-quality">Low<' in listing.content.decode()
    assert "2,000 recipients a day" in listing.content.decode()
    detail = member_client.get(
        reverse("messaging_numbers:detail", args=[workspace.slug, sender.public_id])
    ).content.decode()
    assert "<td>Quality</td><td>green</td><td>red</td><td>Asked Meta (FLAGGED)</td>" in detail
    change = NumberHealthChange.objects.get(sender=sender, field="quality")
    assert (change.old_value, change.new_value) == ("green", "red")

    # and: the workspace got a notice
    notice = Notification.objects.get(workspace=workspace, kind="number.quality_dropped")
    assert "from High to Low" in notice.text
    assert "+994501110001" in notice.text


def test_tier_change_applies_to_every_number_of_the_business_account(
    member_client, workspace, owner, graph, django_capture_on_commit_callbacks
) -> None:
    first = _connect(workspace, owner, graph, "5551002", "994501110002")
    second = _connect(workspace, owner, graph, "5551003", "994501110003")

    # (Meta calls one URL per app: the second number's event arrives on the first's URL)
    with django_capture_on_commit_callbacks(execute=True):
        _meta_webhook(
            first,
            "phone_number_quality_update",
            {
                "display_phone_number": "994501110003",
                "event": "DOWNGRADE",
                "old_limit": "TIER_2K",
                "current_limit": "TIER_250",
            },
        )

    for number in (first, second):
        number.refresh_from_db()
        assert number.messaging_limit_tier == "TIER_250"
        change = NumberHealthChange.objects.get(sender=number, field="tier", source="webhook")
        assert (change.old_value, change.new_value, change.event) == (
            "TIER_2K",
            "TIER_250",
            "DOWNGRADE",
        )
    page = member_client.get(
        reverse("messaging_numbers:detail", args=[workspace.slug, second.public_id])
    ).content.decode()
    assert "250 recipients a day (TIER_250)" in page


def test_throughput_upgrade_raises_the_standard_pace_and_keeps_a_chosen_one(
    workspace, owner, graph, django_capture_on_commit_callbacks
) -> None:
    standard = _connect(workspace, owner, graph, "5551004", "994501110004")
    chosen = _connect(workspace, owner, graph, "5551005", "994501110005")
    Sender.objects.filter(pk=chosen.pk).update(throughput_per_second=20)

    with django_capture_on_commit_callbacks(execute=True):
        for number, display in ((standard, "994501110004"), (chosen, "994501110005")):
            _meta_webhook(
                number,
                "phone_number_quality_update",
                {
                    "display_phone_number": display,
                    "event": "THROUGHPUT_UPGRADE",
                    "current_limit": "TIER_UNLIMITED",
                },
            )

    standard.refresh_from_db()
    chosen.refresh_from_db()
    assert (standard.throughput_level, standard.throughput_per_second) == ("HIGH", 1000)
    assert (chosen.throughput_level, chosen.throughput_per_second) == ("HIGH", 20)
    assert standard.messaging_limit_tier == "TIER_2K"  # TIER_UNLIMITED was the throughput
    assert AuditEvent.objects.filter(action="number.throughput_raised").count() == 1


def test_periodic_refresh_reads_the_phone_number_node(workspace, owner, graph) -> None:
    assert "numbers-health-refresh" in settings.CELERY_BEAT_SCHEDULE
    sender = _connect(workspace, owner, graph, "5551006", "994501110006")
    graph.call(
        "POST",
        "/_sandbox/numbers/5551006/health",
        {
            "quality_rating": "YELLOW",
            "messaging_limit_tier": "TIER_10K",
            "throughput_level": "HIGH",
        },
    )

    refreshed = numbers_health_refresh_task()

    sender.refresh_from_db()
    assert refreshed == 1
    assert (sender.quality, sender.messaging_limit_tier, sender.throughput_level) == (
        "yellow",
        "TIER_10K",
        "HIGH",
    )
    # Meta's upgrade raised the standard pace to 1,000/s; the quality drop in the same report
    # then slowed the number to half of it (automatic protection, issue #21).
    assert AuditEvent.objects.get(action="number.throughput_raised").details["to"] == 1000
    assert (sender.protection, sender.throughput_per_second) == ("slowed", 500)
    assert sender.health_checked_at is not None
    assert set(
        NumberHealthChange.objects.filter(sender=sender, source="refresh").values_list(
            "field", "new_value"
        )
    ) == {("quality", "yellow"), ("tier", "TIER_10K"), ("throughput", "HIGH")}
    assert Notification.objects.filter(kind="number.quality_dropped").count() == 1

    # a second refresh with nothing new records nothing
    numbers_health_refresh_task()
    assert NumberHealthChange.objects.filter(sender=sender, source="refresh").count() == 3


def _number(workspace, phone_id: str, tier: str) -> Sender:
    return Sender.objects.create(
        workspace=workspace,
        provider=Sender.Provider.SANDBOX,
        phone_number=f"+99455{phone_id}",
        phone_number_id=phone_id,
        waba_id="waba-shared",
        credentials_encrypted=encrypt_json({"access_token": "t", "app_secret": "s"}),
        status=Sender.Status.ACTIVE,
        messaging_limit_tier=tier,
        daily_cap=100_000,
    )


def test_preflight_warns_when_the_wabas_tier_cannot_cover_the_audience(workspace, owner) -> None:
    # given: two numbers of one business account at TIER_250; the other number messaged 200
    # people in the last 24 hours (and 300 more two days ago, which no longer count)
    sending = _number(workspace, "1000001", "TIER_250")
    sibling = _number(workspace, "1000002", "TIER_250")
    now = timezone.now()
    Message.objects.bulk_create(
        [
            Message(
                workspace=workspace,
                sender=sibling,
                phone=f"+99470{i:07d}",
                status="delivered",
                accepted_at=now - timedelta(hours=2),
            )
            for i in range(200)
        ]
        + [
            Message(
                workspace=workspace,
                sender=sibling,
                phone=f"+99477{i:07d}",
                status="delivered",
                accepted_at=now - timedelta(hours=49),
            )
            for i in range(300)
        ]
    )
    Contact.objects.bulk_create(
        Contact(workspace=workspace, phone=f"+99450{2_000_000 + i:07d}") for i in range(100)
    )
    template = MessageTemplate.objects.create(workspace=workspace, name="Hi", variants=["Hi"])
    campaign = campaigns.campaign_create(
        workspace=workspace,
        actor=owner,
        name="Tiered",
        template=template,
        senders=[sending],
        audience={},
    )

    # when
    preflight = campaigns.campaign_preflight(campaign=campaign)

    # then: 50 fit in the next 24 h, the other 50 wait a day
    (warning,) = [w for w in preflight["warnings"] if "messaging limit" in w]
    assert "business account waba-shared" in warning
    assert "200 were messaged in the last 24 hours, so 50 more can be reached today" in warning
    assert "other 50 wait for the next days. Estimated finish: in 2 days." in warning
    assert preflight["estimated_seconds"] >= 86_400

    # and: with an unlimited tier there is no such warning
    Sender.objects.filter(waba_id="waba-shared").update(messaging_limit_tier="TIER_UNLIMITED")
    relaxed = campaigns.campaign_preflight(campaign=campaign)
    assert not [w for w in relaxed["warnings"] if "messaging limit" in w]


def test_account_update_restriction_is_kept_in_the_numbers_history(
    member_client, workspace, owner, graph, django_capture_on_commit_callbacks
) -> None:
    sender = _connect(workspace, owner, graph, "5551007", "994501110007")

    with django_capture_on_commit_callbacks(execute=True):
        _meta_webhook(
            sender,
            "account_update",
            {
                "event": "ACCOUNT_RESTRICTION",
                "restriction_info": [
                    {"restriction_type": "RESTRICTED_BIZ_INITIATED_MESSAGING", "expiration": 1}
                ],
            },
        )

    sender.refresh_from_db()
    assert sender.status == Sender.Status.RESTRICTED
    page = member_client.get(
        reverse("messaging_numbers:detail", args=[workspace.slug, sender.public_id])
    ).content.decode()
    assert (
        "<td>Account status</td><td>active</td><td>restricted</td>"
        "<td>Meta webhook (ACCOUNT_RESTRICTION)</td>"
    ) in page


def test_check_now_on_the_number_page_reads_the_node(
    member_client, workspace, owner, graph
) -> None:
    sender = _connect(workspace, owner, graph, "5551008", "994501110008")
    graph.call("POST", "/_sandbox/numbers/5551008/health", {"messaging_limit_tier": "TIER_100K"})

    page = member_client.post(
        reverse("messaging_numbers:health", args=[workspace.slug, sender.public_id]), follow=True
    ).content.decode()

    assert "Checked with WhatsApp just now." in page
    assert "100,000 recipients a day (TIER_100K)" in page
    assert "<td>TIER_2K</td><td>TIER_100K</td><td>Asked Meta (on demand)</td>" in page


def test_a_quality_event_for_another_number_of_the_waba_reaches_that_number(
    workspace, owner, graph, django_capture_on_commit_callbacks
) -> None:
    first = _connect(workspace, owner, graph, "5551009", "994501110009")
    second = _connect(workspace, owner, graph, "5551010", "994501110010")
    graph.call("POST", "/_sandbox/numbers/5551010/health", {"quality_rating": "YELLOW"})

    with django_capture_on_commit_callbacks(execute=True):
        _meta_webhook(
            first,
            "phone_number_quality_update",
            {"display_phone_number": "994501110010", "event": "FLAGGED"},
        )

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.quality, second.quality) == ("green", "yellow")


@pytest.mark.django_db(transaction=True)
def test_concurrent_tier_reports_for_sibling_numbers_record_each_change_once(workspace) -> None:
    import threading

    from django.db import connection

    from messaging.numbers.health import number_health_record

    first = _number(workspace, "2000001", "TIER_250")
    second = _number(workspace, "2000002", "TIER_250")
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def report(number: Sender, quality: str) -> None:
        try:
            barrier.wait(timeout=10)
            number_health_record(
                sender=number, tier="TIER_2K", quality=quality, source="webhook", event="UPGRADE"
            )
        except BaseException as exc:  # noqa: BLE001 - reported to the test below
            errors.append(exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=report, args=(first, "green")),
        threading.Thread(target=report, args=(second, "yellow")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    for number in (first, second):
        number.refresh_from_db()
        assert number.messaging_limit_tier == "TIER_2K"
        assert NumberHealthChange.objects.filter(sender=number, field="tier").count() == 1
