"""WhatsApp's 24-hour customer-service window, per (number, contact).

Meta delivers a free-form message (text, media, interactive) from a Cloud API number only within
24 hours of the contact's last message to that number; outside it the send is accepted and then
fails with 131047, so we refuse it before it leaves and say why (DESIGN: "The 24-hour window").
WhatsApp-Web and sandbox numbers have no such window. The ingestion keeps `CustomerWindow`
(the last inbound per number and phone); this module reads it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Workspace
from messaging.numbers.models import CustomerWindow, Sender

WINDOW = timedelta(hours=24)
WINDOW_CLOSED_CODE = "window_closed"


@dataclass(frozen=True)
class WindowState:
    """The window between one number and one phone at `now`."""

    sender: Sender
    applies: bool  # False: the number's provider has no window (WhatsApp Web, sandbox)
    last_inbound_at: datetime | None
    now: datetime

    @property
    def closes_at(self) -> datetime | None:
        return self.last_inbound_at + WINDOW if self.last_inbound_at else None

    @property
    def is_open(self) -> bool:
        """Free-form messages may go out now."""
        if not self.applies:
            return True
        return self.closes_at is not None and self.closes_at > self.now


def window_applies(sender: Sender) -> bool:
    """Only Meta's Cloud API enforces the window (research §1.5, error 131047)."""
    return sender.provider == Sender.Provider.CLOUD_API


def _zone(workspace: Workspace, zone: str | None = None) -> ZoneInfo:
    for name in (zone, workspace.time_zone, "UTC"):
        if not name:
            continue
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            continue
    return ZoneInfo("UTC")


def window_state(*, sender: Sender, phone: str, now: datetime | None = None) -> WindowState:
    """The window between `sender` and `phone` (E.164)."""
    last = (
        CustomerWindow.objects.filter(sender_id=sender.pk, phone=phone)
        .values_list("last_inbound_at", flat=True)
        .first()
    )
    return WindowState(
        sender=sender,
        applies=window_applies(sender),
        last_inbound_at=last,
        now=now or timezone.now(),
    )


def senders_open_for(*, senders: list[Sender], phone: str, now: datetime | None = None) -> set[int]:
    """The ids of `senders` that may send `phone` a free-form message now (one query)."""
    now = now or timezone.now()
    recent = set(
        CustomerWindow.objects.filter(
            sender_id__in=[s.pk for s in senders if window_applies(s)],
            phone=phone,
            last_inbound_at__gt=now - WINDOW,
        ).values_list("sender_id", flat=True)
    )
    return {s.pk for s in senders if not window_applies(s) or s.pk in recent}


def windows_for_phone(
    *,
    workspace: Workspace,
    phone: str,
    senders: list[int] | None = None,
    now: datetime | None = None,
) -> list[WindowState]:
    """The window on each live number of the workspace for one phone (the contact page): one
    query for the numbers, one for the windows. `senders`: only these numbers (a member who
    sees some numbers' conversations does not learn when the contact wrote to the others)."""
    now = now or timezone.now()
    live = Sender.objects.for_workspace(workspace).filter(removed_at__isnull=True)
    if senders is not None:
        live = live.filter(pk__in=senders)
    numbers = list(live.order_by("id"))
    last = dict(
        CustomerWindow.objects.for_workspace(workspace)
        .filter(phone=phone, sender_id__in=[n.pk for n in numbers])
        .values_list("sender_id", "last_inbound_at")
    )
    return [
        WindowState(sender=n, applies=window_applies(n), last_inbound_at=last.get(n.pk), now=now)
        for n in numbers
    ]


def window_closed_reason(state: WindowState, *, zone: ZoneInfo) -> str:
    """Why a free-form message cannot go out: when the window closed, or that the contact never
    wrote to this number; and what to send instead."""
    number = state.sender.phone_number or state.sender.label or str(state.sender.public_id)
    if state.closes_at is None:
        return _(
            "WhatsApp's 24-hour customer-service window is closed: this contact has never "
            "written to %(number)s, and Meta delivers free-form messages (text, media, "
            "buttons) only within 24 hours of the contact's last message. Send an approved "
            "WhatsApp template instead."
        ) % {"number": number}
    return _(
        "WhatsApp's 24-hour customer-service window with this contact closed on %(when)s "
        "(24 hours after their last message to %(number)s). Free-form messages (text, media, "
        "buttons) can only be sent inside it; send an approved WhatsApp template instead."
    ) % {
        "when": state.closes_at.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z"),
        "number": number,
    }


def window_require_open(
    *,
    workspace: Workspace,
    sender: Sender,
    phone: str,
    now: datetime | None = None,
    zone: str | None = None,
) -> WindowState:
    """Refuse a free-form message before it is sent when the window is closed (a
    ValidationError with code `window_closed` whose text names the window and offers a
    template); return the state otherwise. `zone`: the reader's time zone for the message."""
    assert sender.workspace_id == workspace.pk
    state = window_state(sender=sender, phone=phone, now=now)
    if not state.is_open:
        raise ValidationError(
            window_closed_reason(state, zone=_zone(workspace, zone)), code=WINDOW_CLOSED_CODE
        )
    return state


@dataclass(frozen=True)
class WindowRow:
    """One number's window with a contact, as the contact page shows it (times local)."""

    number: str
    number_id: str  # the number's public id
    applies: bool
    is_open: bool
    closes_at: str  # "YYYY-MM-DD HH:MM" in the workspace's time zone, "" when never
    zone: str


def customer_window_rows(
    *, workspace: Workspace, phone: str, senders: list[int] | None = None
) -> list[WindowRow]:
    """The contact page's "24-hour window" box: per live number (of `senders`, when given),
    open or not and until when, in the workspace's time zone."""
    zone = _zone(workspace)
    return [
        WindowRow(
            number=str(state.sender),
            number_id=str(state.sender.public_id),
            applies=state.applies,
            is_open=state.is_open,
            closes_at=(
                state.closes_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
                if state.closes_at
                else ""
            ),
            zone=str(zone),
        )
        for state in windows_for_phone(workspace=workspace, phone=phone, senders=senders)
    ]
