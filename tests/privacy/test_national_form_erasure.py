"""A number typed the way people type it ("050 123 45 67") is read like every other number the
workspace types: in its default country. The erasure hits the stored contact (+994...), and the
suppression entry carries the hash of the E.164 form, so a re-import is kept out.

Before the doors, privacy had a normaliser of its own that turned "050 123 45 67" into
"+0501234567": the erasure matched nothing, and said so with a count of zero."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from accounts.models import Workspace
from messaging.campaigns.models import InboundMessage, Message
from messaging.contacts.models import Contact
from messaging.contacts.selectors import phone_is_suppressed, phones_suppressed
from messaging.contacts.suppression import SuppressedPhone
from privacy import services
from privacy.models import DataRequest
from tests.factories import UserFactory, WorkspaceFactory
from tests.privacy.test_erasure_proof import _sender

pytestmark = pytest.mark.django_db

NATIONAL = "050 123 45 67"
E164 = "+994501234567"


@pytest.fixture
def az_workspace() -> Workspace:
    return WorkspaceFactory(name="Baku Flowers", default_country="AZ")


def _recipient_in(ws: Workspace) -> tuple[Contact, Message]:
    contact = Contact.objects.create(workspace=ws, phone=E164, first_name="Leyla")
    message = Message.objects.create(
        workspace=ws, sender=_sender(ws, f"+99455000{ws.pk % 1000:04d}"), phone=E164, body="Salam"
    )
    return contact, message


def test_workspace_erasure_in_national_form_hits_the_stored_contact(
    az_workspace: Workspace, search_db: Callable[[str], list[Any]]
) -> None:
    # given: a contact stored in E.164, with a message and a reply
    contact, message = _recipient_in(az_workspace)
    InboundMessage.objects.create(
        workspace=az_workspace,
        sender=message.sender,
        contact=contact,
        phone=E164,
        provider_message_id="wamid.1",
        kind="text",
        text="Salam",
    )
    kept = Contact.objects.create(workspace=az_workspace, phone="+994501110000")

    # when: the owner types the number in national form
    proof = services.recipient_erase(workspace=az_workspace, phone=NATIONAL, actor=None)

    # then: the contact is gone, the message scrubbed, the reply deleted
    assert not Contact.objects.filter(pk=contact.pk).exists()
    assert Contact.objects.filter(pk=kept.pk).exists()
    message.refresh_from_db()
    assert (message.phone, message.body) == ("", "")
    assert not InboundMessage.objects.exists()
    assert proof["counts"]["messaging.Contact"] == 1
    assert proof["counts"]["messaging.Message(redacted)"] == 1
    assert proof["counts"]["messaging.InboundMessage"] == 1
    assert search_db(E164[1:]) == []
    # and the suppression entry is the hash of the E.164 form, for this workspace
    entry = SuppressedPhone.objects.get()
    assert entry.phone_hash == services.subject_hash(E164) == proof["subject_hash"]
    assert (entry.scope, entry.workspace_id) == ("workspace", az_workspace.pk)
    assert phone_is_suppressed(workspace=az_workspace, phone=NATIONAL)
    assert phones_suppressed(workspace_id=az_workspace.pk, phones=[E164]) == {E164}


def test_national_form_is_read_in_the_workspaces_own_country() -> None:
    # given: a Turkish workspace; "0532 123 45 67" is a Turkish mobile there
    turkish = WorkspaceFactory(default_country="TR")
    Contact.objects.create(workspace=turkish, phone="+905321234567")

    # when
    proof = services.recipient_erase(workspace=turkish, phone="0532 123 45 67", actor=None)

    # then
    assert proof["counts"]["messaging.Contact"] == 1
    assert SuppressedPhone.objects.get().phone_hash == services.subject_hash("+905321234567")


def test_platform_erasure_in_national_form(az_workspace: Workspace) -> None:
    # given: the number in two workspaces; a recipient's request with no workspace
    elsewhere = WorkspaceFactory(default_country="AZ")
    first, first_message = _recipient_in(az_workspace)
    second, _second_message = _recipient_in(elsewhere)
    request = services.data_request_create(
        kind=DataRequest.Kind.ERASURE, channel=DataRequest.Channel.EMAIL, contact_phone=NATIONAL
    )

    # when: staff carry it out (a platform-wide erasure reads the platform's home country)
    services.data_request_execute_erasure(request=request, actor=UserFactory(is_staff=True))

    # then: both contacts are gone, messages scrubbed, one platform entry with the right hash
    assert not Contact.objects.filter(pk__in=[first.pk, second.pk]).exists()
    first_message.refresh_from_db()
    assert first_message.body == ""
    entry = SuppressedPhone.objects.get()
    assert (entry.scope, entry.workspace_id) == ("platform", None)
    assert entry.phone_hash == services.subject_hash(E164)
    request.refresh_from_db()
    assert request.status == DataRequest.Status.COMPLETED
    assert request.proof["counts"]["messaging.Contact"] == 2
    assert phone_is_suppressed(workspace=WorkspaceFactory(), phone=E164)


def test_owner_erases_a_national_number_from_the_workspace_page(
    workspace: Workspace, member_client: Client
) -> None:
    Contact.objects.create(workspace=workspace, phone=E164)
    url = reverse("privacy:erase_number", kwargs={"workspace_slug": workspace.slug})

    response = member_client.post(url, {"phone": NATIONAL, "confirm": "on"})

    assert response.status_code == 302
    assert not Contact.objects.filter(phone=E164).exists()
    assert SuppressedPhone.objects.get().phone_hash == services.subject_hash(E164)


def test_a_number_that_cannot_be_read_is_a_form_error(
    workspace: Workspace, member_client: Client
) -> None:
    Contact.objects.create(workspace=workspace, phone=E164)
    url = reverse("privacy:erase_number", kwargs={"workspace_slug": workspace.slug})

    response = member_client.post(url, {"phone": "12", "confirm": "on"})

    assert response.status_code == 200
    assert "too short" in response.content.decode()
    assert Contact.objects.filter(phone=E164).exists()
    assert not SuppressedPhone.objects.exists()


def test_support_erases_a_number_from_the_queue(az_workspace: Workspace) -> None:
    # given: a support agent (the Support group works the queue)
    agent = UserFactory(is_staff=True)
    agent.groups.add(Group.objects.get(name="Support"))
    client = Client()
    client.force_login(agent)
    contact, _message = _recipient_in(az_workspace)
    url = reverse("admin:privacy_datarequest_erase_number")

    # when: they erase the number in national form, in that workspace
    response = client.post(
        url,
        {"phone": NATIONAL, "scope": "workspace", "workspace": az_workspace.name, "reason": "call"},
    )

    # then
    assert response.status_code == 302
    assert not Contact.objects.filter(pk=contact.pk).exists()
    entry = SuppressedPhone.objects.get()
    assert (entry.phone_hash, entry.workspace_id) == (services.subject_hash(E164), az_workspace.pk)
    assert (entry.reason, entry.created_by_id) == ("call", agent.pk)


def test_the_queues_erasure_page_needs_the_erasure_permission(az_workspace: Workspace) -> None:
    clerk = UserFactory(is_staff=True)
    client = Client()
    client.force_login(clerk)
    contact, _message = _recipient_in(az_workspace)

    response = client.post(
        reverse("admin:privacy_datarequest_erase_number"),
        {"phone": E164, "scope": "platform"},
    )

    assert response.status_code == 403
    assert Contact.objects.filter(pk=contact.pk).exists()


def test_scope_and_workspace_must_agree_on_the_queues_erasure_page(
    admin_client: Client, az_workspace: Workspace
) -> None:
    url = reverse("admin:privacy_datarequest_erase_number")

    without = admin_client.post(url, {"phone": E164, "scope": "workspace"})
    with_one = admin_client.post(
        url, {"phone": E164, "scope": "platform", "workspace": az_workspace.slug}
    )

    assert (without.status_code, with_one.status_code) == (200, 200)
    assert "Choose the workspace." in without.content.decode()
    assert "Leave empty for a platform-wide erasure." in with_one.content.decode()
    assert not SuppressedPhone.objects.exists()


def test_support_names_the_workspace_as_the_request_gives_it(az_workspace: Workspace) -> None:
    """Support staff cannot browse workspaces in the admin: they type the workspace's name,
    its address name or paste a link to one of its pages; a name two workspaces share is
    refused with their address names, an unknown one with a clear error."""
    agent = UserFactory(is_staff=True)
    agent.groups.add(Group.objects.get(name="Support"))
    client = Client()
    client.force_login(agent)
    url = reverse("admin:privacy_datarequest_erase_number")
    twin_a, twin_b = WorkspaceFactory(name="Twins MMC"), WorkspaceFactory(name="Twins MMC")

    page = client.get(url).content.decode()
    unknown = client.post(url, {"phone": E164, "scope": "workspace", "workspace": "nobody"})
    shared = client.post(url, {"phone": E164, "scope": "workspace", "workspace": "twins mmc"})
    contact, _message = _recipient_in(az_workspace)
    linked = client.post(
        url,
        {
            "phone": NATIONAL,
            "scope": "workspace",
            "workspace": f"https://app.isend.az/w/{az_workspace.slug}/contacts/?q=1",
        },
    )

    assert "vRawIdAdminField" not in page  # a text box, not the admin's id lookup
    assert "No workspace has this name or address." in unknown.content.decode()
    assert twin_a.slug in shared.content.decode()
    assert twin_b.slug in shared.content.decode()
    assert linked.status_code == 302
    assert not Contact.objects.filter(pk=contact.pk).exists()
    assert SuppressedPhone.objects.get().workspace_id == az_workspace.pk
