"""Events the apps publish (a message's status, a reply, a campaign's progress, an opt-out, a
number's status, low credits), built from plain values by the code that saw them happen, and
handed to whoever subscribed: outgoing webhooks (`integrations`) connect in their
AppConfig.ready(). Publishing runs in the caller's transaction, so what a subscriber writes
commits or rolls back with the change it reports. Only public ids (UUIDs) appear in payloads."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.dispatch import Signal

MESSAGE_STATUS = "message.status"
MESSAGE_INBOUND = "message.inbound"
CAMPAIGN_STARTED = "campaign.started"
CAMPAIGN_COMPLETED = "campaign.completed"
CAMPAIGN_PAUSED = "campaign.paused"
CONTACT_OPTED_OUT = "contact.opted_out"
NUMBER_STATUS_CHANGED = "number.status_changed"
CREDITS_LOW = "credits.low"
CONVERSATION_ASSIGNED = "conversation.assigned"
CONVERSATION_CLOSED = "conversation.closed"

# kwargs: workspace_id, events (a list of `Event`).
events_published = Signal()


def events_publish(*, workspace_id: int, events: list[Event]) -> None:
    """Hand a batch of events to the subscribers (nothing happens when there are none)."""
    if events:
        events_published.send(sender=None, workspace_id=workspace_id, events=events)


Event = tuple[str, dict[str, Any]]


def _id(value: uuid.UUID | str | None) -> str | None:
    return str(value) if value else None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def message_status_event(
    *,
    message_id: uuid.UUID | str,
    status: str,
    phone: str,
    campaign_id: uuid.UUID | str | None = None,
    error_code: int | None = None,
    error_title: str = "",
) -> Event:
    data: dict[str, Any] = {
        "message_id": _id(message_id),
        "status": status,
        "to": phone,
        "campaign_id": _id(campaign_id),
    }
    if status == "failed":
        data["error"] = {"code": error_code, "title": error_title}
    return MESSAGE_STATUS, data


def message_inbound_event(
    *,
    number_id: uuid.UUID | str,
    phone: str,
    kind: str,
    text: str,
    payload: str = "",
    provider_message_id: str = "",
    contact_id: uuid.UUID | str | None = None,
    campaign_id: uuid.UUID | str | None = None,
    is_opt_out: bool = False,
    received_at: datetime | None = None,
) -> Event:
    return MESSAGE_INBOUND, {
        "number_id": _id(number_id),
        "from": phone,
        "kind": kind,
        "text": text,
        "button_payload": payload,
        "provider_message_id": provider_message_id,
        "contact_id": _id(contact_id),
        "campaign_id": _id(campaign_id),
        "is_opt_out": is_opt_out,
        "received_at": _iso(received_at),
    }


def campaign_event(event_type: str, campaign: Any) -> Event:
    """`campaign` is a messaging Campaign (read by attribute: no import of messaging)."""
    data = {
        "campaign_id": _id(campaign.public_id),
        "name": campaign.name,
        "status": campaign.status,
        "recipients": campaign.recipients,
        "counts": {
            "accepted": campaign.count_accepted,
            "sent": campaign.count_sent,
            "delivered": campaign.count_delivered,
            "read": campaign.count_read,
            "failed": campaign.count_failed,
            "skipped": campaign.count_skipped,
            "cancelled": campaign.count_cancelled,
            "replied": campaign.count_replied,
        },
    }
    if event_type == CAMPAIGN_PAUSED:
        data["pause_reason"] = campaign.pause_reason
    return event_type, data


def contact_opted_out_event(
    *, contact_id: uuid.UUID | str, phone: str, source: str, reason: str = ""
) -> Event:
    return CONTACT_OPTED_OUT, {
        "contact_id": _id(contact_id),
        "phone": phone,
        "source": source,
        "reason": reason,
    }


def number_status_event(
    number: Any,
    *,
    status: str | None = None,
    reason: str | None = None,
    previous_status: str = "",
) -> Event:
    """`number` is a messaging Sender (read by attribute). Pass `status` (and `reason`) when
    the object still holds the old status: it then counts as the previous one."""
    return NUMBER_STATUS_CHANGED, {
        "number_id": _id(number.public_id),
        "phone_number": number.phone_number,
        "provider": number.provider,
        "status": status or number.status,
        "previous_status": previous_status or (number.status if status else None),
        "reason": number.status_reason if reason is None else reason,
    }


def credits_low_event(*, available: int, threshold: int) -> Event:
    return CREDITS_LOW, {"available": available, "threshold": threshold}


def _conversation(
    *,
    conversation_id: uuid.UUID | str,
    number_id: uuid.UUID | str,
    phone: str,
    contact_id: uuid.UUID | str | None,
) -> dict[str, Any]:
    return {
        "conversation_id": _id(conversation_id),
        "number_id": _id(number_id),
        "phone": phone,
        "contact_id": _id(contact_id),
    }


def conversation_assigned_event(
    *,
    conversation_id: uuid.UUID | str,
    number_id: uuid.UUID | str,
    phone: str,
    contact_id: uuid.UUID | str | None,
    assignee_email: str | None,
) -> Event:
    """A team-inbox conversation was handed to a member (`assignee` null: unassigned)."""
    data = _conversation(
        conversation_id=conversation_id, number_id=number_id, phone=phone, contact_id=contact_id
    )
    return CONVERSATION_ASSIGNED, {**data, "assignee": assignee_email}


def conversation_closed_event(
    *,
    conversation_id: uuid.UUID | str,
    number_id: uuid.UUID | str,
    phone: str,
    contact_id: uuid.UUID | str | None,
    closed_by: str | None,
) -> Event:
    data = _conversation(
        conversation_id=conversation_id, number_id=number_id, phone=phone, contact_id=contact_id
    )
    return CONVERSATION_CLOSED, {**data, "closed_by": closed_by}
