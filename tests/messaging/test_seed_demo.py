"""`seed_demo`: a fresh install shows a working product (a number, contacts in two lists, a
template, credits, a finished campaign with replies), the figures agree everywhere, a second
run changes nothing, and the documented staff logins reach Django admin."""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command
from django.db.models import Count, Q, Sum
from django.test import Client, override_settings

from accounts.models import User, Workspace
from billing import services as billing
from billing.models import LedgerEntry
from messaging.analytics.models import MessageStat
from messaging.campaigns.models import Campaign, InboundMessage, Message
from messaging.contacts.models import Contact, ContactList, ContactListMembership
from messaging.content.models import MessageTemplate
from messaging.engine.reconcile import credits_reconcile_mismatches
from messaging.numbers.models import Sender
from messaging.numbers.services import sandbox_numbers_announce

from .conftest import SandboxClient

pytestmark = pytest.mark.django_db

FAILED = ("failed_recipient", "failed_content", "failed_temporary", "failed_sender", "failed_other")


def _snapshot(workspace: Workspace) -> dict[str, object]:
    return {
        "contacts": Contact.objects.for_workspace(workspace).count(),
        "lists": ContactList.objects.for_workspace(workspace).count(),
        "memberships": ContactListMembership.objects.filter(
            contact_list__workspace=workspace
        ).count(),
        "senders": Sender.objects.for_workspace(workspace).count(),
        "templates": MessageTemplate.objects.for_workspace(workspace).count(),
        "campaigns": Campaign.objects.for_workspace(workspace).count(),
        "messages": Message.objects.filter(workspace=workspace).count(),
        "inbound": InboundMessage.objects.filter(workspace=workspace).count(),
        "ledger": LedgerEntry.objects.filter(workspace=workspace).count(),
        "balance": billing.credits_balance(workspace=workspace).available,
        "users": User.objects.count(),
    }


def _seed_as_make_run() -> None:
    """`make run` runs with DEBUG on (the documented staff logins are created)."""
    with override_settings(DEBUG=True):
        call_command("seed_demo")


@pytest.fixture
def seeded(capsys: pytest.CaptureFixture[str]) -> tuple[Workspace, str]:
    _seed_as_make_run()
    return Workspace.objects.get(slug="demo"), capsys.readouterr().out


def test_the_demo_has_everything_a_visitor_needs_and_its_figures_agree(
    seeded: tuple[Workspace, str],
) -> None:
    workspace, output = seeded
    snap = _snapshot(workspace)
    assert snap["contacts"] == 200
    assert snap["lists"] == 2
    assert snap["senders"] == 1
    assert snap["templates"] == 1
    assert snap["campaigns"] == 1
    assert workspace.time_zone == "Asia/Baku"
    names = set(Contact.objects.for_workspace(workspace).values_list("last_name", flat=True))
    assert {"Məmmədova", "Əliyev", "Şirinov"} <= names
    sender = Sender.objects.for_workspace(workspace).get()
    assert (sender.provider, sender.status) == (Sender.Provider.SANDBOX, Sender.Status.ACTIVE)

    campaign = Campaign.objects.for_workspace(workspace).get()
    assert campaign.status == Campaign.Status.COMPLETED
    assert campaign.recipients == 140  # the "Customers" list
    assert campaign.count_accepted == 140
    # Realistic shares: most delivered, more than half read, a few failed, some replies.
    assert 0.85 <= campaign.count_delivered / campaign.recipients < 1
    assert 0.5 <= campaign.count_read / campaign.recipients < 0.8
    assert 1 <= campaign.count_failed <= 15
    assert campaign.count_replied >= 3
    assert campaign.count_opted_out == 1  # one reply said STOP
    assert not Message.objects.filter(
        campaign=campaign, status__in=["queued", "sending", "accepted", "sent", "ambiguous"]
    ).exists()  # every message in a final state

    assert "demo@isend.local / demo-password-2026" in output
    assert "admin@isend.local / admin-password-2026" in output
    assert "support@isend.local / support-password-2026" in output

    # The figures agree: the campaign's counters, the messages table, the statistics.
    table = Message.objects.filter(campaign=campaign).aggregate(
        accepted=Count("id", filter=Q(accepted_at__isnull=False)),
        delivered=Count("id", filter=Q(delivered_at__isnull=False)),
        read=Count("id", filter=Q(read_at__isnull=False)),
        failed=Count("id", filter=Q(status=Message.Status.FAILED)),
        replied=Count("id", filter=Q(replied_at__isnull=False)),
    )
    stats = MessageStat.objects.filter(campaign=campaign).aggregate(
        accepted=Sum("accepted"),
        delivered=Sum("delivered"),
        read=Sum("read"),
        replied=Sum("replied"),
        **{name: Sum(name) for name in FAILED},
    )
    counters = {
        "accepted": campaign.count_accepted,
        "delivered": campaign.count_delivered,
        "read": campaign.count_read,
        "failed": campaign.count_failed,
        "replied": campaign.count_replied,
    }
    assert counters == table
    assert counters == {
        "accepted": stats["accepted"],
        "delivered": stats["delivered"],
        "read": stats["read"],
        "failed": sum(stats[name] for name in FAILED),
        "replied": stats["replied"],
    }
    # Credits: consumed for what was accepted and did not fail, and the ledger balances.
    assert credits_reconcile_mismatches() == []
    balance = billing.credits_balance(workspace=workspace)
    assert balance.available == 2000 - (campaign.count_accepted - campaign.count_failed)
    assert balance.reserved == 0

    # The dashboard shows it at once.
    _dashboard_shows_the_campaign(workspace)
    # The staff logins printed above reach Django admin.
    _staff_reach_django_admin()


def test_a_second_run_changes_nothing(seeded: tuple[Workspace, str]) -> None:
    workspace, _output = seeded
    before = _snapshot(workspace)
    campaign_before = Campaign.objects.for_workspace(workspace).values().get()

    _seed_as_make_run()

    assert _snapshot(workspace) == before
    assert Campaign.objects.for_workspace(workspace).values().get() == campaign_before


def _dashboard_shows_the_campaign(workspace: Workspace) -> None:
    client = Client()
    assert client.login(email="demo@isend.local", password="demo-password-2026")
    home = client.get(f"/w/{workspace.slug}/").content.decode()
    value = re.search(r'data-testid="kpi-accepted-value"[^>]*>([^<]*)<', home)
    assert value
    assert value.group(1).strip() == "140"
    assert "Novruz sale" in client.get(f"/w/{workspace.slug}/campaigns/").content.decode()


def _staff_reach_django_admin() -> None:
    admin = Client()
    assert admin.login(email="admin@isend.local", password="admin-password-2026")
    assert admin.get("/admin/").status_code == 200
    assert admin.get("/admin/billing/order/").status_code == 200

    support = Client()
    assert support.login(email="support@isend.local", password="support-password-2026")
    assert support.get("/admin/privacy/datarequest/").status_code == 200
    # Support staff work the request queue, not the money.
    assert support.get("/admin/billing/order/").status_code == 403
    user = User.objects.get(email="support@isend.local")
    assert (user.is_staff, user.is_superuser) == (True, False)


def test_with_debug_off_staff_logins_need_passwords(
    settings: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str]
) -> None:
    settings.DEBUG = False  # type: ignore[attr-defined]
    call_command("seed_demo")
    assert not User.objects.filter(is_staff=True).exists()
    assert "Staff logins: not created" in capsys.readouterr().out


def test_a_restarted_sandbox_learns_the_product_s_numbers_again(
    seeded: tuple[Workspace, str], sandbox: SandboxClient
) -> None:
    """The sandbox keeps numbers in memory; `sandbox_gateway --announce-numbers` (make run)
    registers the product's sandbox numbers with it, so the demo number can send at once."""
    workspace, _output = seeded
    demo_number = Sender.objects.for_workspace(workspace).get()

    def known() -> list[str]:
        body = sandbox.call("GET", "/_sandbox/numbers").body
        return [n["phone_number_id"] for n in body]

    assert known() == []  # a fresh (restarted) sandbox

    with override_settings(SANDBOX_GATEWAY_URL=sandbox.base_url):
        assert sandbox_numbers_announce() == 1

    assert known() == [demo_number.phone_number_id]


def test_the_demo_number_is_not_slowed_or_paused_by_its_own_history(
    seeded: tuple[Workspace, str],
) -> None:
    """A newcomer's first campaign on the demo number must not be paused by the protection
    check the beat runs every 15 minutes: the demo's failures are unreachable phones (which
    mark the contacts "Not on WhatsApp"), not blocks."""
    from messaging.contacts.models import WhatsAppStatus
    from messaging.numbers.protection import numbers_protect_due

    workspace, _output = seeded
    campaign = Campaign.objects.for_workspace(workspace).get()

    assert numbers_protect_due() == {}
    sender = Sender.objects.for_workspace(workspace).get()
    assert sender.protection == ""
    failed = Message.objects.filter(campaign=campaign, status=Message.Status.FAILED)
    assert set(failed.values_list("error_code", flat=True)) == {131026}
    assert (
        Contact.objects.for_workspace(workspace)
        .filter(whatsapp_status=WhatsAppStatus.INVALID)
        .count()
        == failed.count()
    )
