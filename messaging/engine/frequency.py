"""The per-contact frequency cap (issue #21): "no contact gets more than N marketing messages
per M days, across campaigns" (`SendingPolicy`, off by default).

Set-based: one sub-query (the phones with N or more campaign messages in the last M days,
grouped in SQL) that fan-out, the launch and the pre-flight put in their own query, never a
query per contact. A campaign's own messages do not count against its recipients (fan-out writes
them in chunks), and messages that never reached anyone (failed, cancelled, skipped, expired) do
not count either. Contacts the cap leaves out are not queued, so no credit is reserved for them;
the campaign records how many (`Campaign.skipped_frequency_cap`).

What counts, and from when (the promise is about what a person receives):
- a message counts from when it reached the gateway (`accepted_at`), not from when it was
  queued: a campaign queued ten days ago that was paused, spread over days by a warm-up or a
  daily cap, or held by send windows, reaches people today, and today is when it counts;
- a message still on its way (queued, sending, or unconfirmed after a timeout) counts however
  long ago it was queued: it will reach the person whenever its campaign sends it;
- the person is the phone number, not the contact row: deleting a contact and importing it
  again does not give it a fresh allowance (the earlier messages keep the phone);
- only campaign messages count ("marketing"): single sends (the API's messages, inbox replies,
  a campaign's test send to the user's own phone) are not counted."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from messaging.campaigns.models import Campaign, Message, SendingPolicy
from messaging.contacts.models import Contact

NOT_RECEIVED = [
    Message.Status.FAILED,
    Message.Status.CANCELLED,
    Message.Status.SKIPPED,
    Message.Status.EXPIRED,
]


def frequency_cap_of(workspace_id: int) -> tuple[int, int] | None:
    """(messages, days) when the workspace has the cap on."""
    policy = SendingPolicy.objects.filter(workspace_id=workspace_id).first()
    return policy.frequency_cap if policy is not None else None


#: On their way: they reach the person whenever their campaign sends them.
PENDING = [Message.Status.QUEUED, Message.Status.SENDING, Message.Status.AMBIGUOUS]


def capped_phones(
    *, workspace_id: int, campaign_id: int | None, messages: int, days: int
) -> QuerySet[Any, Any]:
    """A sub-query of the phones that already had `messages` marketing messages in the last
    `days` days (other campaigns than `campaign_id`), counted as the module says: by when they
    reached the person, pending ones whatever their age."""
    since = timezone.now() - timedelta(days=days)
    qs = (
        Message.objects.filter(workspace_id=workspace_id, campaign__isnull=False)
        .filter(
            Q(accepted_at__gte=since)
            | Q(status__in=PENDING)
            # a row with no acceptance time recorded: its queue time is the best we know
            | Q(accepted_at__isnull=True, created_at__gte=since)
        )
        .exclude(status__in=NOT_RECEIVED)
    )
    if campaign_id is not None:
        qs = qs.exclude(campaign_id=campaign_id)
    return qs.values("phone").annotate(n=Count("id")).filter(n__gte=messages).values("phone")


def within_frequency_cap(campaign: Campaign, recipients: QuerySet[Contact]) -> QuerySet[Contact]:
    """`recipients` without the contacts the workspace's frequency cap leaves out."""
    cap = frequency_cap_of(campaign.workspace_id)
    if cap is None:
        return recipients
    return recipients.exclude(
        phone__in=capped_phones(
            workspace_id=campaign.workspace_id,
            campaign_id=campaign.pk,
            messages=cap[0],
            days=cap[1],
        )
    )


def frequency_capped_count(campaign: Campaign, recipients: QuerySet[Contact]) -> int:
    """How many of `recipients` the cap leaves out (one COUNT query; 0 when the cap is off)."""
    cap = frequency_cap_of(campaign.workspace_id)
    if cap is None:
        return 0
    return recipients.filter(
        phone__in=capped_phones(
            workspace_id=campaign.workspace_id,
            campaign_id=campaign.pk,
            messages=cap[0],
            days=cap[1],
        )
    ).count()
