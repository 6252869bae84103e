"""Team inbox pages (thin: parse input, call a selector or a service, render).

Owners, admins and members read and answer; viewers read only (every write needs
`Perm.CAMPAIGNS_RUN`, the right to send). Every object comes from a `get_*_for_workspace`
selector, so another workspace's id is a 404 before anything else happens. The open
conversation polls `since/` (new lines and moved ticks only) and the sidebar polls `unread/`
(one count): nothing re-renders the whole list."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import Membership, User
from accounts.permissions import Perm, Role, role_has
from accounts.services import WorkspaceSuspended
from accounts.tenancy import WorkspaceRequest, workspace_view
from billing.services import InsufficientCredits
from messaging.contacts import services as contact_services
from messaging.content.models import WhatsAppTemplate
from messaging.inbox import selectors, services
from messaging.inbox.models import Conversation
from messaging.numbers.customer_window import window_state
from messaging.numbers.models import Sender

LIST_PAGE = 50


def _can_answer(request: WorkspaceRequest) -> bool:
    return role_has(request.membership.role, Perm.CAMPAIGNS_RUN)


def _errors(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc)


@workspace_view(Perm.VIEW)
@require_GET
def inbox(request: WorkspaceRequest) -> HttpResponse:
    """The conversation list: views (all, mine, unassigned), filters, search; 50 a page,
    newest activity first, paged by a keyset cursor (no count over the whole table)."""
    workspace = request.workspace
    params = request.GET
    senders = selectors.numbers_visible_to(request.membership)
    view = params.get("view", "all") if params.get("view") in selectors.VIEWS else "all"
    state = params.get("state", "open") if params.get("state") in selectors.STATES else "open"
    qs = selectors.conversations_matching(
        workspace=workspace,
        user=request.user,
        view=view,
        state=state,
        number=params.get("number", ""),
        campaign=params.get("campaign", ""),
        label=params.get("label", ""),
        search=params.get("q", "")[:100],
        senders=senders,
    )
    before = params.get("before", "")
    if before:
        at, _sep, pk = before.rpartition("_")
        try:
            qs = qs.filter(last_message_at__lte=datetime.fromisoformat(at.replace(" ", "+")))
            qs = qs.exclude(
                last_message_at=datetime.fromisoformat(at.replace(" ", "+")), id__gte=int(pk)
            )
        except ValueError:
            pass
    rows = list(qs[: LIST_PAGE + 1])
    more = len(rows) > LIST_PAGE
    rows = rows[:LIST_PAGE]
    query = params.copy()
    query.pop("before", None)
    numbers = Sender.objects.for_workspace(workspace).filter(removed_at__isnull=True)
    if senders is not None:
        numbers = numbers.filter(pk__in=senders)
    next_query = ""
    if more:
        last = rows[-1]
        query["before"] = f"{last.last_message_at.isoformat()}_{last.pk}"
        next_query = query.urlencode()
    return render(
        request,
        "messaging/inbox/list.html",
        {
            "conversations": rows,
            "next_query": next_query,
            "view": view,
            "state": state,
            "numbers": numbers.order_by("id"),
            "labels": selectors.labels_of_workspace(workspace=workspace, senders=senders),
            "filters": params,
            "can_manage_team": role_has(request.membership.role, Perm.TEAM_MANAGE),
        },
    )


@workspace_view(Perm.VIEW)
@require_GET
def unread(request: WorkspaceRequest) -> HttpResponse:
    """The sidebar's badge: the number of conversations with unread replies (a fragment)."""
    count = selectors.unread_total(
        workspace=request.workspace, senders=selectors.numbers_visible_to(request.membership)
    )
    return render(request, "messaging/inbox/_unread.html", {"unread": count})


def _conversation_context(
    request: WorkspaceRequest, conversation: Conversation, **extra: Any
) -> dict[str, Any]:
    workspace = request.workspace
    state = window_state(sender=conversation.sender, phone=conversation.phone)
    templates = WhatsAppTemplate.objects.for_workspace(workspace).filter(
        status=WhatsAppTemplate.Status.APPROVED
    )
    if conversation.sender.waba_id:
        templates = templates.filter(waba_id=conversation.sender.waba_id)
    chosen = extra.pop("template", None)
    contact = conversation.contact
    return {
        "conversation": conversation,
        "page": selectors.thread_page(conversation=conversation),
        "window": state,
        "window_left": (state.closes_at - state.now)
        if state.applies and state.is_open and state.closes_at is not None
        else None,
        "contact": contact,
        "lists": contact.lists.filter(workspace=workspace).order_by("name") if contact else [],
        "campaigns": selectors.past_campaigns(conversation=conversation),
        "members": selectors.members_who_answer(
            workspace=workspace, sender_id=conversation.sender_id
        ),
        "canned": selectors.canned_replies_of_workspace(workspace=workspace),
        "templates": templates.order_by("name", "language")[:100],
        "template": chosen,
        "template_fields": services.template_prefill(template=chosen, conversation=conversation)
        if chosen is not None
        else [],
        "can_answer": _can_answer(request),
        "opt_in_keyword": selectors.opt_in_keyword(workspace=workspace, contact=contact),
        "can_add_contact": role_has(request.membership.role, Perm.CONTACTS_WRITE),
        "reply_text": "",
        "reply_error": "",
        **extra,
    }


@workspace_view(Perm.VIEW)
@require_GET
def conversation(request: WorkspaceRequest, conversation_id: str) -> HttpResponse:
    """One conversation: the newest 50 lines (older ones on demand), the reply box or the
    template picker (outside the 24-hour window), and the contact's side panel. Opening it
    marks its replies read."""
    workspace = request.workspace
    item = _visible(request, conversation_id)
    if item.unread_count:
        services.conversation_mark_read(workspace=workspace, conversation=item)
    template = None
    if request.GET.get("template"):
        template = (
            WhatsAppTemplate.objects.for_workspace(workspace)
            .filter(public_id=selectors.parse_uuid(request.GET["template"]))
            .first()
        )
    return render(
        request,
        "messaging/inbox/conversation.html",
        _conversation_context(request, item, template=template),
    )


@workspace_view(Perm.VIEW)
@require_GET
def conversation_since(request: WorkspaceRequest, conversation_id: str) -> HttpResponse:
    """The live endpoint the open conversation polls: new lines (appended) and messages whose
    ticks moved (replaced), and the poller itself with the next cursor."""
    workspace = request.workspace
    item = _visible(request, conversation_id)
    since = selectors.thread_since(conversation=item, cursor=selectors.Cursor.parse(request.GET))
    if since.items and item.unread_count:
        services.conversation_mark_read(workspace=workspace, conversation=item)
    return render(request, "messaging/inbox/_since.html", {"conversation": item, "since": since})


@workspace_view(Perm.VIEW)
@require_GET
def conversation_earlier(request: WorkspaceRequest, conversation_id: str) -> HttpResponse:
    """ "Load earlier": the page of lines before the oldest one shown."""
    item = _visible(request, conversation_id)
    try:
        before = datetime.fromisoformat(request.GET.get("before", "").replace(" ", "+"))
    except ValueError:
        before = None
    page = selectors.thread_page(conversation=item, before=before)
    return render(request, "messaging/inbox/_earlier.html", {"conversation": item, "page": page})


def _visible(request: WorkspaceRequest, conversation_id: str) -> Conversation:
    """The conversation, or a 404 (another workspace's, or a number hidden from the member)."""
    return selectors.get_conversation_for_workspace(
        workspace=request.workspace,
        conversation_id=conversation_id,
        senders=selectors.numbers_visible_to(request.membership),
    )


def _write_target(request: WorkspaceRequest, conversation_id: str) -> Conversation:
    if not _can_answer(request):
        raise PermissionDenied
    return _visible(request, conversation_id)


def _back(request: WorkspaceRequest, item: Conversation) -> HttpResponse:
    return redirect("messaging_inbox:conversation", request.workspace.slug, item.public_id)


@workspace_view(Perm.CAMPAIGNS_RUN)
@require_POST
def conversation_reply(request: WorkspaceRequest, conversation_id: str) -> HttpResponse:
    """Send text, an image or document, or text with quick-reply buttons. A refusal (window
    closed, no credits, opted out...) shows its reason above the box and keeps the text."""
    item = _write_target(request, conversation_id)
    text = request.POST.get("text", "")
    try:
        services.conversation_reply(
            workspace=request.workspace,
            conversation=item,
            text=text,
            media=request.FILES.get("media"),
            buttons=request.POST.getlist("button"),
            actor=request.user,
        )
    except (ValidationError, InsufficientCredits, WorkspaceSuspended) as exc:
        context = _conversation_context(request, item, reply_text=text, reply_error=_errors(exc))
        return render(request, "messaging/inbox/conversation.html", context, status=400)
    messages.success(request, _("Reply queued: it goes out ahead of campaign traffic."))
    return _back(request, item)


@workspace_view(Perm.CAMPAIGNS_RUN)
@require_POST
def conversation_template(request: WorkspaceRequest, conversation_id: str) -> HttpResponse:
    """Send an approved WhatsApp template, its variables as the agent left them."""
    item = _write_target(request, conversation_id)
    template = (
        WhatsAppTemplate.objects.for_workspace(request.workspace)
        .filter(public_id=selectors.parse_uuid(request.POST.get("template", "")))
        .first()
    )
    variables = {
        key.removeprefix("var:"): str(value)
        for key, value in request.POST.items()
        if key.startswith("var:")
    }
    try:
        if template is None:
            raise ValidationError(_("Choose a WhatsApp template."))
        services.conversation_template_send(
            workspace=request.workspace,
            conversation=item,
            template=template,
            variables=variables,
            actor=request.user,
        )
    except (ValidationError, InsufficientCredits, WorkspaceSuspended) as exc:
        context = _conversation_context(request, item, template=template, reply_error=_errors(exc))
        return render(request, "messaging/inbox/conversation.html", context, status=400)
    messages.success(request, _("Template queued: it goes out ahead of campaign traffic."))
    return _back(request, item)


@workspace_view(Perm.CAMPAIGNS_RUN)
@require_GET
def conversation_canned_text(request: WorkspaceRequest, conversation_id: str) -> HttpResponse:
    """The reply box filled with a canned reply for this contact (htmx swaps the box)."""
    item = _write_target(request, conversation_id)
    text = ""
    if request.GET.get("canned"):  # "Insert a canned reply…" itself empties the box
        canned = selectors.get_canned_reply_for_workspace(
            workspace=request.workspace, canned_id=request.GET["canned"]
        )
        text = services.canned_reply_render(canned=canned, conversation=item)
    return render(request, "messaging/inbox/_reply_text.html", {"reply_text": text})


@workspace_view(Perm.CAMPAIGNS_RUN)
@require_POST
def conversation_assign(request: WorkspaceRequest, conversation_id: str) -> HttpResponse:
    item = _write_target(request, conversation_id)
    chosen = request.POST.get("assignee", "")
    assignee = None
    if chosen == "me":
        assignee = request.user
    elif chosen:
        assignee = User.objects.filter(
            memberships__workspace=request.workspace, pk=chosen if chosen.isdigit() else -1
        ).first()
        if assignee is None:
            messages.error(request, _("Choose a member of this workspace."))
            return _back(request, item)
    try:
        services.conversation_assign(
            workspace=request.workspace, conversation=item, assignee=assignee, actor=request.user
        )
    except ValidationError as exc:
        messages.error(request, _errors(exc))
    else:
        messages.success(
            request,
            _("Assigned to %(who)s.") % {"who": assignee.email}
            if assignee
            else _("Nobody is assigned now."),
        )
    return _back(request, item)


def _act(
    request: WorkspaceRequest, conversation_id: str, action: Callable[..., object], **fields: Any
) -> HttpResponse:
    """A small change to one conversation (state, note, labels): the service's refusal is
    shown as a message, and the agent goes back to the conversation either way."""
    item = _write_target(request, conversation_id)
    try:
        action(workspace=request.workspace, conversation=item, actor=request.user, **fields)
    except ValidationError as exc:
        messages.error(request, _errors(exc))
    return _back(request, item)


@workspace_view(Perm.CAMPAIGNS_RUN)
@require_POST
def conversation_status(request: WorkspaceRequest, conversation_id: str) -> HttpResponse:
    return _act(
        request,
        conversation_id,
        services.conversation_status_set,
        status=request.POST.get("status", ""),
    )


@workspace_view(Perm.CAMPAIGNS_RUN)
@require_POST
def conversation_note(request: WorkspaceRequest, conversation_id: str) -> HttpResponse:
    return _act(
        request, conversation_id, services.conversation_note_add, text=request.POST.get("note", "")
    )


@workspace_view(Perm.CAMPAIGNS_RUN)
@require_POST
def conversation_labels(request: WorkspaceRequest, conversation_id: str) -> HttpResponse:
    return _act(
        request,
        conversation_id,
        services.conversation_labels_set,
        labels=request.POST.get("labels", "").split(","),
    )


@workspace_view(Perm.CONTACTS_WRITE)
@require_POST
def conversation_opt_out(request: WorkspaceRequest, conversation_id: str) -> HttpResponse:
    item = _write_target(request, conversation_id)
    if item.contact is None:
        raise PermissionDenied
    contact_services.contact_opt_out(
        workspace=request.workspace, contact=item.contact, reason=_("Opted out from the inbox")
    )
    messages.success(request, _("The contact is opted out and will not receive campaigns."))
    return _back(request, item)


@workspace_view(Perm.CONTACTS_WRITE)
@require_POST
def conversation_opt_in(request: WorkspaceRequest, conversation_id: str) -> HttpResponse:
    item = _write_target(request, conversation_id)
    if item.contact is None:
        raise PermissionDenied
    try:
        contact_services.contact_opt_in(
            workspace=request.workspace,
            contact=item.contact,
            consent_source=request.POST.get("consent_source", ""),
            actor=request.user,
        )
    except ValidationError as exc:
        messages.error(request, _errors(exc))
    else:
        messages.success(request, _("The contact is subscribed again."))
    return _back(request, item)


# --- canned replies ---------------------------------------------------------------------------


@workspace_view(Perm.VIEW)
@require_http_methods(["GET", "POST"])
def canned_replies(request: WorkspaceRequest) -> HttpResponse:
    workspace = request.workspace
    error, name, text = "", "", ""
    if request.method == "POST":
        if not _can_answer(request):
            raise PermissionDenied
        name, text = request.POST.get("name", ""), request.POST.get("text", "")
        try:
            services.canned_reply_create(
                workspace=workspace, name=name, text=text, actor=request.user
            )
        except ValidationError as exc:
            error = _errors(exc)
        else:
            messages.success(request, _("Canned reply saved."))
            return redirect("messaging_inbox:canned", workspace.slug)
    return render(
        request,
        "messaging/inbox/canned.html",
        {
            "canned": selectors.canned_replies_of_workspace(workspace=workspace),
            "can_answer": _can_answer(request),
            "error": error,
            "name": name,
            "text": text,
        },
        status=400 if error else 200,
    )


@workspace_view(Perm.VIEW)
@require_http_methods(["GET", "POST"])
def canned_reply_edit(request: WorkspaceRequest, canned_id: str) -> HttpResponse:
    workspace = request.workspace
    canned = selectors.get_canned_reply_for_workspace(workspace=workspace, canned_id=canned_id)
    error, name, text = "", canned.name, canned.text
    if request.method == "POST":
        if not _can_answer(request):
            raise PermissionDenied
        name, text = request.POST.get("name", ""), request.POST.get("text", "")
        try:
            services.canned_reply_update(
                workspace=workspace, canned=canned, name=name, text=text, actor=request.user
            )
        except ValidationError as exc:
            error = _errors(exc)
        else:
            messages.success(request, _("Canned reply saved."))
            return redirect("messaging_inbox:canned", workspace.slug)
    return render(
        request,
        "messaging/inbox/canned_edit.html",
        {
            "item": canned,
            "can_answer": _can_answer(request),
            "error": error,
            "name": name,
            "text": text,
        },
        status=400 if error else 200,
    )


@workspace_view(Perm.CAMPAIGNS_RUN)
@require_POST
def canned_reply_delete(request: WorkspaceRequest, canned_id: str) -> HttpResponse:
    workspace = request.workspace
    canned = selectors.get_canned_reply_for_workspace(workspace=workspace, canned_id=canned_id)
    services.canned_reply_delete(workspace=workspace, canned=canned, actor=request.user)
    messages.success(request, _("Canned reply deleted."))
    return redirect("messaging_inbox:canned", workspace.slug)


@workspace_view(Perm.TEAM_MANAGE)
@require_http_methods(["GET", "POST"])
def inbox_access(request: WorkspaceRequest) -> HttpResponse:
    """Which numbers' conversations each member and viewer sees (none ticked: all). Owners
    and admins always see every number."""
    workspace = request.workspace
    numbers = list(
        Sender.objects.for_workspace(workspace).filter(removed_at__isnull=True).order_by("id")
    )
    memberships = list(
        Membership.objects.filter(workspace=workspace, role__in=[Role.MEMBER, Role.VIEWER])
        .select_related("user")
        .order_by("user__email")
    )
    if request.method == "POST":
        try:
            for membership in memberships:
                chosen = request.POST.getlist(f"numbers-{membership.pk}")
                services.membership_inbox_numbers_set(
                    workspace=workspace,
                    membership=membership,
                    sender_ids=[int(v) for v in chosen if v.isdigit()],
                    actor=request.user,
                )
        except ValidationError as exc:
            messages.error(request, _errors(exc))
        else:
            messages.success(request, _("Inbox access saved."))
        return redirect("messaging_inbox:access", workspace.slug)
    return render(
        request,
        "messaging/inbox/access.html",
        {"numbers": numbers, "memberships": memberships},
    )
