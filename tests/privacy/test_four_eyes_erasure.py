"""Issue #17 F5: support staff act on accounts only through a data request, never on staff
accounts, and erasing an account takes two staff members (one proposes, another approves)
unless the account's owner asked for it (a verified erasure request of their own). Through
the admin, as the staff users."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from privacy import services
from privacy.models import DataRequest
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

QUEUE = "admin:privacy_datarequest_changelist"
USERS = "admin:accounts_user_changelist"


def _support(email: str) -> Client:
    user = UserFactory(email=email, is_staff=True)
    user.groups.add(Group.objects.get(name="Support"))
    client = Client()
    client.force_login(user)
    client.user = user  # type: ignore[attr-defined]
    return client


@pytest.fixture
def first() -> Client:
    return _support("first.support@isend.az")


@pytest.fixture
def second() -> Client:
    return _support("second.support@isend.az")


def _action(client: Client, action: str, ids: list[int], url: str = QUEUE) -> Any:
    return client.post(reverse(url), {"action": action, "_selected_action": ids}, follow=True)


def _staff_request(subject: User, **kw: Any) -> DataRequest:
    """An erasure request staff opened (not asked by the owner through a confirmed link)."""
    return services.data_request_create(
        kind=DataRequest.Kind.ERASURE, channel=DataRequest.Channel.STAFF, user=subject, **kw
    )


def _owner_request(subject: User) -> DataRequest:
    """The owner asked: an e-mailed request confirmed through the link sent to their address."""
    request = services.data_request_create(
        kind=DataRequest.Kind.ERASURE,
        channel=DataRequest.Channel.EMAIL,
        user=subject,
        status=DataRequest.Status.VERIFIED,
    )
    DataRequest.objects.filter(pk=request.pk).update(confirmed_at=timezone.now())
    request.refresh_from_db()
    return request


def test_support_cannot_erase_from_the_user_list_alone(first: Client) -> None:
    customer = UserFactory(email="customer@example.az")
    colleague = UserFactory(email="colleague@isend.az", is_staff=True)

    _action(first, "flag_minor_and_erase", [customer.pk, colleague.pk], url=USERS)

    # nobody is erased by one person; the staff account is not even proposed
    assert User.objects.filter(pk=customer.pk).exists()
    assert User.objects.filter(pk=colleague.pk).exists()
    assert not DataRequest.objects.filter(user=colleague).exists()
    proposal = DataRequest.objects.get(user=customer)
    assert proposal.kind == DataRequest.Kind.ERASURE
    assert proposal.erasure_proposed_by == first.user  # type: ignore[attr-defined]


def test_support_never_acts_on_a_staff_account(first: Client, second: Client) -> None:
    colleague = UserFactory(email="colleague@isend.az", is_staff=True)
    request = _owner_request(colleague)  # even the staff member's own verified request

    response = _action(first, "execute_erasure", [request.pk])
    _action(first, "propose_erasure", [request.pk])
    _action(second, "approve_erasure", [request.pk])

    assert User.objects.filter(pk=colleague.pk).exists()
    assert "staff" in response.content.decode().lower()
    request.refresh_from_db()
    assert request.erasure_proposed_by is None


def test_erasure_not_asked_by_the_owner_needs_a_second_person(
    first: Client, second: Client
) -> None:
    customer = UserFactory(email="customer@example.az")
    request = _staff_request(customer)

    # one person cannot do it: executing alone is refused, approving one's own proposal too
    response = _action(first, "execute_erasure", [request.pk])
    assert "approv" in response.content.decode().lower()
    _action(first, "propose_erasure", [request.pk])
    _action(first, "approve_erasure", [request.pk])
    assert User.objects.filter(pk=customer.pk).exists()
    request.refresh_from_db()
    assert request.erasure_approved_by is None

    # a second staff member approves: the account is erased
    _action(second, "approve_erasure", [request.pk])

    assert not User.objects.filter(pk=customer.pk).exists()
    request.refresh_from_db()
    assert request.status == DataRequest.Status.COMPLETED
    assert request.erasure_proposed_by == first.user  # type: ignore[attr-defined]
    assert request.erasure_approved_by == second.user  # type: ignore[attr-defined]


def test_the_owners_own_verified_request_needs_no_second_person(first: Client) -> None:
    customer = UserFactory(email="customer@example.az")
    request = _owner_request(customer)

    _action(first, "execute_erasure", [request.pk])

    assert not User.objects.filter(pk=customer.pk).exists()
    request.refresh_from_db()
    assert request.status == DataRequest.Status.COMPLETED


def test_a_request_cannot_be_pointed_at_another_account(first: Client) -> None:
    """The owner's verified request is the owner's: support cannot re-point it at someone else
    and then erase that account without a second person."""
    owner = UserFactory(email="owner@example.az")
    victim = UserFactory(email="victim@example.az")
    request = _owner_request(owner)

    change = reverse("admin:privacy_datarequest_change", args=[request.pk])
    first.post(
        change,
        {
            "kind": DataRequest.Kind.ERASURE,
            "channel": DataRequest.Channel.EMAIL,
            "requester_email": victim.email,
            "user": victim.pk,
            "notes": "",
            "rejection_reason": "",
            "contact_phone": "",
        },
    )
    request.refresh_from_db()
    if request.user_id == victim.pk:  # the form let it through: execution must still refuse
        _action(first, "execute_erasure", [request.pk])
    assert User.objects.filter(pk=victim.pk).exists()
    assert request.user_id == owner.pk


def test_an_account_in_its_grace_period_is_not_erased_by_staff(
    first: Client, second: Client, mailoutbox, django_capture_on_commit_callbacks
) -> None:
    """The owner asked by e-mail and confirmed: they were told the account can be restored for
    30 days. Support executing (or two of them proposing and approving) cannot cut that short;
    the purge job erases it when the 30 days end and completes the request."""
    import re
    from datetime import timedelta

    customer = UserFactory(email="customer@example.az")
    with django_capture_on_commit_callbacks(execute=True):
        services.deletion_request_by_email(email=customer.email, ip=None)
    token = re.search(r"/request-deletion/confirm/([\w-]+)/", mailoutbox[-1].body).group(1)
    request = services.data_request_confirm(token=token, ip=None)

    executed = _action(first, "execute_erasure", [request.pk])
    _action(first, "propose_erasure", [request.pk])
    _action(second, "approve_erasure", [request.pk])

    assert "grace period" in executed.content.decode()
    assert User.objects.filter(pk=customer.pk).exists()
    request.refresh_from_db()
    assert request.status == DataRequest.Status.IN_PROGRESS

    # when the 30 days are over, the purge erases it and completes the request
    services.accounts_purge_due(now=timezone.now() + timedelta(days=31))
    assert not User.objects.filter(pk=customer.pk).exists()
    request.refresh_from_db()
    assert request.status == DataRequest.Status.COMPLETED
