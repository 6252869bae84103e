"""Issue 16 item 4: deleting an account from the privacy centre and asking for it by e-mail
(seed 003 §10) tell one story: deactivated at once, restorable for 30 days, purged by the
periodic job after them; both say that unused credits are forfeited (terms 6.6, "No refunds")
and show the balance that would be lost."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.models import Membership, User, Workspace
from accounts.permissions import Role
from billing import services as billing
from privacy.models import DataRequest, PrivacyProfile
from privacy.tasks import accounts_purge_due_task
from tests.factories import PASSWORD, WorkspaceFactory
from tests.privacy.test_deletion_by_email import thirty_days_ago

pytestmark = pytest.mark.django_db

FORFEIT = "Unused credits are forfeited."


def _path(link: str) -> str:
    return "/" + link.split("://", 1)[1].split("/", 1)[1]


def _link(pattern: str) -> str:
    return _path(re.search(pattern, mail.outbox[-1].body).group(0))


def _confirm_link_by_email(email: str, capture: Any) -> str:
    with capture(execute=True):
        Client().post(reverse("privacy:deletion_request"), {"email": email})
    return _link(r"https?://\S+/confirm/\S+/")


@pytest.fixture
def funded(workspace: Workspace, owner: User) -> Workspace:
    billing.credits_adjust(workspace=workspace, amount=1250, reason="test", actor=None)
    return workspace


def _text(response: Any) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def test_the_centre_says_credits_are_forfeited_with_the_balance(
    funded: Workspace,
    owner: User,
    member_client: Client,
    make_member: Callable[..., Membership],
) -> None:
    # a second workspace that stays (another admin takes it over) keeps its credits
    shared = WorkspaceFactory(name="Shared Shop")
    Membership.objects.create(workspace=shared, user=owner, role=Role.OWNER)
    make_member(shared, Role.ADMIN)
    billing.credits_adjust(workspace=shared, amount=40, reason="test", actor=None)

    for url in (reverse("privacy:centre"), reverse("privacy:centre_delete")):
        page = _text(member_client.get(url))

        assert FORFEIT in page
        assert "payments are not refunded" in page
        # the terms it points at say so in the section it names
        assert f'<a href="{reverse("privacy:terms")}">terms</a> (6.6, “No refunds”)' in page
        assert "Workspace “Alpha Traders”: 1,250 credits, lost with it." in page
        assert "Workspace “Shared Shop”: 40 credits, kept" in page
        assert "Your current balance that would be lost: 1,250 credits." in page
        assert "deactivated at once and deleted after 30 days" in page


def test_the_emailed_deletion_says_it_too_before_confirming(
    funded: Workspace, owner: User, django_capture_on_commit_callbacks: Any
) -> None:
    assert "Unused credits are forfeited" in _text(
        Client().get(reverse("privacy:deletion_request"))
    )
    confirm = _confirm_link_by_email(owner.email, django_capture_on_commit_callbacks)
    assert "Unused credits are forfeited" in mail.outbox[-1].body
    assert "6.6. <strong>No refunds.</strong>" in _text(Client().get(reverse("privacy:terms")))

    page = _text(Client().get(confirm))

    assert FORFEIT in page
    assert "Your current balance that would be lost: 1,250 credits." in page
    assert "deactivated at once and deleted after 30 days" in page
    assert User.objects.get(pk=owner.pk).is_active  # a GET changes nothing


def test_emailed_deletion_deactivates_at_once_and_is_restorable(
    funded: Workspace, owner: User, django_capture_on_commit_callbacks: Any
) -> None:
    confirm = _confirm_link_by_email(owner.email, django_capture_on_commit_callbacks)

    with django_capture_on_commit_callbacks(execute=True):
        done = _text(Client().post(confirm))

    assert "deleted in 30 days" in done
    owner.refresh_from_db()
    assert not owner.is_active
    assert not Client().login(email=owner.email, password=PASSWORD)
    deactivated_mail = mail.outbox[-1].body
    assert "1,250 credits would be lost" in deactivated_mail
    request = DataRequest.objects.get(user=owner)
    assert request.status == DataRequest.Status.IN_PROGRESS

    # restoring within the 30 days: the account is back and the request is withdrawn
    restore = _link(r"https?://\S+/reactivate/\S+/")
    assert Client().post(restore).status_code == 302

    owner.refresh_from_db()
    assert owner.is_active
    assert PrivacyProfile.objects.get(user=owner).purge_after is None
    request.refresh_from_db()
    assert request.status == DataRequest.Status.REJECTED
    assert "withdrawn" in request.rejection_reason
    assert Client().login(email=owner.email, password=PASSWORD)
    assert accounts_purge_due_task.apply().get() == 0
    assert Workspace.objects.filter(pk=funded.pk, name="Alpha Traders").exists()


def test_centre_deletion_is_purged_by_the_periodic_job_after_30_days(
    funded: Workspace,
    owner: User,
    member_client: Client,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        member_client.post(
            reverse("privacy:centre_delete"), {"password": PASSWORD, "confirm": "on"}
        )

    owner.refresh_from_db()
    assert not owner.is_active
    assert "1,250 credits would be lost" in mail.outbox[-1].body
    assert accounts_purge_due_task.apply().get() == 0
    assert User.objects.filter(pk=owner.pk).exists()

    thirty_days_ago(owner)
    assert accounts_purge_due_task.apply().get() == 1

    assert not User.objects.filter(pk=owner.pk).exists()
    # the workspace had no one to take it over: erased (a tombstone only if billing keeps
    # records of it; its name is gone either way)
    assert not Workspace.objects.filter(name="Alpha Traders").exists()
