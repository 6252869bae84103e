"""Message texts, sent and received, are kept for the workspace's period (the policy's 180 days
unless the owner chose another, 30 to 730) and then purged; other workspaces keep theirs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent, Membership, User, Workspace
from accounts.permissions import Role
from accounts.presenters import audit_sentences
from messaging.campaigns.models import InboundMessage, Message
from privacy import services
from tests.privacy.test_erasure_proof import _sender

pytestmark = pytest.mark.django_db


def _reply(ws: Workspace, sender: object, text: str, age_days: int, n: int) -> InboundMessage:
    return InboundMessage.objects.create(
        workspace=ws,
        sender=sender,
        phone=f"+99450000{n:04d}",
        provider_message_id=f"wamid.{ws.pk}.{n}",
        kind="text",
        text=text,
        payload="BUTTON_PAYLOAD" if n % 2 else "",
        received_at=timezone.now() - timedelta(days=age_days),
    )


def _sent(ws: Workspace, sender: object, body: str, age_days: int) -> Message:
    return Message.objects.create(
        workspace=ws,
        sender=sender,
        phone="+994500001111",
        body=body,
        created_at=timezone.now() - timedelta(days=age_days),
    )


def _texts(ws: Workspace) -> tuple[list[str], list[str]]:
    sent = list(
        Message.objects.filter(workspace=ws).order_by("created_at").values_list("body", flat=True)
    )
    received = list(
        InboundMessage.objects.filter(workspace=ws)
        .order_by("received_at")
        .values_list("text", flat=True)
    )
    return sent, received


def _set_period(client: Client, ws: Workspace, days: object) -> object:
    return client.post(
        reverse("accounts:settings", kwargs={"workspace_slug": ws.slug}),
        {"form": "retention", "message_retention_days": str(days)},
    )


def test_inbound_replies_older_than_the_default_period_are_purged(workspace: Workspace) -> None:
    # given: the platform's default period (180 days) and replies on both sides of it
    sender = _sender(workspace)
    old = _reply(workspace, sender, "old reply", 181, 1)
    young = _reply(workspace, sender, "young reply", 179, 2)

    # when
    purged = services.message_bodies_purge()

    # then: the old reply lost its text and button payload, the record stays
    assert purged == 1
    old.refresh_from_db()
    young.refresh_from_db()
    assert (old.text, old.payload) == ("", "")
    assert old.phone == "+994500000001"
    assert young.text == "young reply"


def test_the_owners_period_decides_and_other_workspaces_keep_theirs(
    workspace: Workspace, other_workspace: Workspace, member_client: Client
) -> None:
    # given: texts 40 and 100 days old in two workspaces on the default period (180 days)
    ours, theirs = _sender(workspace), _sender(other_workspace, "+994550000010")
    for ws, sender, base in ((workspace, ours, 0), (other_workspace, theirs, 10)):
        _sent(ws, sender, "sent 100 days ago", 100)
        _sent(ws, sender, "sent 40 days ago", 40)
        _reply(ws, sender, "replied 100 days ago", 100, base + 1)
        _reply(ws, sender, "replied 40 days ago", 40, base + 2)
    assert services.message_bodies_purge() == 0

    # when: our owner keeps texts 60 days, in workspace settings
    response = _set_period(member_client, workspace, 60)

    # then: the next run purges only our texts older than 60 days, sent and received
    assert response.status_code == 302
    workspace.refresh_from_db()
    assert workspace.message_text_retention_days == 60
    assert services.message_bodies_purge() == 2
    assert _texts(workspace) == (["", "sent 40 days ago"], ["", "replied 40 days ago"])
    assert _texts(other_workspace) == (
        ["sent 100 days ago", "sent 40 days ago"],
        ["replied 100 days ago", "replied 40 days ago"],
    )

    # when: the owner shortens it to 30 days
    _set_period(member_client, workspace, 30)

    # then: the 40-day-old texts go too; the other workspace still keeps everything
    assert services.message_bodies_purge() == 2
    assert _texts(workspace) == (["", ""], ["", ""])
    assert _texts(other_workspace)[1] == ["replied 100 days ago", "replied 40 days ago"]


def test_a_longer_period_keeps_texts_the_default_would_purge(
    workspace: Workspace, member_client: Client
) -> None:
    sender = _sender(workspace)
    _reply(workspace, sender, "a year ago", 365, 1)
    _reply(workspace, sender, "two years ago", 731, 2)

    _set_period(member_client, workspace, 730)

    assert services.message_bodies_purge() == 1
    assert _texts(workspace)[1] == ["", "a year ago"]


@pytest.mark.parametrize("days", ["10", "731", "many"])
def test_a_period_out_of_bounds_is_a_clear_form_error_and_changes_nothing(
    workspace: Workspace, member_client: Client, days: str
) -> None:
    response = _set_period(member_client, workspace, days)

    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-testid="retention-error"' in page
    if days == "many":
        assert "Enter a whole number of days." in page
    else:
        assert "Choose between 30 and 730 days: texts are kept 180 days now." in page
    workspace.refresh_from_db()
    assert workspace.message_retention_days is None
    assert not AuditEvent.objects.filter(action="workspace.retention_changed").exists()


def test_the_change_is_audited_in_words(
    workspace: Workspace, owner: User, member_client: Client
) -> None:
    _set_period(member_client, workspace, 90)

    event = AuditEvent.objects.get(action="workspace.retention_changed")
    assert event.details == {"days_before": 180, "days_after": 90}
    [row] = audit_sentences(workspace=workspace, events=[event])
    assert "Message texts are now kept 90 days (before: 180 days)" in str(row)


def test_only_the_owner_sets_the_period(
    workspace: Workspace, make_member: Callable[..., Membership]
) -> None:
    admin = make_member(workspace, Role.ADMIN).user
    client = Client()
    client.force_login(admin)

    page = client.get(reverse("accounts:settings", kwargs={"workspace_slug": workspace.slug}))
    response = _set_period(client, workspace, 60)

    assert page.status_code == 200
    assert b'data-testid="retention-form"' not in page.content
    assert response.status_code == 403
    workspace.refresh_from_db()
    assert workspace.message_retention_days is None


def test_the_owner_sees_the_period_in_force(workspace: Workspace, member_client: Client) -> None:
    page = member_client.get(
        reverse("accounts:settings", kwargs={"workspace_slug": workspace.slug})
    )
    assert page.status_code == 200
    assert b'data-testid="retention-form"' in page.content
    assert b'value="180"' in page.content
