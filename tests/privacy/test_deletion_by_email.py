"""Seed 003 §10: deletion requested by e-mail, confirmed through a link sent to the registered
address; nothing happens before; the form reveals no accounts."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.models import User
from privacy.models import DataRequest, PrivacyProfile
from privacy.tasks import accounts_purge_due_task
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def thirty_days_ago(user: User) -> None:
    """Move a deactivation 30 days (and a minute) into the past, as if the grace had run."""
    shift = timedelta(days=30, minutes=1)
    user.refresh_from_db()
    User.objects.filter(pk=user.pk).update(deactivated_at=user.deactivated_at - shift)
    profile = PrivacyProfile.objects.get(user=user)
    PrivacyProfile.objects.filter(pk=profile.pk).update(
        purge_after=profile.purge_after - shift,
        deletion_requested_at=profile.deletion_requested_at - shift,
    )


def _ask(email: str, capture: Any) -> Any:
    with capture(execute=True):
        return Client().post(reverse("privacy:deletion_request"), {"email": email})


def test_no_account_enumeration(django_capture_on_commit_callbacks: Any) -> None:
    UserFactory(email="known@example.com")

    known = _ask("known@example.com", django_capture_on_commit_callbacks)
    sent_for_known = len(mail.outbox)
    unknown = _ask("nobody@example.com", django_capture_on_commit_callbacks)

    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"]
    assert known.content == unknown.content
    assert sent_for_known == 1
    assert len(mail.outbox) == 1  # nothing for the unknown address
    assert mail.outbox[0].to == ["known@example.com"]
    assert DataRequest.objects.count() == 1


def test_nothing_happens_before_confirmation_then_the_account_is_deactivated_and_purged(
    django_capture_on_commit_callbacks: Any,
) -> None:
    user = UserFactory(email="leaving@example.com")
    _ask("leaving@example.com", django_capture_on_commit_callbacks)
    request = DataRequest.objects.get()
    link = re.search(r"https?://\S+/confirm/\S+/", mail.outbox[0].body).group(0)
    path = "/" + link.split("://", 1)[1].split("/", 1)[1]

    # before confirmation (and on a plain GET, as a mail scanner would do): nothing
    assert request.status == DataRequest.Status.AWAITING_CONFIRMATION
    assert Client().get(path).status_code == 200
    assert User.objects.get(pk=user.pk).is_active

    with django_capture_on_commit_callbacks(execute=True):
        response = Client().post(path)

    assert response.status_code == 200
    # the same grace as the privacy centre: deactivated at once, erased by the purge job
    user.refresh_from_db()
    assert not user.is_active
    request.refresh_from_db()
    assert request.status == DataRequest.Status.IN_PROGRESS
    assert request.confirmed_at is not None
    # the link is single-use
    assert Client().post(path).status_code == 404

    profile = PrivacyProfile.objects.get(user=user)
    assert profile.purge_after == user.deactivated_at + timedelta(days=30)
    assert accounts_purge_due_task.apply().get() == 0  # not yet: within the 30 days
    assert User.objects.filter(pk=user.pk).exists()
    thirty_days_ago(user)
    assert accounts_purge_due_task.apply().get() == 1

    assert not User.objects.filter(email="leaving@example.com").exists()
    request.refresh_from_db()
    assert request.status == DataRequest.Status.COMPLETED
    assert request.requester_email == ""
    assert request.proof["reason"] == "deactivation_grace_ended"


def test_staff_register_a_request_received_by_email(
    admin_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    UserFactory(email="wrote-to-us@example.com")

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:privacy_datarequest_register_email"),
            {"email": "wrote-to-us@example.com", "notes": "Subject: Account closure"},
        )

    assert response.status_code == 302
    request = DataRequest.objects.get()
    assert request.channel == DataRequest.Channel.EMAIL
    assert request.status == DataRequest.Status.AWAITING_CONFIRMATION
    assert mail.outbox[-1].to == ["wrote-to-us@example.com"]
    assert User.objects.get(email="wrote-to-us@example.com").is_active


def test_the_form_cannot_flood_an_inbox(django_capture_on_commit_callbacks: Any) -> None:
    UserFactory(email="target@example.com")

    first = _ask("target@example.com", django_capture_on_commit_callbacks)
    second = _ask("target@example.com", django_capture_on_commit_callbacks)

    assert first.status_code == second.status_code == 302
    assert len(mail.outbox) == 1
    assert DataRequest.objects.count() == 1
