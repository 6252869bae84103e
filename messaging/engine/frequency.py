"""The per-contact frequency cap (issue #21): "no contact gets more than N marketing messages
per M days, across campaigns" (`SendingPolicy`, off by default).

Set-based: one sub-query (contacts with N or more campaign messages in the last M days, grouped
in SQL) that fan-out, the launch and the pre-flight put in their own query, never a query per
contact. A campaign's own messages do not count against its recipients (fan-out writes them in
chunks), and messages that never reached anyone (failed, cancelled, skipped, expired) do not
count either. Contacts the cap leaves out are not queued, so no credit is reserved for them;
the campaign records how many (`Campaign.skipped_frequency_cap`)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import Count, QuerySet
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


def capped_contact_ids(
    *, workspace_id: int, campaign_id: int | None, messages: int, days: int
) -> QuerySet[Any, Any]:
    """A sub-query of the contact ids that already had `messages` marketing messages in the
    last `days` days (other campaigns than `campaign_id`)."""
    since = timezone.now() - timedelta(days=days)
    qs = Message.objects.filter(
        workspace_id=workspace_id,
        campaign__isnull=False,
        contact__isnull=False,
        created_at__gte=since,
    ).exclude(status__in=NOT_RECEIVED)
    if campaign_id is not None:
        qs = qs.exclude(campaign_id=campaign_id)
    return (
        qs.values("contact_id").annotate(n=Count("id")).filter(n__gte=messages).values("contact_id")
    )


def within_frequency_cap(campaign: Campaign, recipients: QuerySet[Contact]) -> QuerySet[Contact]:
    """`recipients` without the contacts the workspace's frequency cap leaves out."""
    cap = frequency_cap_of(campaign.workspace_id)
    if cap is None:
        return recipients
    return recipients.exclude(
        id__in=capped_contact_ids(
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
        id__in=capped_contact_ids(
            workspace_id=campaign.workspace_id,
            campaign_id=campaign.pk,
            messages=cap[0],
            days=cap[1],
        )
    ).count()
