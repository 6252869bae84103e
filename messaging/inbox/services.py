"""Every write of the team inbox: assignment, state, notes, labels, read state, replies and
canned replies. Plain functions with keyword-only arguments, one transaction each.

Replies do not have a sender of their own: they go through `messages.message_send`, the one
path for single messages (credits, priority, pacing, statuses, the 24-hour window), and that
path keeps the conversation's list fields. Assigning and closing are published as
`conversation.assigned` / `conversation.closed` events (outgoing webhooks) in the same
transaction; each change writes an audit row."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import ApiKey, Membership, User, Workspace
from accounts.permissions import Perm, role_has
from accounts.services import audit_record
from core.events import conversation_assigned_event, conversation_closed_event, events_publish
from messaging.campaigns.messages import message_send
from messaging.campaigns.models import Message
from messaging.campaigns.whatsapp import media_file_name, sniff_mime
from messaging.content.models import WhatsAppTemplate
from messaging.content.rendering import TemplateError, contact_values, contact_values_of, render
from messaging.content.template_send import TemplateContent, template_render
from messaging.gateways import freeform
from messaging.inbox.models import CannedReply, Conversation, ConversationNote
from messaging.inbox.selectors import numbers_visible_to

MEDIA_LIMITS = {"image": 5 * 1024 * 1024, "document": 100 * 1024 * 1024}
MEDIA_KINDS = {"image/jpeg": "image", "image/png": "image", "application/pdf": "document"}
MAX_LABELS = 20


def _locked(conversation: Conversation) -> Conversation:
    """The conversation's row, locked for this transaction (two agents acting at once queue)."""
    return Conversation.objects.select_for_update().get(pk=conversation.pk)


def _agent_of(*, workspace: Workspace, user: User, conversation: Conversation) -> Membership:
    """The assignee's membership: one who may answer, and who sees the conversation's number
    (a member restricted to other numbers would be handed a conversation they cannot open)."""
    membership = Membership.objects.filter(workspace=workspace, user=user).first()
    if membership is None or not role_has(membership.role, Perm.CAMPAIGNS_RUN):
        raise ValidationError(
            {"assignee": _("Only a member who may answer (not a viewer) can be assigned.")}
        )
    visible = numbers_visible_to(membership)
    if visible is not None and conversation.sender_id not in visible:
        raise ValidationError(
            {
                "assignee": _(
                    "%(who)s does not see this number's conversations (see Inbox access)."
                )
                % {"who": user.email}
            }
        )
    return membership


def _event_data(conversation: Conversation) -> dict[str, Any]:
    return {
        "conversation_id": conversation.public_id,
        "number_id": conversation.sender.public_id,
        "phone": conversation.phone,
        "contact_id": conversation.contact.public_id if conversation.contact else None,
    }


def conversation_assign(
    *,
    workspace: Workspace,
    conversation: Conversation,
    assignee: User | None,
    actor: User | None = None,
    api_key: ApiKey | None = None,
) -> Conversation:
    """Hand the conversation to a member (None: unassign). Idempotent: assigning to the
    current assignee changes, audits and publishes nothing."""
    assert conversation.workspace_id == workspace.pk
    if assignee is not None:
        _agent_of(workspace=workspace, user=assignee, conversation=conversation)
    with transaction.atomic():
        row = _locked(conversation)
        if row.assignee_id == (assignee.pk if assignee else None):
            return row
        previous = row.assignee_id
        row.assignee = assignee
        row.updated_at = timezone.now()
        row.save(update_fields=["assignee", "updated_at"])
        audit_record(
            workspace=workspace,
            action="conversation.assign" if assignee else "conversation.unassign",
            actor=actor,
            api_key=api_key,
            target=row,
            details={"assignee": assignee.email if assignee else None, "previous": previous},
        )
        events_publish(
            workspace_id=workspace.pk,
            events=[
                conversation_assigned_event(
                    **_event_data(row), assignee_email=assignee.email if assignee else None
                )
            ],
        )
    return row


def conversation_status_set(
    *,
    workspace: Workspace,
    conversation: Conversation,
    status: str,
    actor: User | None = None,
    api_key: ApiKey | None = None,
) -> Conversation:
    """Open, pend or close. Closing publishes `conversation.closed`; a new reply reopens."""
    assert conversation.workspace_id == workspace.pk
    if status not in Conversation.Status.values:
        raise ValidationError({"status": _("Choose open, pending or closed.")})
    with transaction.atomic():
        row = _locked(conversation)
        if row.status == status:
            return row
        row.status = status
        row.updated_at = timezone.now()
        row.save(update_fields=["status", "updated_at"])
        audit_record(
            workspace=workspace,
            action="conversation.status",
            actor=actor,
            api_key=api_key,
            target=row,
            details={"status": status},
        )
        if status == Conversation.Status.CLOSED:
            events_publish(
                workspace_id=workspace.pk,
                events=[
                    conversation_closed_event(
                        **_event_data(row), closed_by=actor.email if actor else None
                    )
                ],
            )
    return row


def conversation_note_add(
    *, workspace: Workspace, conversation: Conversation, text: str, actor: User
) -> ConversationNote:
    """An internal note: the team sees it in the thread; it is never sent."""
    assert conversation.workspace_id == workspace.pk
    text = text.strip()
    if not text:
        raise ValidationError({"text": _("Write the note.")})
    if len(text) > 4000:
        raise ValidationError({"text": _("At most 4,000 characters.")})
    with transaction.atomic():
        note = ConversationNote(
            workspace=workspace, conversation=conversation, author=actor, text=text
        )
        note.full_clean()
        note.save()
        audit_record(
            workspace=workspace, action="conversation.note", actor=actor, target=conversation
        )
    return note


def conversation_labels_set(
    *, workspace: Workspace, conversation: Conversation, labels: Sequence[str], actor: User
) -> Conversation:
    assert conversation.workspace_id == workspace.pk
    cleaned = sorted({label.strip()[:40] for label in labels if label.strip()})
    if len(cleaned) > MAX_LABELS:
        raise ValidationError({"labels": _("At most 20 labels.")})
    with transaction.atomic():
        row = _locked(conversation)
        row.labels = cleaned
        row.updated_at = timezone.now()
        row.save(update_fields=["labels", "updated_at"])
        audit_record(
            workspace=workspace,
            action="conversation.labels",
            actor=actor,
            target=row,
            details={"labels": cleaned},
        )
    return row


def conversation_mark_read(*, workspace: Workspace, conversation: Conversation) -> None:
    """Someone of the team read it: no unread replies left (a conditional update, no lock)."""
    assert conversation.workspace_id == workspace.pk
    Conversation.objects.for_workspace(workspace).filter(
        pk=conversation.pk, unread_count__gt=0
    ).update(unread_count=0)


def _media_store(upload: UploadedFile, caption: str) -> freeform.Media:
    """Keep an uploaded image or PDF (checked by its bytes, not its name) and return it as a
    media message by link (MEDIA_URL is served publicly, see README), stored under the
    suffix of the type its bytes have (`media_file_name`)."""
    head = upload.read(16)
    upload.seek(0)
    mime = sniff_mime(head)
    kind = MEDIA_KINDS.get(mime)
    if kind is None:
        raise ValidationError({"media": _("Send a JPEG or PNG image or a PDF document.")})
    if (upload.size or 0) > MEDIA_LIMITS[kind]:
        raise ValidationError(
            {"media": _("The file is too large for WhatsApp (images 5 MB, documents 100 MB).")}
        )
    name = media_file_name(upload.name, mime)
    path = default_storage.save(f"inbox-media/{uuid.uuid4()}/{name}", upload)
    link = f"{settings.SITE_URL}{settings.MEDIA_URL}{path}"
    return freeform.Media(
        kind=kind,
        link=link,
        caption=caption[: freeform.MAX_CAPTION],
        filename=name if kind == "document" else "",
    )


def _buttons(body: str, titles: Sequence[str]) -> freeform.ReplyButtons:
    titles = [t.strip() for t in titles if t.strip()]
    if not body.strip():
        raise ValidationError({"text": _("Quick-reply buttons need a message text.")})
    if len(titles) > freeform.MAX_BUTTONS:
        raise ValidationError({"buttons": _("At most three buttons.")})
    if any(len(t) > freeform.MAX_BUTTON_TITLE for t in titles):
        raise ValidationError({"buttons": _("A button's title has at most 20 characters.")})
    if len(set(titles)) != len(titles):
        raise ValidationError({"buttons": _("Each button needs a different title.")})
    if len(body) > freeform.MAX_BUTTONS_BODY:
        raise ValidationError({"text": _("With buttons, the text has at most 1,024 characters.")})
    return freeform.ReplyButtons(
        body=body,
        buttons=tuple(
            freeform.ReplyButton(id=f"btn-{i}", title=t) for i, t in enumerate(titles, 1)
        ),
    )


def conversation_reply(
    *,
    workspace: Workspace,
    conversation: Conversation,
    text: str,
    media: UploadedFile | None = None,
    buttons: Sequence[str] = (),
    actor: User | None = None,
    api_key: ApiKey | None = None,
    idempotency_key: str | None = None,
) -> Message:
    """Answer from the conversation's number: text, an image or document (with the text as
    its caption) or text with up to three quick-reply buttons. Free-form, so on a Cloud API
    number only inside the contact's 24-hour window: the refusal (a ValidationError with
    code `window_closed`) says why and that a WhatsApp template is needed."""
    assert conversation.workspace_id == workspace.pk
    content: freeform.FreeFormContent | None = None
    if media is not None:
        content = _media_store(media, text)
    elif any(b.strip() for b in buttons):
        content = _buttons(text, buttons)
    message, _created = message_send(
        workspace=workspace,
        to=conversation.phone,
        text=text if content is None else "",
        sender=conversation.sender,
        actor=actor,
        api_key=api_key,
        content=content,
        idempotency_key=idempotency_key,
    )
    conversation_mark_read(workspace=workspace, conversation=conversation)
    return message


def template_prefill(
    *, template: WhatsAppTemplate, conversation: Conversation
) -> list[tuple[str, str]]:
    """Each variable slot of a WhatsApp template with a value taken from the contact: a named
    slot that names a contact field gets it, the first body slot gets the first name."""
    from messaging.content.whatsapp import template_slots

    values = _values(conversation)
    slots = template_slots(template.components, template.parameter_format)
    filled = []
    for index, slot in enumerate(s for s in slots if s.parameter_type in ("text", "coupon_code")):
        value = values.get(slot.name or "", "")
        if not value and index == 0 and slot.component == "body":
            value = values.get("first_name", "")
        filled.append((slot.key, value))
    return filled


def _values(conversation: Conversation) -> dict[str, str]:
    if conversation.contact is not None:
        return contact_values_of(conversation.contact)
    return contact_values(
        first_name="",
        last_name="",
        phone=conversation.phone,
        country="",
        language="",
        attributes={},
    )


def conversation_template_send(
    *,
    workspace: Workspace,
    conversation: Conversation,
    template: WhatsAppTemplate,
    variables: Mapping[str, str],
    actor: User | None = None,
    api_key: ApiKey | None = None,
) -> Message:
    """Send an approved WhatsApp template of the number's business account, its variables
    given as texts (slot key -> value). The one thing that may go out when the 24-hour window
    is closed. Templates with a media header are sent from a campaign."""
    assert conversation.workspace_id == workspace.pk
    sender = conversation.sender
    if (
        template.workspace_id != workspace.pk
        or template.status != WhatsAppTemplate.Status.APPROVED
        or (sender.waba_id and template.waba_id != sender.waba_id)
    ):
        raise ValidationError(
            {"template": _("Choose an approved WhatsApp template of this number's account.")}
        )
    rendered = template_render(
        components=template.components,
        parameter_format=template.parameter_format,
        language=template.language,
        mapping={key: {"text": value} for key, value in variables.items() if value.strip()},
        values=_values(conversation),
    )
    if rendered.media_format:
        raise ValidationError(
            {"template": _("This template has a media header: send it from a campaign.")}
        )
    if rendered.empty:
        raise ValidationError(
            {
                "variables": _("Fill every variable: %(slots)s")
                % {"slots": ", ".join(rendered.empty)}
            }
        )
    payload = TemplateContent.of(rendered, name=template.name, campaign_id=None)
    message, _created = message_send(
        workspace=workspace,
        to=conversation.phone,
        text=rendered.text or template.name,
        sender=sender,
        actor=actor,
        api_key=api_key,
        template=payload,
    )
    conversation_mark_read(workspace=workspace, conversation=conversation)
    return message


# --- canned replies ---------------------------------------------------------------------------


def _canned_clean(*, workspace: Workspace, name: str, text: str, exclude: int | None) -> None:
    """The form's limits are the columns' (a posted name over 60 characters would otherwise
    reach the database and fail there)."""
    errors: dict[str, str] = {}
    name_limit = CannedReply._meta.get_field("name").max_length or 60
    text_limit = CannedReply._meta.get_field("text").max_length or 4096
    if not name.strip():
        errors["name"] = _("Give it a short name.")
    elif len(name.strip()) > name_limit:
        errors["name"] = _("At most %(n)d characters.") % {"n": name_limit}
    elif (
        CannedReply.objects.for_workspace(workspace)
        .filter(name=name.strip())
        .exclude(pk=exclude or 0)
        .exists()
    ):
        errors["name"] = _("A canned reply with this name exists.")
    if not text.strip():
        errors["text"] = _("Write the reply.")
    elif len(text) > text_limit:
        errors["text"] = _("At most %(n)d characters.") % {"n": text_limit}
    else:
        try:
            render(text, values={}, seed="check")
        except TemplateError as exc:
            errors["text"] = str(exc)
    if errors:
        raise ValidationError(errors)


def canned_reply_create(
    *, workspace: Workspace, name: str, text: str, actor: User | None = None
) -> CannedReply:
    _canned_clean(workspace=workspace, name=name, text=text, exclude=None)
    with transaction.atomic():
        canned = CannedReply.objects.create(workspace=workspace, name=name.strip(), text=text)
        audit_record(workspace=workspace, action="canned_reply.create", actor=actor, target=canned)
    return canned


def canned_reply_update(
    *, workspace: Workspace, canned: CannedReply, name: str, text: str, actor: User | None = None
) -> CannedReply:
    assert canned.workspace_id == workspace.pk
    _canned_clean(workspace=workspace, name=name, text=text, exclude=canned.pk)
    with transaction.atomic():
        canned.name, canned.text, canned.updated_at = name.strip(), text, timezone.now()
        canned.save(update_fields=["name", "text", "updated_at"])
        audit_record(workspace=workspace, action="canned_reply.update", actor=actor, target=canned)
    return canned


def canned_reply_delete(
    *, workspace: Workspace, canned: CannedReply, actor: User | None = None
) -> None:
    assert canned.workspace_id == workspace.pk
    with transaction.atomic():
        audit_record(workspace=workspace, action="canned_reply.delete", actor=actor, target=canned)
        canned.delete()


def canned_reply_render(*, canned: CannedReply, conversation: Conversation) -> str:
    """The snippet with its {{variables}} filled from the conversation's contact."""
    try:
        return render(
            canned.text, values=_values(conversation), seed=str(conversation.public_id)
        ).text
    except TemplateError:
        return canned.text


def membership_inbox_numbers_set(
    *,
    workspace: Workspace,
    membership: Membership,
    sender_ids: Sequence[int],
    actor: User | None = None,
) -> Membership:
    """Restrict a member's inbox to some numbers (empty: all). Ids of another workspace's
    numbers are refused; owners and admins always see every number."""
    from messaging.numbers.models import Sender

    assert membership.workspace_id == workspace.pk
    wanted = sorted(set(sender_ids))
    known = set(
        Sender.objects.for_workspace(workspace).filter(pk__in=wanted).values_list("pk", flat=True)
    )
    if known != set(wanted):
        raise ValidationError({"numbers": _("Choose numbers of this workspace.")})
    with transaction.atomic():
        membership.inbox_sender_ids = wanted
        membership.save(update_fields=["inbox_sender_ids"])
        audit_record(
            workspace=workspace,
            action="membership.inbox_numbers",
            actor=actor,
            target=membership.user,
            details={"numbers": len(wanted)},
        )
    return membership
