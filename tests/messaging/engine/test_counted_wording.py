"""Sentences with a count read right for one: a window on one day a week, an audience that
changed to one recipient."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from messaging.campaigns import services as campaigns

pytestmark = pytest.mark.django_db


def test_one_day_a_week_and_one_recipient_now(
    workspace, owner, member_client, sandbox_number, contacts, credits, template
) -> None:
    number = sandbox_number()
    contacts(1)
    credits(5)
    draft = campaigns.campaign_create(
        workspace=workspace,
        actor=owner,
        name="Mondays",
        template=template,
        senders=[number],
        audience={},
        send_window={"start": 9, "end": 18, "days": [0]},
    )

    page = member_client.get(
        reverse("messaging_campaigns:detail", args=[workspace.slug, draft.public_id])
    ).content.decode()
    with pytest.raises(ValidationError) as changed:
        campaigns.campaign_launch(
            workspace=workspace, campaign=draft, actor=owner, expected_recipients=3
        )

    assert "(1 day a week)" in page
    assert "1 recipient now, 3 when you looked" in changed.value.messages[0]


def test_a_scheduled_campaign_can_be_cancelled_from_its_page(
    workspace,
    owner,
    member_client,
    sandbox_number,
    contacts,
    credits,
    template,
    django_capture_on_commit_callbacks,
) -> None:
    """Scheduled (its credits reserved), the page offered only Duplicate."""
    from datetime import timedelta

    from django.utils import timezone

    from billing import services as billing
    from messaging.campaigns.models import Campaign

    number = sandbox_number()
    contacts(3)
    credits(5)
    draft = campaigns.campaign_create(
        workspace=workspace, actor=owner, name="Tomorrow", template=template, senders=[number],
        audience={}, scheduled_at=timezone.now() + timedelta(days=1),
    )  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):  # the fan-out task
        campaigns.campaign_launch(workspace=workspace, campaign=draft, actor=owner)
    assert Campaign.objects.get(pk=draft.pk).status == Campaign.Status.SCHEDULED
    assert billing.credits_balance(workspace=workspace).available == 2

    page = member_client.get(
        reverse("messaging_campaigns:detail", args=[workspace.slug, draft.public_id])
    ).content.decode()
    cancel_url = reverse(
        "messaging_campaigns:action", args=[workspace.slug, draft.public_id, "cancel"]
    )
    assert f'action="{cancel_url}"' in page
    member_client.post(cancel_url)

    assert Campaign.objects.get(pk=draft.pk).status == Campaign.Status.CANCELLED
    assert billing.credits_balance(workspace=workspace).available == 5
