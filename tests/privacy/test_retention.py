"""Retention jobs delete exactly what is due, and nothing younger."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.apps import apps
from django.utils import timezone

from accounts.models import LoginEvent, User, Workspace
from privacy import services
from privacy.models import PrivacyProfile
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_login_events_older_than_12_months_are_purged(owner: User) -> None:
    now = timezone.now()
    old = LoginEvent.objects.create(user=owner, success=True, created_at=now - timedelta(days=366))
    young = LoginEvent.objects.create(
        user=owner, success=True, created_at=now - timedelta(days=364)
    )

    assert services.login_events_purge() == 1
    assert list(LoginEvent.objects.values_list("pk", flat=True)) == [young.pk]
    assert not LoginEvent.objects.filter(pk=old.pk).exists()


def test_deactivated_accounts_are_purged_after_30_days() -> None:
    due, grace, active = UserFactory(), UserFactory(), UserFactory()
    services.account_deactivate(user=due, actor=due)
    services.account_deactivate(user=grace, actor=grace)
    PrivacyProfile.objects.filter(user=due).update(
        purge_after=timezone.now() - timedelta(minutes=1)
    )

    assert services.accounts_purge_due() == 1
    assert set(User.objects.values_list("pk", flat=True)) == {grace.pk, active.pk}


def test_message_bodies_after_the_period(workspace: Workspace) -> None:
    from tests.privacy.test_erasure_proof import _sender

    message_model = apps.get_model("messaging", "Message")
    sender = _sender(workspace)
    now = timezone.now()
    old = message_model.objects.create(
        workspace=workspace,
        sender=sender,
        phone="+994501",
        body="old",
        created_at=now - timedelta(days=181),
    )
    young = message_model.objects.create(
        workspace=workspace,
        sender=sender,
        phone="+994502",
        body="young",
        created_at=now - timedelta(days=179),
    )

    assert services.message_bodies_purge() == 1
    old.refresh_from_db()
    young.refresh_from_db()
    assert (old.body, young.body) == ("", "young")
    assert old.phone == "+994501"  # the delivery record stays
