"""Reads of the team inbox that the pages and the API share: the conversation list with its
views and filters, a conversation's thread (newest page first, "load earlier" by a cursor),
what is new since a poll, and the unread count.

Every read starts from `for_workspace(...)`; a conversation of another workspace is a 404."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from accounts.language import contact_language
from accounts.models import Membership, User, Workspace
from accounts.permissions import Role
from core.queries import get_or_404
from messaging.campaigns.messages import OPT_IN_KEYWORD
from messaging.campaigns.models import Campaign, InboundMessage, Message
from messaging.contacts.models import Contact
from messaging.contacts.selectors import contact_filter_q
from messaging.inbox.models import CannedReply, Conversation, ConversationNote

THREAD_PAGE = 50  # newest messages shown first; "load earlier" fetches the next page
VIEWS = ("all", "mine", "unassigned")
STATES = ("open", "pending", "closed", "all")


def numbers_visible_to(membership: Membership | None) -> list[int] | None:
    """The numbers whose conversations a member sees: None for all (owners, admins, a member
    without a restriction, the API), else the ids the membership names."""
    if (
        membership is None
        or membership.role in (Role.OWNER, Role.ADMIN)
        or not membership.inbox_sender_ids
    ):
        return None
    return list(membership.inbox_sender_ids)


def members_who_answer(*, workspace: Workspace, sender_id: int) -> list[Membership]:
    """The members a conversation on this number can be assigned to: those who may answer
    (not viewers) and see its number. A workspace has a few members, so the number rule is
    applied here rather than in SQL over an array."""
    members = (
        Membership.objects.filter(workspace=workspace)
        .exclude(role=Role.VIEWER)
        .select_related("user")
        .order_by("user__email")
    )
    return [
        member
        for member in members
        if (visible := numbers_visible_to(member)) is None or sender_id in visible
    ]


def get_conversation_for_workspace(
    *,
    workspace: Workspace,
    conversation_id: uuid.UUID | str,
    senders: list[int] | None = None,
) -> Conversation:
    """One conversation, or a 404 (another workspace's, or a number the member may not see)."""
    qs = Conversation.objects.for_workspace(workspace).select_related("sender", "contact")
    if senders is not None:
        qs = qs.filter(sender_id__in=senders)
    return get_or_404(qs, public_id=conversation_id)


def get_canned_reply_for_workspace(
    *, workspace: Workspace, canned_id: uuid.UUID | str
) -> CannedReply:
    return get_or_404(CannedReply.objects.for_workspace(workspace), public_id=canned_id)


def conversations_matching(
    *,
    workspace: Workspace,
    user: User | None = None,
    view: str = "all",
    state: str = "open",
    number: str = "",
    campaign: str = "",
    label: str = "",
    search: str = "",
    senders: list[int] | None = None,
) -> QuerySet[Conversation]:
    """The list, newest activity first. `view`: all, mine (assigned to `user`), unassigned;
    `state`: open, pending, closed or all; `number`/`campaign`: public ids (a foreign or
    malformed id matches nothing); `search`: the contact's name or phone, or the last text."""
    qs = Conversation.objects.for_workspace(workspace)
    if senders is not None:
        qs = qs.filter(sender_id__in=senders)
    if view == "mine":
        qs = qs.filter(assignee=user) if user is not None else qs.none()
    elif view == "unassigned":
        qs = qs.filter(assignee__isnull=True)
    if state in ("open", "pending", "closed"):
        qs = qs.filter(status=state)
    if number:
        qs = qs.filter(sender__public_id=parse_uuid(number))
    if campaign:
        campaign_id = (
            Campaign.objects.for_workspace(workspace)
            .filter(public_id=parse_uuid(campaign))
            .values_list("id", flat=True)
            .first()
        )
        if campaign_id is None:
            qs = qs.none()
        else:
            # A semi-join on the (campaign, contact) unique index: who got this campaign.
            qs = qs.filter(
                Exists(
                    Message.objects.filter(
                        campaign_id=campaign_id,
                        contact_id=OuterRef("contact_id"),
                        sender_id=OuterRef("sender_id"),
                    )
                )
            )
    if label:
        qs = qs.filter(labels__contains=[label])
    search = search.strip()
    if search:
        contacts = Contact.objects.for_workspace(workspace).filter(
            contact_filter_q({"search": search}, default_country=workspace.default_country)
        )
        digits = "".join(ch for ch in search if ch.isdigit())
        q = Q(contact_id__in=contacts.values("id")) | Q(last_preview__icontains=search)
        if len(digits) >= 3:
            q |= Q(phone__contains=digits)
        qs = qs.filter(q)
    return qs.select_related("sender", "contact", "assignee").order_by("-last_message_at", "-id")


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def unread_total(*, workspace: Workspace, senders: list[int] | None = None) -> int:
    """Conversations with unread replies (the sidebar's badge; a partial index answers it)."""
    qs = Conversation.objects.for_workspace(workspace).filter(unread_count__gt=0)
    if senders is not None:
        qs = qs.filter(sender_id__in=senders)
    return qs.count()


def labels_of_workspace(*, workspace: Workspace, senders: list[int] | None = None) -> list[str]:
    """The labels in use, for the filter (at most 100); `senders`: on these numbers'
    conversations only (a restricted member does not read the others' labels)."""
    qs = Conversation.objects.for_workspace(workspace).exclude(labels=[])
    if senders is not None:
        qs = qs.filter(sender_id__in=senders)
    rows = qs.values_list("labels", flat=True)[:2000]
    return sorted({label for labels in rows for label in labels})[:100]


@dataclass
class ThreadItem:
    """One line of a conversation: a message sent, a message received, or an internal note."""

    kind: str  # "out" | "in" | "note"
    pk: int
    at: datetime
    text: str
    status: str = ""  # outgoing: the message's status (the ticks)
    detail: str = ""  # outgoing: the error; inbound: its kind (button, reaction, image...)
    content: dict[str, Any] = field(default_factory=dict)
    campaign: str = ""
    author: str = ""

    @property
    def dom_id(self) -> str:
        return f"{self.kind}-{self.pk}"


@dataclass
class Cursor:
    """What a poller has already seen: the highest id of each kind and when it last asked."""

    message: int = 0
    inbound: int = 0
    note: int = 0
    since: datetime | None = None

    def query(self) -> str:
        since = (self.since or timezone.now()).isoformat()
        return f"m={self.message}&i={self.inbound}&n={self.note}&t={since}"

    @classmethod
    def parse(cls, params: Any) -> Cursor:
        def number(name: str) -> int:
            try:
                return max(int(params.get(name, 0)), 0)
            except (TypeError, ValueError):
                return 0

        try:
            since = datetime.fromisoformat(str(params.get("t", "")).replace(" ", "+"))
        except ValueError:
            since = None
        return cls(number("m"), number("i"), number("n"), since)


def _messages(conversation: Conversation) -> QuerySet[Message]:
    """The outgoing messages of the conversation, on the (contact, sender, -id) index, or for
    a number that is no contact on the (sender, phone, -id) index of messages without one (a
    conversation that has no contact never had one: a touch with a contact sets it)."""
    qs = Message.objects.filter(workspace_id=conversation.workspace_id)
    if conversation.contact_id is not None:
        return qs.filter(contact_id=conversation.contact_id, sender_id=conversation.sender_id)
    return qs.filter(
        sender_id=conversation.sender_id, phone=conversation.phone, contact__isnull=True
    )


def _inbound(conversation: Conversation) -> QuerySet[InboundMessage]:
    return InboundMessage.objects.filter(
        workspace_id=conversation.workspace_id,
        sender_id=conversation.sender_id,
        phone=conversation.phone,
    )


def _out_item(row: dict[str, Any]) -> ThreadItem:
    return ThreadItem(
        kind="out",
        pk=row["id"],
        at=row["created_at"],
        text=row["body"],
        status=row["status"],
        detail=row["error_title"],
        content=row["content"] or {},
        campaign=row["campaign__name"] or "",
    )


_OUT_FIELDS = ("id", "created_at", "body", "status", "error_title", "content", "campaign__name")
_IN_FIELDS = ("id", "received_at", "text", "kind", "payload")


def _in_item(row: dict[str, Any]) -> ThreadItem:
    return ThreadItem(
        kind="in",
        pk=row["id"],
        at=row["received_at"],
        text=row["text"] or row["payload"],
        detail=row["kind"],
    )


def _note_item(note: ConversationNote) -> ThreadItem:
    author = note.author.email if note.author is not None else ""
    return ThreadItem(kind="note", pk=note.pk, at=note.created_at, text=note.text, author=author)


@dataclass
class ThreadPage:
    items: list[ThreadItem]
    earlier: str  # the cursor of the next older page ("" when this is the oldest)
    cursor: Cursor


def thread_page(
    *, conversation: Conversation, before: datetime | None = None, limit: int = THREAD_PAGE
) -> ThreadPage:
    """The `limit` newest items before `before` (all kinds merged by time, oldest first for
    display): three index range scans of at most `limit + 1` rows each."""
    out = _messages(conversation)
    inbound = _inbound(conversation)
    notes = ConversationNote.objects.filter(conversation=conversation).select_related("author")
    if before is not None:
        out = out.filter(created_at__lt=before)
        inbound = inbound.filter(received_at__lt=before)
        notes = notes.filter(created_at__lt=before)
    sent = [_out_item(r) for r in out.order_by("-id").values(*_OUT_FIELDS)[: limit + 1]]
    received = [
        _in_item(r) for r in inbound.order_by("-received_at").values(*_IN_FIELDS)[: limit + 1]
    ]
    noted = [_note_item(n) for n in notes.order_by("-created_at")[: limit + 1]]
    items = sorted(sent + received + noted, key=lambda item: (item.at, item.pk), reverse=True)
    more = len(items) > limit
    items = items[:limit]
    items.reverse()
    # The newest page holds the newest row of each kind: the poller starts after them.
    cursor = Cursor(
        message=max((i.pk for i in sent), default=0),
        inbound=max((i.pk for i in received), default=0),
        note=max((i.pk for i in noted), default=0),
        since=timezone.now(),
    )
    earlier = items[0].at.isoformat() if more and items else ""
    return ThreadPage(items=items, earlier=earlier, cursor=cursor)


@dataclass
class Since:
    """What a poll brings: new items, outgoing messages whose ticks moved, the next cursor."""

    items: list[ThreadItem]
    changed: list[ThreadItem]
    cursor: Cursor


def thread_since(*, conversation: Conversation, cursor: Cursor) -> Since:
    """Items newer than the cursor and the ticks that moved since it (small, cheap queries on
    the thread indexes: the live endpoint a conversation polls)."""
    now = timezone.now()
    out = [
        _out_item(r)
        for r in _messages(conversation)
        .filter(id__gt=cursor.message)
        .order_by("id")
        .values(*_OUT_FIELDS)[:200]
    ]
    inbound = [
        _in_item(r)
        for r in _inbound(conversation)
        .filter(id__gt=cursor.inbound)
        .order_by("id")
        .values(*_IN_FIELDS)[:200]
    ]
    notes = [
        _note_item(n)
        for n in ConversationNote.objects.filter(conversation=conversation, id__gt=cursor.note)
        .select_related("author")
        .order_by("id")[:200]
    ]
    changed: list[ThreadItem] = []
    if cursor.since is not None and cursor.message:
        changed = [
            _out_item(r)
            for r in _messages(conversation)
            .filter(id__lte=cursor.message, status_changed_at__gte=cursor.since)
            .order_by("-id")
            .values(*_OUT_FIELDS)[:50]
        ]
    items = sorted(out + inbound + notes, key=lambda item: (item.at, item.pk))
    next_cursor = Cursor(
        message=max([cursor.message, *(i.pk for i in out)]),
        inbound=max([cursor.inbound, *(i.pk for i in inbound)]),
        note=max([cursor.note, *(i.pk for i in notes)]),
        since=now,
    )
    return Since(items=items, changed=changed, cursor=next_cursor)


def past_campaigns(*, conversation: Conversation, limit: int = 10) -> list[dict[str, Any]]:
    """The campaigns this contact got, newest first (the side panel): one probe of the
    (campaign, contact) unique index per campaign of the workspace, never a scan of the
    contact's messages (a long conversation has thousands)."""
    if conversation.contact_id is None:
        return []
    return [
        dict(row)
        for row in Campaign.objects.filter(workspace_id=conversation.workspace_id)
        .filter(
            Exists(
                Message.objects.filter(
                    campaign_id=OuterRef("pk"), contact_id=conversation.contact_id
                )
            )
        )
        .order_by("-created_at")
        .values("public_id", "name", "status", "created_at")[:limit]
    ]


NO_ID = uuid.UUID(int=0)  # what a malformed id looks up: it matches no row


def opt_in_keyword(*, workspace: Workspace, contact: Contact | None) -> str:
    """The reply that subscribes an opted-out contact again, in the language the product
    writes to them in (what the opt-out confirmation tells them to send)."""
    language = contact_language(
        contact_language=contact.language if contact is not None else "",
        workspace_language=workspace.contact_language,
    )
    return OPT_IN_KEYWORD.get(language, OPT_IN_KEYWORD["en"])


def parse_uuid(value: str) -> uuid.UUID:
    """A public id from user input (a malformed one becomes `NO_ID`, which matches nothing)."""
    return _uuid(value) or NO_ID


def canned_replies_of_workspace(*, workspace: Workspace) -> QuerySet[CannedReply]:
    return CannedReply.objects.for_workspace(workspace).order_by("name")


def conversations_of_contact(
    *, workspace: Workspace, contact: Contact, senders: list[int] | None = None
) -> QuerySet[Conversation]:
    """The contact page's links: the contact's conversations, one per number."""
    qs = Conversation.objects.for_workspace(workspace).filter(
        Q(contact=contact) | Q(phone=contact.phone)
    )
    if senders is not None:
        qs = qs.filter(sender_id__in=senders)
    return qs.select_related("sender").order_by("-last_message_at")
