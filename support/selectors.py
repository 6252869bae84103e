"""Reads of the support desk shared by the dashboard pages and the staff pages.

Who sees a workspace's tickets (the rule every customer-side read goes through):
- every member, viewers included, may open tickets and sees the tickets they opened;
- owners and admins also see the workspace's other tickets, except privacy tickets: a
  member's question about their own personal data is theirs and staff's alone.
A ticket outside that rule is a 404, exactly like a ticket of another workspace."""

from __future__ import annotations

from typing import Any

from django.db.models import Case, IntegerField, Q, QuerySet, Value, When
from django.shortcuts import get_object_or_404
from django.utils import timezone

from accounts.models import Membership, User, Workspace
from accounts.permissions import Role
from support.models import Ticket, TicketAttachment, TicketMessage

SEES_WORKSPACE_TICKETS = (Role.OWNER, Role.ADMIN)


def tickets_for_member(*, workspace: Workspace, membership: Membership) -> QuerySet[Ticket]:
    tickets = Ticket.objects.for_workspace(workspace).select_related("opened_by")
    mine = Q(opened_by_id=membership.user_id)
    if membership.role in SEES_WORKSPACE_TICKETS:
        return tickets.filter(mine | ~Q(category=Ticket.Category.PRIVACY))
    return tickets.filter(mine)


def get_ticket_for_member(
    *, workspace: Workspace, membership: Membership, ticket_id: Any
) -> Ticket:
    """One 404 for a missing ticket, another workspace's, and one the member may not see."""
    return get_object_or_404(
        tickets_for_member(workspace=workspace, membership=membership).select_related(
            "data_request"
        ),
        public_id=ticket_id,
    )


def ticket_thread(*, ticket: Ticket, include_internal: bool) -> list[TicketMessage]:
    """The thread in order, with authors and attachments (three queries, whatever its
    length). Customers never get staff's internal notes."""
    messages = (
        TicketMessage.objects.filter(ticket=ticket)
        .select_related("author")
        .prefetch_related("attachments")
    )
    if not include_internal:
        messages = messages.filter(internal=False)
    return list(messages.order_by("created_at", "pk"))


def get_attachment_for_member(
    *, workspace: Workspace, membership: Membership, ticket_id: Any, attachment_id: Any
) -> TicketAttachment:
    ticket = get_ticket_for_member(workspace=workspace, membership=membership, ticket_id=ticket_id)
    return get_object_or_404(
        TicketAttachment.objects.filter(ticket=ticket, message__internal=False),
        public_id=attachment_id,
    )


def queue_rank() -> Case:
    """The staff queue's order: overdue tickets first, then the rest awaiting staff, then
    those waiting on the customer, then closed ones (each by due time)."""
    awaiting = Q(status__in=Ticket.AWAITING_STAFF)
    return Case(
        When(awaiting & Q(due_at__lt=timezone.now()), then=Value(0)),
        When(awaiting, then=Value(1)),
        When(status=Ticket.Status.WAITING_ON_CUSTOMER, then=Value(2)),
        default=Value(3),
        output_field=IntegerField(),
    )


def support_staff() -> QuerySet[User]:
    """Who tickets can be assigned to: active staff in the Support group, and superusers."""
    return (
        User.objects.filter(is_active=True, is_staff=True)
        .filter(Q(is_superuser=True) | Q(groups__name="Support"))
        .distinct()
        .order_by("email")
    )
