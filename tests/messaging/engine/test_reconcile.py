"""Money and messages reconciled by counting both sides (issue 14): per campaign, credits
consumed − refunded = messages the gateway accepted that did not fail; `credits_reconcile`,
its beat task and `billing_check_ledger` report any difference."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from messaging.campaigns.models import Message
from messaging.engine import ingest, reconcile
from messaging.engine.tasks import credits_reconcile_task
from messaging.gateways.base import DeliveryStatus, ProviderError, StatusEvent, classify_error_code

from .conftest import drain_all

pytestmark = pytest.mark.django_db


def test_credits_spent_equal_messages_accepted_and_differences_are_reported(
    sandbox_number, contacts, credits, launch, capsys
) -> None:
    contacts(5)
    credits(5)
    number = sandbox_number()
    campaign = launch([number])
    drain_all([number])
    first, second, *_ = Message.objects.filter(campaign=campaign).order_by("id")
    error = ProviderError(code=131026, title="Message undeliverable")
    ingest.apply_statuses(  # accepted, then failed: refunded
        workspace_id=number.workspace_id,
        events=[
            StatusEvent(
                account_id="x",
                provider_message_id=first.provider_message_id,
                status=DeliveryStatus.FAILED,
                recipient=None,
                timestamp=None,
                public_id=str(first.public_id),
                error=error,
                failure=classify_error_code(131026),
            )
        ],
    )

    (row,) = [r for r in reconcile.credits_reconcile() if r.campaign_id == campaign.pk]
    assert (row.spent, row.accepted, row.difference) == (4, 4, 0)
    call_command("credits_reconcile", verbosity=2)
    assert f"campaign {campaign.public_id}" in capsys.readouterr().out
    call_command("billing_check_ledger")
    assert credits_reconcile_task.delay().get() == 0

    # A message failed behind the ledger's back (no refund): the two sides now differ.
    Message.objects.filter(pk=second.pk).update(status="failed")

    (line,) = reconcile.credits_reconcile_mismatches()
    assert f"campaign {campaign.public_id}" in line
    assert "credits consumed − refunded 4, messages accepted and not failed 3" in line
    with pytest.raises(CommandError, match="0 ledger mismatch.*1 reconciliation difference"):
        call_command("billing_check_ledger")
    assert "credits_reconcile: workspace" in capsys.readouterr().err
    with pytest.raises(CommandError, match="1 of 1 difference"):
        call_command("credits_reconcile")
    assert credits_reconcile_task.delay().get() == 1
