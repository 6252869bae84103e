"""When the only owner of a workspace (no other owner or admin) closes their account, its
campaigns pause: nobody is left who could stop them, and credits were still spent for someone
who believed their account gone. Reopening the account resumes exactly those; a workspace
with an admin left keeps sending."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import User
from accounts.permissions import Role
from messaging.campaigns import services as campaigns
from messaging.campaigns.models import Campaign
from privacy import services as privacy

pytestmark = pytest.mark.django_db


def test_a_sole_owner_closing_their_account_pauses_its_campaigns_until_reopened(
    workspace,
    owner,
    sandbox_number,
    contacts,
    credits,
    launch,
    template,
    django_capture_on_commit_callbacks,
) -> None:
    number = sandbox_number()
    contacts(4)
    credits(10)
    running = launch([number], name="Now")
    later = campaigns.campaign_create(
        workspace=workspace, actor=owner, name="Tomorrow", template=template, senders=[number],
        audience={}, scheduled_at=timezone.now() + timedelta(days=1),
    )  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        campaigns.campaign_launch(workspace=workspace, campaign=later, actor=owner)
    assert Campaign.objects.get(pk=later.pk).status == Campaign.Status.SCHEDULED

    privacy.account_deactivate(user=owner, actor=owner, purge=True)

    for campaign in (running, later):
        campaign.refresh_from_db()
        assert campaign.status == Campaign.Status.PAUSED
        assert campaign.pause_reason == Campaign.PauseReason.OWNER_CLOSED

    closed = User.objects.get(pk=owner.pk)
    token = privacy.reactivation_token(closed, closed.deactivated_at)
    with django_capture_on_commit_callbacks(execute=True):
        privacy.account_reactivate(token=token)

    running.refresh_from_db()
    later.refresh_from_db()
    assert running.status == Campaign.Status.RUNNING
    assert later.status == Campaign.Status.SCHEDULED  # its start is still ahead


def test_a_workspace_with_an_admin_left_keeps_sending(
    workspace, owner, make_member, sandbox_number, contacts, credits, launch
) -> None:
    make_member(workspace, Role.ADMIN)
    number = sandbox_number()
    contacts(2)
    credits(2)
    running = launch([number])

    privacy.account_deactivate(user=owner, actor=owner, purge=True)

    running.refresh_from_db()
    assert running.status == Campaign.Status.RUNNING
