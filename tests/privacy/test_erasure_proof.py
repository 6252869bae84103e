"""After an account erasure or a recipient erasure, no text, varchar, array or JSON column of
any table holds the e-mail or the phone (invoices are kept, with a pseudonym)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.apps import apps
from django.test import Client
from django.urls import reverse

from accounts import services as account_services
from accounts.models import ApiKey, Membership, User, Workspace
from accounts.permissions import Role
from billing import services as billing_services
from billing.models import Invoice, Order, Package
from messaging.contacts.models import Contact, ContactList
from messaging.contacts.selectors import phone_is_suppressed
from messaging.contacts.suppression import SuppressedPhone
from privacy import services
from privacy.models import DataRequest
from tests.factories import MembershipFactory, UserFactory, WorkspaceFactory

EMAIL = "aysel.erase@bakuflowers.az"
PHONE = "+994557654321"

pytestmark = pytest.mark.django_db


def _sender(ws: Workspace, number: str = "+994550000009") -> Any:
    from core.crypto import encrypt_json
    from messaging.numbers.models import Sender

    return Sender.objects.create(
        workspace=ws,
        provider=Sender.Provider.SANDBOX,
        phone_number=number,
        phone_number_id=f"8{ws.pk:014d}",
        credentials_encrypted=encrypt_json({"access_token": "t", "app_secret": "s"}),
        status=Sender.Status.ACTIVE,
    )


def _message(ws: Workspace, sender: Any, phone: str, body: str) -> Any:
    if "message" not in apps.get_app_config("messaging").models:
        return None
    message_model = apps.get_model("messaging", "Message")
    return message_model.objects.create(workspace=ws, sender=sender, phone=phone, body=body)


def _rich_user(staff: User) -> tuple[User, Workspace, Workspace, Invoice]:
    """A user with traces in many tables: two owned workspaces (one with an invoice), a
    membership elsewhere, logins, audit, consents, API keys, an invitation, a request."""
    user = UserFactory(email=EMAIL, phone=PHONE, first_name="Aysel", last_name="Huseynova")
    services.consent_record_signup(user=user, ip="10.0.0.1")
    plain = account_services.workspace_create(name="Aysel Huseynova", owner=user)
    billed = account_services.workspace_create(name="Baku Flowers", owner=user)
    elsewhere = WorkspaceFactory(name="Other Co")
    other_owner = MembershipFactory(workspace=elsewhere, role=Role.OWNER).user
    MembershipFactory(workspace=elsewhere, user=user, role=Role.ADMIN)
    account_services.api_key_create(
        workspace=elsewhere, actor=user, name="mine", scopes=["contacts:read"]
    )
    third = WorkspaceFactory(name="Third Co")
    owner_membership = MembershipFactory(workspace=third, role=Role.OWNER)
    account_services.invitation_create(
        workspace=third, actor_membership=owner_membership, email=EMAIL.upper(), role="viewer"
    )
    account_services.login_event_record(request=None, user=user, email=EMAIL, success=True)
    account_services.login_event_record(request=None, user=None, email=EMAIL, success=False)
    account_services.audit_record(
        workspace=elsewhere, action="team.invited", actor=other_owner, details={"email": EMAIL}
    )
    for ws in (plain, billed):
        Contact.objects.create(workspace=ws, phone=PHONE, first_name="Aysel")
        Contact.objects.create(workspace=ws, phone="+994501110000", first_name="Kamran")
        ContactList.objects.create(workspace=ws, name="VIP")
        sender = _sender(ws, "+99455000000" + str(ws.pk % 10))
        _message(ws, sender, PHONE, f"Hello Aysel, write to {EMAIL}")
    package = Package.objects.create(
        name="Start", credits=100, validity_days=30, price=Decimal("10.00")
    )
    order = billing_services.order_create(
        workspace=billed,
        package=package,
        method=Order.Method.BANK_TRANSFER,
        actor=user,
        buyer_company="Aysel Huseynova",
    )
    billing_services.order_confirm_bank_transfer(order=order, actor=staff)
    order.refresh_from_db()
    return user, plain, billed, order.invoice


def test_account_erasure_leaves_no_trace(
    search_db: Callable[[str], list[Any]], django_capture_on_commit_callbacks: Any
) -> None:
    # given
    staff = UserFactory(is_staff=True, is_superuser=True)
    with django_capture_on_commit_callbacks(execute=True):
        user, plain, billed, invoice = _rich_user(staff)
    assert search_db(EMAIL)
    assert search_db(PHONE)
    number = invoice.number

    # when
    with django_capture_on_commit_callbacks(execute=True):
        proof = services.account_erase(user=user, actor=staff, reason="test")

    # then: nothing holds the e-mail or the phone
    assert search_db(EMAIL) == []
    assert search_db(PHONE) == []
    assert search_db("Huseynova") == []
    assert not User.objects.filter(pk=user.pk).exists()
    assert not Workspace.objects.filter(pk=plain.pk).exists()
    # the invoice is kept (tax law) with a pseudonym in place of the person
    kept = Invoice.objects.get(number=number)
    assert kept.buyer_name.startswith("erased-")
    assert Order.objects.get(pk=kept.order_id).buyer_email.startswith("erased-")
    assert Workspace.objects.get(pk=billed.pk).name == f"erased-workspace-{billed.pk}"
    assert not Contact.objects.filter(workspace=billed).exists()
    # API keys they created elsewhere are revoked; the other workspace lives on
    assert ApiKey.objects.get(name="mine").revoked_at is not None
    assert proof["subject_hash"] == services.subject_hash(EMAIL)
    assert proof["api_keys_revoked"] == 1


def test_account_erasure_hands_workspace_to_an_admin() -> None:
    owner = UserFactory()
    ws = account_services.workspace_create(name="Shared", owner=owner)
    admin = MembershipFactory(workspace=ws, role=Role.ADMIN)

    proof = services.account_erase(user=owner, actor=None, reason="test")

    admin.refresh_from_db()
    assert admin.role == Role.OWNER
    assert Workspace.objects.filter(pk=ws.pk).exists()
    assert proof["workspaces"] == [{"id": ws.pk, "outcome": "handed_over"}]


def test_recipient_erasure_in_workspace_leaves_no_trace(
    search_db: Callable[[str], list[Any]], workspace: Workspace, other_workspace: Workspace
) -> None:
    # given: the number in two workspaces, in contacts, messages and the audit trail
    owner = MembershipFactory(workspace=workspace, role=Role.OWNER).user
    for ws in (workspace, other_workspace):
        Contact.objects.create(workspace=ws, phone=PHONE, first_name="Rauf")
    sender = _sender(workspace)
    message = _message(workspace, sender, PHONE, "Salam Rauf")
    account_services.audit_record(
        workspace=workspace, action="contacts.created", actor=owner, details={"phone": PHONE}
    )
    # ...and in the 24-hour window kept from their last message to the number
    from django.utils import timezone

    from messaging.numbers.models import CustomerWindow

    CustomerWindow.objects.create(
        workspace=workspace, sender=sender, phone=PHONE, last_inbound_at=timezone.now()
    )
    # ...and in the outgoing webhooks' delivery log (a status event carries "to")
    from core.events import message_status_event
    from integrations import services as integration_services

    integration_services.webhook_endpoint_create(
        workspace=workspace, url="https://hooks.example.com/isend", event_types=["*"]
    )
    integration_services.webhook_events_publish(
        workspace_id=workspace.pk,
        events=[message_status_event(message_id="m-1", status="delivered", phone=PHONE)],
    )

    # when
    proof = services.recipient_erase(workspace=workspace, phone="00994 55 765 43 21", actor=owner)

    # then: gone from this workspace; the other workspace's contact is its own business
    hits = search_db(PHONE)
    assert hits == [("messaging_contact", "phone", 1)]
    assert Contact.objects.get(phone=PHONE).workspace_id == other_workspace.pk
    if message is not None:
        message.refresh_from_db()
        assert (message.phone, message.body) == ("", "")
    assert proof["counts"]["messaging.Contact"] == 1
    assert phone_is_suppressed(workspace=workspace, phone="+994 55 765 43 21")
    assert not phone_is_suppressed(workspace=other_workspace, phone=PHONE)
    assert SuppressedPhone.objects.get().phone_hash == services.subject_hash(PHONE)


def test_platform_recipient_erasure(
    search_db: Callable[[str], list[Any]], workspace: Workspace, other_workspace: Workspace
) -> None:
    for ws in (workspace, other_workspace):
        Contact.objects.create(workspace=ws, phone=PHONE)
    request = services.data_request_create(
        kind=DataRequest.Kind.ERASURE,
        channel=DataRequest.Channel.EMAIL,
        contact_phone=PHONE,
        notes="recipient wrote to support",
    )
    staff = UserFactory(is_staff=True)

    services.data_request_execute_erasure(request=request, actor=staff)

    assert search_db(PHONE) == []
    request.refresh_from_db()
    assert request.status == DataRequest.Status.COMPLETED
    assert request.proof["scope"] == "platform"
    assert phone_is_suppressed(workspace=other_workspace, phone=PHONE)


def test_owner_erases_a_number_from_the_workspace_page(
    workspace: Workspace, owner: User, member_client: Client
) -> None:
    Contact.objects.create(workspace=workspace, phone=PHONE)
    url = reverse("privacy:erase_number", kwargs={"workspace_slug": workspace.slug})

    response = member_client.post(url, {"phone": PHONE, "confirm": "on"})

    assert response.status_code == 302
    assert not Contact.objects.filter(phone=PHONE).exists()
    assert phone_is_suppressed(workspace=workspace, phone=PHONE)


def test_a_member_without_settings_permission_cannot_erase(
    workspace: Workspace, make_member: Callable[..., Membership]
) -> None:
    Contact.objects.create(workspace=workspace, phone=PHONE)
    client = Client()
    client.force_login(make_member(workspace, Role.MEMBER).user)
    url = reverse("privacy:erase_number", kwargs={"workspace_slug": workspace.slug})

    response = client.post(url, {"phone": PHONE, "confirm": "on"})

    assert response.status_code == 403
    assert Contact.objects.filter(phone=PHONE).exists()


def test_erase_number_page_is_isolated(workspace: Workspace, other_workspace: Workspace) -> None:
    # the isolation harness's probe for this route: another workspace's owner gets 404
    Contact.objects.create(workspace=workspace, phone=PHONE)
    stranger = MembershipFactory(workspace=other_workspace, role=Role.OWNER).user
    client = Client()
    client.force_login(stranger)
    url = reverse("privacy:erase_number", kwargs={"workspace_slug": workspace.slug})

    for method in ("get", "post", "put", "patch", "delete"):
        response = getattr(client, method)(url, {"phone": PHONE, "confirm": "on"})
        assert response.status_code == 404
    assert Contact.objects.filter(workspace=workspace, phone=PHONE).exists()
    assert not SuppressedPhone.objects.exists()


def test_workspace_erasure_leaves_other_workspaces_records_alone(
    workspace: Workspace, other_workspace: Workspace
) -> None:
    mine = account_services.audit_record(
        workspace=workspace, action="contacts.created", details={"phone": PHONE}
    )
    theirs = account_services.audit_record(
        workspace=other_workspace, action="contacts.created", details={"phone": PHONE}
    )

    services.recipient_erase(workspace=workspace, phone=PHONE, actor=None)

    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert PHONE not in str(mine.details)
    assert theirs.details == {"phone": PHONE}
