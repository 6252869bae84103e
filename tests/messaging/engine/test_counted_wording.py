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
