"""Numbers: connect a sandbox number in one click, a Cloud API number after a credential check,
a WhatsApp-Web number by QR through the sandbox; send a test; secrets encrypted at rest."""

from __future__ import annotations

import re

import pytest
from django.test import override_settings
from django.urls import reverse
from django.utils import translation

from accounts.models import AuditEvent
from accounts.permissions import Role
from messaging.numbers.models import Sender
from messaging.numbers.services import sender_credentials

from ..conftest import SandboxClient, http

pytestmark = pytest.mark.django_db


@pytest.fixture
def sandbox_settings(sandbox: SandboxClient):
    with override_settings(
        SANDBOX_GATEWAY_URL=sandbox.base_url, WHATSAPP_GRAPH_URL=sandbox.base_url
    ):
        yield sandbox


def test_sandbox_number_in_one_click_and_a_test_message_arrives(
    member_client, workspace, owner, sandbox_settings
) -> None:
    # when: the owner clicks "Connect a sandbox number"
    response = member_client.post(
        reverse("messaging_numbers:add", args=[workspace.slug]), {"provider": "sandbox"}
    )

    # then: the number is active, registered with the sandbox, and audited
    sender = Sender.objects.get(workspace=workspace)
    assert response.status_code == 302
    assert response.url == reverse(
        "messaging_numbers:detail", args=[workspace.slug, sender.public_id]
    )
    assert sender.status == Sender.Status.ACTIVE
    registered = {
        n["phone_number_id"] for n in sandbox_settings.call("GET", "/_sandbox/numbers").body
    }
    assert sender.phone_number_id in registered
    assert AuditEvent.objects.filter(action="number.connected", workspace=workspace).count() == 1

    # when: they send a test message to their own phone
    result = member_client.post(
        reverse("messaging_numbers:test", args=[workspace.slug, sender.public_id]),
        {"to": "050 765 43 21", "text": "Salam!"},
        follow=True,
    )

    # then: the sandbox accepted exactly one message for that number
    assert "Test message accepted" in result.content.decode()
    assert sandbox_settings.number_stats(sender.phone_number_id)["accepted"] == 1


def test_a_refused_test_message_keeps_what_was_typed_and_says_why(
    member_client, workspace, sandbox_settings
) -> None:
    member_client.post(
        reverse("messaging_numbers:add", args=[workspace.slug]), {"provider": "sandbox"}
    )
    sender = Sender.objects.get(workspace=workspace)
    url = reverse("messaging_numbers:test", args=[workspace.slug, sender.public_id])

    bad_phone = member_client.post(
        url, {"to": "abc", "text": "Salam, Şəbnəm xanım!"}, follow=True
    ).content.decode()
    too_long = member_client.post(
        url, {"to": "050 765 43 21", "text": "Ə" * 1200}, follow=True
    ).content.decode()
    after = member_client.get(
        reverse("messaging_numbers:detail", args=[workspace.slug, sender.public_id])
    ).content.decode()

    assert "is not a phone number" in bad_phone
    assert 'value="abc"' in bad_phone
    assert 'value="Salam, Şəbnəm xanım!"' in bad_phone
    assert "at most 1000 characters" in too_long
    assert "Enter a phone number and a text." not in too_long
    assert 'value="050 765 43 21"' in too_long
    assert "Hello from iSend!" in after  # shown once; a fresh form after that
    assert sandbox_settings.number_stats(sender.phone_number_id)["accepted"] == 0


def test_credentials_are_encrypted_at_rest_and_never_shown(
    member_client, workspace, sandbox_settings
):
    member_client.post(
        reverse("messaging_numbers:add", args=[workspace.slug]), {"provider": "sandbox"}
    )
    sender = Sender.objects.get(workspace=workspace)
    secrets = sender_credentials(sender)

    page = member_client.get(
        reverse("messaging_numbers:detail", args=[workspace.slug, sender.public_id])
    )

    assert secrets["access_token"] not in sender.credentials_encrypted
    assert secrets["app_secret"] not in sender.credentials_encrypted
    assert secrets["access_token"] not in page.content.decode()
    assert secrets["app_secret"] not in page.content.decode()


def test_cloud_api_number_is_checked_by_a_test_call(member_client, workspace, sandbox_settings):
    sandbox_settings.register(
        "5550001", access_token="good-token", display_phone_number="994501112233"
    )
    url = reverse("messaging_numbers:add", args=[workspace.slug])
    form = {
        "provider": "cloud_api",
        "cloud-phone_number_id": "5550001",
        "cloud-waba_id": "777",
        "cloud-app_secret": "s3cret",
        "cloud-label": "Main",
    }

    refused = member_client.post(url, {**form, "cloud-access_token": "wrong-token"})
    assert refused.status_code == 200
    assert "Meta refused these credentials" in refused.content.decode()
    assert not Sender.objects.exists()

    accepted = member_client.post(url, {**form, "cloud-access_token": "good-token"})
    sender = Sender.objects.get()
    assert accepted.status_code == 302
    assert (sender.provider, sender.phone_number, sender.status) == (
        "cloud_api",
        "+994501112233",
        "active",
    )
    page = member_client.get(
        reverse("messaging_numbers:detail", args=[workspace.slug, sender.public_id])
    )
    body = page.content.decode()
    assert f"/webhooks/whatsapp/{sender.public_id}/" in body
    assert sender.verify_token in body


def test_web_gateway_number_pairs_by_qr_through_the_sandbox(
    member_client, workspace, sandbox_settings
):
    add = member_client.post(
        reverse("messaging_numbers:add", args=[workspace.slug]),
        {
            "provider": "web_gateway",
            "web-base_url": sandbox_settings.base_url,
            "web-api_key": "sandbox",
        },
    )
    sender = Sender.objects.get()
    assert add.url == reverse("messaging_numbers:pair", args=[workspace.slug, sender.public_id])
    assert sender.status == Sender.Status.PENDING
    assert sender.min_interval_ms == 30_000  # the safe WhatsApp-Web pace
    qr = member_client.get(reverse("messaging_numbers:qr", args=[workspace.slug, sender.public_id]))
    assert qr["Content-Type"] == "image/png"
    assert qr.content.startswith(b"\x89PNG")

    # when: the phone "scans" the code on the sandbox's page
    http(
        "POST",
        f"{sandbox_settings.base_url}/_sandbox/sessions/{sender.web_session}/scan",
        {"phone": "994551234567"},
    )
    status = member_client.get(
        reverse("messaging_numbers:pair_status", args=[workspace.slug, sender.public_id])
    )

    # then: the number is active with the paired phone
    sender.refresh_from_db()
    assert sender.status == Sender.Status.ACTIVE
    assert sender.phone_number == "+994551234567"
    assert "Paired" in status.content.decode()


@override_settings(ALLOW_PRIVATE_WEBHOOK_URLS=False)
def test_web_gateway_on_a_private_address_is_refused(member_client, workspace) -> None:
    response = member_client.post(
        reverse("messaging_numbers:add", args=[workspace.slug]),
        {"provider": "web_gateway", "web-base_url": "http://10.0.0.5:3000", "web-api_key": "k"},
    )

    assert response.status_code == 200
    assert "private or local address" in response.content.decode()
    assert not Sender.objects.exists()


def test_member_cannot_manage_numbers(workspace, make_member, client) -> None:
    client.force_login(make_member(workspace, Role.MEMBER).user)

    response = client.post(
        reverse("messaging_numbers:add", args=[workspace.slug]), {"provider": "sandbox"}
    )

    assert response.status_code == 403
    assert not Sender.objects.exists()


def test_remove_keeps_history_and_frees_the_slot(
    member_client, workspace, sandbox_settings
) -> None:
    member_client.post(
        reverse("messaging_numbers:add", args=[workspace.slug]), {"provider": "sandbox"}
    )
    sender = Sender.objects.get()

    member_client.post(reverse("messaging_numbers:remove", args=[workspace.slug, sender.public_id]))

    sender.refresh_from_db()
    assert sender.removed_at is not None
    assert sender.status == Sender.Status.DISCONNECTED
    page = member_client.get(
        reverse("messaging_numbers:list", args=[workspace.slug])
    ).content.decode()
    assert 'data-testid="number-row"' not in page
    assert "credits stay in the workspace" in page


def _in_russian(client) -> None:
    client.post(reverse("set_language"), {"language": "ru", "next": "/"})
    assert client.cookies["django_language"].value == "ru"


def test_a_sandbox_numbers_default_label_is_shown_in_the_readers_language(
    member_client, workspace, sandbox_settings
) -> None:
    # given: a sandbox number connected in one click by someone reading Azerbaijani (its
    # default label), two connected before, whose default label was stored in English and in
    # Azerbaijani, and one a person named
    member_client.post(reverse("set_language"), {"language": "az", "next": "/"})
    member_client.post(
        reverse("messaging_numbers:add", args=[workspace.slug]),
        {"provider": "sandbox"},
        follow=True,
    )
    for n, label in enumerate(["Sandbox number", "Sınaq nömrəsi", "Satış xətti"]):
        Sender.objects.create(
            workspace=workspace,
            provider=Sender.Provider.SANDBOX,
            label=label,
            phone_number=f"+99455000009{n}",
            phone_number_id=f"90000000000009{n}",
            status=Sender.Status.ACTIVE,
        )

    # when: the numbers page is read in Russian
    _in_russian(member_client)
    html = member_client.get(reverse("messaging_numbers:list", args=[workspace.slug]))

    # then: every default label is the Russian one, never the stored text; theirs is theirs
    with translation.override("ru"):
        default_in_russian = translation.gettext("Sandbox number")
    assert "Sandbox number" not in html.content.decode()
    assert "Sınaq nömrəsi" not in html.content.decode()
    labels = re.findall(r'data-testid="number-label">([^<]*)<', html.content.decode())
    assert sorted(labels) == sorted([default_in_russian] * 3 + ["Satış xətti"])


def test_saving_a_sandbox_numbers_pacing_keeps_its_default_label(
    member_client, workspace, sandbox_settings
) -> None:
    # given: a sandbox number with its default label, its page read in Russian
    member_client.post(
        reverse("messaging_numbers:add", args=[workspace.slug]), {"provider": "sandbox"}
    )
    sender = Sender.objects.get(workspace=workspace)
    stored = sender.label
    _in_russian(member_client)
    url = reverse("messaging_numbers:detail", args=[workspace.slug, sender.public_id])
    with translation.override("ru"):
        default_in_russian = translation.gettext("Sandbox number")
    page = member_client.get(url).content.decode()
    assert f'value="{default_in_russian}"' in page

    # when: the pacing is saved with the label as shown
    saved = member_client.post(
        url,
        {
            "label": default_in_russian,
            "throughput_per_second": 5,
            "min_interval_ms": 0,
            "jitter_ms": 0,
            "daily_cap": 1000,
        },
    )

    # then: the label is still the default (shown in each reader's language), not Russian text
    assert saved.status_code == 302
    sender.refresh_from_db()
    assert sender.label == stored
    assert sender.throughput_per_second == 5
