"""Single (transactional) messages sent through the same engine as campaigns, with priority,
credits reserved per message, and an idempotency key that never sends twice.

They are free-form (text, media by link, reply buttons, lists): on a Cloud API number they go
out only inside the contact's 24-hour customer-service window and are refused before anything
is queued otherwise (`messaging.numbers.customer_window`)."""

from __future__ import annotations

import uuid
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from accounts.models import ApiKey, User, Workspace
from accounts.services import audit_record, workspace_ensure_can_send
from billing import services as billing
from core.phones import PhoneError, normalize_phone
from messaging.campaigns.models import Message
from messaging.contacts.models import Contact
from messaging.engine.conversations import Touch, conversations_touch
from messaging.engine.kick import dispatch_kick
from messaging.engine.runtime import message_credit_reference
from messaging.gateways import freeform
from messaging.numbers.customer_window import senders_open_for, window_require_open
from messaging.numbers.models import Sender

TRANSACTIONAL_PRIORITY = 10
MAX_TEXT = 4096


def message_send(
    *,
    workspace: Workspace,
    to: str,
    text: str,
    sender: Sender | None = None,
    idempotency_key: str | None = None,
    actor: User | None = None,
    api_key: ApiKey | None = None,
    content: freeform.FreeFormContent | None = None,
    template: dict[str, Any] | None = None,
) -> tuple[Message, bool]:
    """Queue one message ahead of campaign traffic. Returns (message, created): the same
    idempotency key returns the first message and sends nothing more, even when two requests
    race (the unique constraint decides, and the loser's reservation rolls back with it).

    `content` (media or an interactive message) replaces the text (`text` is then kept as the
    log's summary). On a Cloud API number the contact's 24-hour window must be open (a
    ValidationError with code `window_closed` otherwise); with no number given, an active
    number whose window is open is preferred.

    `template`: an approved WhatsApp template filled for this contact (the JSON the engine
    reads, `messaging.engine.content.TEMPLATE_CONTENT`, with `text` its readable fill): the
    one thing that may go out when the window is closed."""
    workspace_ensure_can_send(workspace=workspace)
    if idempotency_key:
        existing = Message.objects.filter(
            workspace=workspace, idempotency_key=idempotency_key
        ).first()
        if existing is not None:
            return existing, False
    try:
        phone = normalize_phone(to, default_country=workspace.default_country)
    except PhoneError as exc:
        raise ValidationError(exc.message, code=exc.code) from exc
    if content is None and not text.strip():
        raise ValidationError({"text": _("Write the message.")})
    if len(text) > MAX_TEXT:
        raise ValidationError({"text": _("At most 4,096 characters.")})
    live = Sender.objects.for_workspace(workspace).filter(
        status=Sender.Status.ACTIVE, removed_at__isnull=True
    )
    if sender is not None:
        if not live.filter(pk=sender.pk).exists():
            raise ValidationError({"sender": _("This number is not active in this workspace.")})
    else:
        sender = _sender_choose(live=live, phone=phone, content=content)
    if content is not None and sender.provider == Sender.Provider.WEB_GATEWAY:
        raise ValidationError(
            {"sender": _("WhatsApp-Web numbers send text only: choose a Cloud API number.")}
        )
    # Refused before anything is reserved or queued: Meta would fail it with 131047.
    if template is None:
        window_require_open(workspace=workspace, sender=sender, phone=phone)
    contact = Contact.objects.for_workspace(workspace).filter(phone=phone).first()
    if contact is not None and contact.opted_out_at is not None:
        raise ValidationError({"to": _("This contact opted out; nothing is sent to them.")})
    public_id = uuid.uuid4()
    reference = message_credit_reference(public_id)
    try:
        with transaction.atomic():
            billing.credits_reserve(
                workspace=workspace,
                amount=1,
                reference=reference,
                idempotency_key=f"{reference}:reserve",
            )
            message = Message.objects.create(
                public_id=public_id,
                workspace=workspace,
                contact=contact,
                sender=sender,
                phone=phone,
                body=text or _summary(content),
                content=freeform.to_json(content) if content is not None else template,
                priority=TRANSACTIONAL_PRIORITY,
                idempotency_key=idempotency_key or None,
            )
            conversations_touch(
                [
                    Touch(
                        workspace_id=workspace.pk,
                        sender_id=sender.pk,
                        phone=phone,
                        contact_id=contact.pk if contact is not None else None,
                        at=message.created_at,
                        kind="out",
                        preview=message.body,
                    )
                ]
            )
            audit_record(
                workspace=workspace,
                action="message.sent_single",
                actor=actor,
                api_key=api_key,
                target=message,
                details={
                    "to_sender": sender.pk,
                    "type": freeform.to_json(content)["type"]
                    if content
                    else ("template" if template else "text"),
                },
            )
    except IntegrityError:
        existing = Message.objects.filter(
            workspace=workspace, idempotency_key=idempotency_key
        ).first()
        if existing is None:
            raise
        return existing, False

    transaction.on_commit(lambda: dispatch_kick(sender_ids=[sender.pk]))
    return message, True


def _sender_choose(
    *, live: QuerySet[Sender], phone: str, content: freeform.FreeFormContent | None
) -> Sender:
    """The fastest active number that may send this now: one whose window with `phone` is
    open (numbers without a window always are; WhatsApp-Web numbers only send text). With
    none, the fastest, so the caller's check explains why not."""
    candidates = list(live.order_by("-throughput_per_second", "id")[:20])
    if content is not None:
        candidates = [s for s in candidates if s.provider != Sender.Provider.WEB_GATEWAY] or (
            candidates
        )
    if not candidates:
        raise ValidationError({"sender": _("Connect a WhatsApp number first.")})
    open_ids = senders_open_for(senders=candidates, phone=phone)
    return next((s for s in candidates if s.pk in open_ids), candidates[0])


def _summary(content: freeform.FreeFormContent | None) -> str:
    """What the messages log shows for media or an interactive message."""
    if isinstance(content, freeform.Media):
        return content.caption or content.filename or content.link
    if isinstance(content, (freeform.ReplyButtons, freeform.ListMessage)):
        return content.body
    return ""
