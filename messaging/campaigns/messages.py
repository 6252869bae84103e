"""Single (transactional) messages sent through the same engine as campaigns, with priority,
credits reserved per message, and an idempotency key that never sends twice."""

from __future__ import annotations

import uuid

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from accounts.models import ApiKey, User, Workspace
from accounts.services import audit_record, workspace_ensure_can_send
from billing import services as billing
from core.phones import PhoneError, normalize_phone
from messaging.campaigns.models import Message
from messaging.contacts.models import Contact
from messaging.engine.kick import dispatch_kick
from messaging.engine.runtime import message_credit_reference
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
) -> tuple[Message, bool]:
    """Queue one message ahead of campaign traffic. Returns (message, created): the same
    idempotency key returns the first message and sends nothing more, even when two requests
    race (the unique constraint decides, and the loser's reservation rolls back with it)."""
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
    if not text.strip():
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
        sender = live.order_by("-throughput_per_second", "id").first()
        if sender is None:
            raise ValidationError({"sender": _("Connect a WhatsApp number first.")})
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
                body=text,
                priority=TRANSACTIONAL_PRIORITY,
                idempotency_key=idempotency_key or None,
            )
            audit_record(
                workspace=workspace,
                action="message.sent_single",
                actor=actor,
                api_key=api_key,
                target=message,
                details={"to_sender": sender.pk},
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
