"""Issue #17 F1: erasing one account must never rewrite another tenant's billing records.

An account's pseudonymisation reaches only the orders and invoices linked to the person by
key (orders they placed, their sole-owned workspaces' records), never records that merely
carry the same name, company, phone or e-mail as text."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts import services as account_services
from accounts.models import User, Workspace
from billing import services as billing_services
from billing.models import Invoice, Order, Package
from privacy import services
from privacy.models import PrivacyProfile
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

VICTIM_COMPANY = "Caspian Trade LLC"
VICTIM_EMAIL = "accounts@caspiantrade.az"
VICTIM_PHONE = "+994502223344"


def _paid_order(ws: Workspace, buyer: User, staff: User, company: str) -> Order:
    package, _ = Package.objects.get_or_create(
        name="Start", defaults={"credits": 100, "validity_days": 30, "price": Decimal("10.00")}
    )
    order = billing_services.order_create(
        workspace=ws,
        package=package,
        method=Order.Method.BANK_TRANSFER,
        actor=buyer,
        buyer_company=company,
    )
    billing_services.order_confirm_bank_transfer(order=order, actor=staff)
    order.refresh_from_db()
    return order


def _tenants() -> tuple[User, Order, User, Order]:
    """A victim tenant with a paid order and invoice, and an attacker who copied the victim's
    buyer details into their own profile and has one paid order of their own."""
    staff = UserFactory(is_staff=True, is_superuser=True)
    victim = UserFactory(
        email=VICTIM_EMAIL, phone=VICTIM_PHONE, first_name="Rauf", last_name="Aliyev"
    )
    victim_ws = account_services.workspace_create(name="Caspian Trade", owner=victim)
    victim_order = _paid_order(victim_ws, victim, staff, VICTIM_COMPANY)

    attacker = UserFactory(email="free.account@example.com", first_name="Rauf", last_name="Aliyev")
    attacker_ws = account_services.workspace_create(name="Free one", owner=attacker)
    own_order = _paid_order(attacker_ws, attacker, staff, "Free One MMC")
    # The attacker now sets their profile to the victim's buyer details.
    User.objects.filter(pk=attacker.pk).update(
        company_name=VICTIM_COMPANY, phone=VICTIM_PHONE, first_name="Rauf", last_name="Aliyev"
    )
    Order.objects.filter(pk=victim_order.pk).update(buyer_tax_id=VICTIM_PHONE)
    Invoice.objects.filter(order=victim_order).update(buyer_address=VICTIM_EMAIL)
    attacker.refresh_from_db()
    return victim, victim_order, attacker, own_order


def _snapshot(order: Order) -> tuple[object, ...]:
    order.refresh_from_db()
    invoice = Invoice.objects.get(order=order)
    return (
        order.buyer_company,
        order.buyer_email,
        order.buyer_tax_id,
        order.buyer_address,
        invoice.buyer_name,
        invoice.buyer_address,
        invoice.buyer_tax_id,
    )


def _assert_own_pseudonymised(own_order: Order) -> None:
    own_order.refresh_from_db()
    assert own_order.buyer_email.startswith("erased-")


def test_staff_erasure_leaves_other_tenants_billing_untouched() -> None:
    _victim, victim_order, attacker, own_order = _tenants()
    before = _snapshot(victim_order)
    staff = UserFactory(is_staff=True, is_superuser=True)

    services.account_erase(user=attacker, actor=staff, reason="test")

    assert _snapshot(victim_order) == before
    assert before[0] == VICTIM_COMPANY
    assert before[1] == VICTIM_EMAIL
    _assert_own_pseudonymised(own_order)


def test_thirty_day_purge_leaves_other_tenants_billing_untouched() -> None:
    _victim, victim_order, attacker, own_order = _tenants()
    before = _snapshot(victim_order)
    # The attacker deletes their own account; the purge runs after the 30 days.
    services.account_deactivate(user=attacker, actor=attacker)
    PrivacyProfile.objects.filter(user=attacker).update(
        purge_after=timezone.now() - timedelta(minutes=1)
    )

    assert services.accounts_purge_due() == 1

    assert not User.objects.filter(pk=attacker.pk).exists()
    assert _snapshot(victim_order) == before
    _assert_own_pseudonymised(own_order)


def test_pseudonymised_company_on_own_invoice() -> None:
    """The person's own records still lose the identifiers they carry (their name as company)."""
    staff = UserFactory(is_staff=True, is_superuser=True)
    person = UserFactory(email="leyla@example.az", first_name="Leyla", last_name="Mammadova")
    ws = account_services.workspace_create(name="Leyla's shop", owner=person)
    order = _paid_order(ws, person, staff, "Leyla Mammadova")

    services.account_erase(user=person, actor=staff, reason="test")

    order.refresh_from_db()
    invoice = Invoice.objects.get(order=order)
    assert order.buyer_company.startswith("erased-")
    assert order.buyer_email.startswith("erased-")
    assert invoice.buyer_name.startswith("erased-")


def test_erasure_leaves_other_tenants_audit_and_notices_alone() -> None:
    """The last sweep (free text: audit details, notices) replaces the erased person's phone
    only where it is theirs: their workspaces and platform rows, not another tenant's audit
    trail that records the same number typed into the attacker's profile."""
    victim, _victim_order, attacker, _own_order = _tenants()
    victim_ws = Workspace.objects.get(name="Caspian Trade")
    account_services.audit_record(
        workspace=victim_ws,
        action="contacts.created",
        actor=victim,
        details={"phone": VICTIM_PHONE},
    )
    account_services.notify(
        workspace=victim_ws, kind="test", text=f"Call us at {VICTIM_PHONE}", email=False
    )
    staff = UserFactory(is_staff=True, is_superuser=True)

    services.account_erase(user=attacker, actor=staff, reason="test")

    from accounts.models import AuditEvent, Notification

    event = AuditEvent.objects.get(workspace=victim_ws, action="contacts.created")
    assert event.details == {"phone": VICTIM_PHONE}
    assert Notification.objects.get(workspace=victim_ws, kind="test").text.endswith(VICTIM_PHONE)
