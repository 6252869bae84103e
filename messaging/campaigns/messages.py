"""Single (transactional) messages sent through the same engine as campaigns, with priority,
credits reserved per message, and an idempotency key that never sends twice.

They are free-form (text, media by link, reply buttons, lists): on a Cloud API number they go
out only inside the contact's 24-hour customer-service window and are refused before anything
is queued otherwise (`messaging.numbers.customer_window`)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.core.validators import ProhibitNullCharactersValidator
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import translation
from django.utils.translation import gettext as _

from accounts.language import contact_language
from accounts.models import ApiKey, User, Workspace
from accounts.services import WorkspaceSuspended, audit_record, workspace_ensure_can_send
from billing import services as billing
from core.phones import PhoneError, normalize_phone
from messaging.campaigns.models import PRIORITY_TRANSACTIONAL, InboundMessage, Message
from messaging.contacts.models import Contact
from messaging.content.template_send import TemplateContent
from messaging.engine.conversations import Touch, conversations_touch
from messaging.engine.kick import dispatch_kick
from messaging.engine.runtime import message_credit_reference
from messaging.gateways import freeform
from messaging.numbers.customer_window import senders_open_for, window_require_open
from messaging.numbers.models import Sender

logger = logging.getLogger(__name__)

MAX_TEXT = 4096
IDEMPOTENCY_KEY_MAX = 128  # Message.idempotency_key


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
    template: TemplateContent | None = None,
    confirms_opt_out: bool = False,
    refuse_changed_request: bool = False,
) -> tuple[Message, bool]:
    """Queue one message ahead of campaign traffic. Returns (message, created): the same
    idempotency key returns the first message and sends nothing more, even when two requests
    race (the unique constraint decides, and the loser's reservation rolls back with it).

    `content` (media or an interactive message) replaces the text (`text` is then kept as the
    log's summary). On a Cloud API number the contact's 24-hour window must be open (a
    ValidationError with code `window_closed` otherwise); with no number given, an active
    number whose window is open is preferred.

    `template` (a filled WhatsApp template, e.g. a campaign's test send) is sent as Meta's
    `type: template` message: allowed outside the 24-hour window, on a number that speaks
    Meta's dialect (Cloud API or sandbox), with `text` as the log's readable copy.

    Nothing is sent to a contact who opted out, except (`confirms_opt_out`) the one message
    confirming that opt-out.

    `refuse_changed_request` (the API): a key already used for another recipient, number or
    content raises `IdempotencyKeyReused` instead of answering with the first message, which
    told the caller its second, different message was sent."""
    workspace_ensure_can_send(workspace=workspace)
    if idempotency_key and "\x00" in idempotency_key:
        raise ValidationError({"idempotency_key": ProhibitNullCharactersValidator.message})
    if idempotency_key and len(idempotency_key) > IDEMPOTENCY_KEY_MAX:
        # The column holds 128 characters: a longer key would fail the insert (a 500 and
        # nothing sent) instead of getting this answer.
        raise ValidationError(
            {
                "idempotency_key": _("An Idempotency-Key has at most %(n)d characters.")
                % {"n": IDEMPOTENCY_KEY_MAX}
            }
        )
    if idempotency_key:
        existing = Message.objects.filter(
            workspace=workspace, idempotency_key=idempotency_key
        ).first()
        if existing is not None:
            if refuse_changed_request:
                _ensure_same_request(
                    existing,
                    workspace=workspace,
                    to=to,
                    sender=sender,
                    text=text,
                    content=content,
                    template=template,
                )
            return existing, False
    try:
        phone = normalize_phone(to, default_country=workspace.default_country)
    except PhoneError as exc:
        raise ValidationError(exc.message, code=exc.code) from exc
    if content is not None and template is not None:
        raise ValueError("a message is free-form content or a template, not both")
    if content is None and template is None and not text.strip():
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
    if (content is not None or template is not None) and (
        sender.provider == Sender.Provider.WEB_GATEWAY
    ):
        raise ValidationError(
            {"sender": _("WhatsApp-Web numbers send text only: choose a Cloud API number.")}
        )
    if template is None:
        # Refused before anything is reserved or queued: Meta would fail it with 131047.
        # (A template is what Meta allows outside the window.)
        window_require_open(workspace=workspace, sender=sender, phone=phone)
    contact = Contact.objects.for_workspace(workspace).filter(phone=phone).first()
    if contact is not None and contact.opted_out_at is not None and not confirms_opt_out:
        raise ValidationError({"to": _("This contact opted out; nothing is sent to them.")})
    public_id = uuid.uuid4()
    reference = message_credit_reference(public_id)
    try:
        with transaction.atomic():
            # The message row first (its insert takes the number's statistics row), then the
            # credits (the workspace's balance row): the order the drainer and the status
            # ingest take them in. The other order deadlocked against a drainer recording
            # this number's sends (two API sends at once: one 500).
            message = Message.objects.create(
                public_id=public_id,
                workspace=workspace,
                contact=contact,
                sender=sender,
                phone=phone,
                body=text or _summary(content),
                content=(
                    template.to_json()
                    if template is not None
                    else freeform.to_json(content)
                    if content is not None
                    else None
                ),
                priority=PRIORITY_TRANSACTIONAL,
                idempotency_key=idempotency_key or None,
            )
            billing.credits_reserve(
                workspace=workspace,
                amount=1,
                reference=reference,
                idempotency_key=f"{reference}:reserve",
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
                    "type": (
                        "template"
                        if template is not None
                        else freeform.to_json(content)["type"]
                        if content
                        else "text"
                    ),
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


class IdempotencyKeyReused(Exception):
    """An Idempotency-Key sent again with a different request."""


def _ensure_same_request(
    existing: Message,
    *,
    workspace: Workspace,
    to: str,
    sender: Sender | None,
    text: str,
    content: freeform.FreeFormContent | None,
    template: TemplateContent | None,
) -> None:
    """The first message under this key was this request (recipient, number if one is named,
    and what it says); otherwise raise. A number left out lets the product choose, so it
    matches whichever was chosen."""
    try:
        phone = normalize_phone(to, default_country=workspace.default_country)
    except PhoneError:
        phone = ""
    sent_content = (
        template.to_json()
        if template is not None
        else freeform.to_json(content)
        if content is not None
        else None
    )
    same = (
        existing.phone == phone
        and (sender is None or existing.sender_id == sender.pk)
        and existing.content == sent_content
        and (sent_content is not None or existing.body == text)
    )
    if not same:
        raise IdempotencyKeyReused


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


#: The reply that subscribes again, per language (messaging.engine.keywords.OPT_IN_KEYWORDS).
OPT_IN_KEYWORD = {"az": "BASLA", "ru": "СТАРТ", "en": "START"}


def opt_out_confirmations_enqueue(*, workspace_id: int, inbound_ids: Sequence[int]) -> None:
    """Called by the engine's ingestion for newly stored replies: confirm the opt-outs among
    them in a task once they are committed (one task per batch)."""
    from messaging.contacts.tasks import opt_out_confirmations_send_task

    ids = [int(pk) for pk in inbound_ids]
    if ids:
        transaction.on_commit(
            lambda: opt_out_confirmations_send_task.delay(
                workspace_id=workspace_id, inbound_ids=ids
            )
        )


def opt_out_confirmations_send(
    *, workspace: Workspace, inbound_ids: Sequence[int]
) -> list[Message]:
    """When the workspace asks for it, answer each STOP-like reply with one message, in the
    contact's language (else the workspace's language for contacts): they will get nothing
    more, and how to subscribe again. Idempotent per reply (a redelivered task sends nothing
    twice); a reply that cannot be answered (no credits, a suspended workspace, a closed
    window) is logged and left: the opt-out itself already happened."""
    if not workspace.opt_out_confirmation:
        return []
    replies = list(
        InboundMessage.objects.for_workspace(workspace)
        .filter(pk__in=inbound_ids, is_opt_out=True)
        .select_related("sender", "contact")
        .order_by("pk")
    )
    sent: list[Message] = []
    for reply in replies:  # opt-outs are rare: a batch holds a few at most
        language = contact_language(
            contact_language=reply.contact.language if reply.contact else "",
            workspace_language=workspace.contact_language,
        )
        with translation.override(language):
            text = _(
                "You will not receive any more messages from %(name)s. To subscribe again, "
                "reply %(keyword)s."
            ) % {"name": workspace.name, "keyword": OPT_IN_KEYWORD.get(language, "START")}
        try:
            message, created = message_send(
                workspace=workspace,
                to=reply.phone,
                text=text,
                sender=reply.sender,
                idempotency_key=f"opt-out-confirmation:{reply.pk}",
                confirms_opt_out=True,
            )
        except (ValidationError, WorkspaceSuspended, billing.InsufficientCredits) as exc:
            logger.warning("opt-out confirmation for reply %s not sent: %s", reply.pk, exc)
            continue
        if created:
            sent.append(message)
    return sent
