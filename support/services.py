"""Every write of the support desk: opening a ticket, replies both ways, staff's internal
notes, assignment and status, turning a privacy ticket into a DataRequest, and the retention
purge. Plain functions, keyword-only arguments, one transaction each; the audit row is written
inside it, e-mails and notifications go out on commit.

Who is told what:
- the customer opens a ticket or replies: the support address (SUPPORT_EMAIL) gets an e-mail,
  and the assigned staff member (if any) a notification;
- staff reply (not an internal note) or close the ticket: the opener gets an e-mail in the
  language they used when opening the ticket, and a notification in the product;
- the customer closes the ticket: the assigned staff member (if any) gets a notification.
Staff's actions are audited at platform level (workspace=None): a workspace's activity log
shows what its members did, never staff's internal handling."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import PurePath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Q
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.models import User, Workspace
from accounts.services import absolute_url, audit_record, email_send_on_commit, notify
from privacy import services as privacy_services
from privacy.models import DataRequest
from support.files import attachment_files_of, stored_files_delete
from support.models import Ticket, TicketAttachment, TicketMessage

MAX_ATTACHMENTS_PER_MESSAGE = 5
TEXT_SUFFIXES = (".txt", ".csv", ".log")
ACCEPTED_TYPES_TEXT = "PNG, JPEG, GIF, WebP, PDF, TXT, CSV"


# --- attachments ----------------------------------------------------------------------------


def _sniff(head: bytes, name: str) -> str | None:
    """The file's type from its first bytes (never from the name the browser sent), or None
    when it is not one we accept. Plain text must also be named .txt, .csv or .log."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if PurePath(name).suffix.lower() in TEXT_SUFFIXES and b"\x00" not in head:
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as exc:
            # a multi-byte letter cut at the end of the sample is still text
            if exc.start < len(head) - 4:
                return None
        return "text/plain"
    return None


def attachments_check(*, files: Sequence[UploadedFile]) -> list[tuple[UploadedFile, str]]:
    """Each file with its sniffed type; a ValidationError (field "attachments") naming every
    file that is too large or of a type we do not accept. Nothing is stored here."""
    limit = int(settings.SUPPORT_ATTACHMENT_MAX_BYTES)
    errors: list[str] = []
    if len(files) > MAX_ATTACHMENTS_PER_MESSAGE:
        errors.append(
            _("Attach at most %(n)s files to one message.") % {"n": MAX_ATTACHMENTS_PER_MESSAGE}
        )
    checked: list[tuple[UploadedFile, str]] = []
    for upload in files:
        name = PurePath(upload.name or "file").name
        size = upload.size or 0
        if size > limit:
            errors.append(
                _("“%(name)s” is %(size)s; files may be at most %(limit)s.")
                % {"name": name, "size": filesizeformat(size), "limit": filesizeformat(limit)}
            )
            continue
        upload.seek(0)
        head = upload.read(2048)
        upload.seek(0)
        content_type = _sniff(head, name)
        if content_type is None:
            errors.append(
                _("“%(name)s” is not a file type we accept. Attach %(types)s files.")
                % {"name": name, "types": ACCEPTED_TYPES_TEXT}
            )
            continue
        checked.append((upload, content_type))
    if errors:
        raise ValidationError({"attachments": errors})
    return checked


def _attachments_store(
    *, message: TicketMessage, checked: list[tuple[UploadedFile, str]]
) -> list[TicketAttachment]:
    rows = []
    for upload, content_type in checked:
        attachment = TicketAttachment(
            workspace_id=message.workspace_id,
            ticket_id=message.ticket_id,
            message=message,
            original_name=PurePath(upload.name or "file").name[:255],
            content_type=content_type,
            size_bytes=upload.size or 0,
        )
        attachment.file.save(attachment.original_name, upload, save=False)
        rows.append(attachment)
    # Files are checked before anything is written and stored last, so a failure after the
    # store (rare: the insert below) is the only way to leave a file no row points at.
    return TicketAttachment.objects.bulk_create(rows)


# --- links and e-mails ----------------------------------------------------------------------


def ticket_customer_path(ticket: Ticket) -> str:
    return reverse("support:ticket", args=[ticket.workspace.slug, ticket.public_id])


def ticket_staff_path(ticket: Ticket) -> str:
    return reverse("admin:support_ticket_change", args=[ticket.pk])


def _email_staff(
    *, ticket: Ticket, message: TicketMessage, author: User, new: bool, to: str = ""
) -> None:
    """The support address hears of every new ticket and of a customer reply on a ticket
    nobody has taken (in the platform's language: the address has no language of its own); a
    reply on a taken ticket goes to its assignee (`to`) alone."""
    with translation.override(settings.LANGUAGE_CODE):
        category = str(ticket.get_category_display())
    email_send_on_commit(
        to=[to or settings.SUPPORT_EMAIL],
        template="support_ticket_to_staff",
        context={
            "new": new,
            "number": ticket.pk,
            "subject": ticket.subject,
            "category": category,
            "workspace": ticket.workspace.name,
            "author": author.email,
            "body": message.body,
            "attachments": message.attachments.count() if message.pk else 0,
            "link": absolute_url(ticket_staff_path(ticket)),
        },
        language=settings.LANGUAGE_CODE,
    )


def _tell_opener(*, ticket: Ticket, message: TicketMessage) -> None:
    """Staff answered: the opener gets an e-mail with the answer and a notification."""
    _tell_opener_of(
        ticket,
        kind="support.staff_replied",
        sentence=gettext_noop("iSend support answered your ticket #%(number)s “%(subject)s”."),
        template="support_ticket_reply",
        extra={"body": message.body},
    )


def _tell_opener_closed(*, ticket: Ticket) -> None:
    """Staff closed the ticket: the opener hears of it, with a link to write again, which
    reopens it."""
    _tell_opener_of(
        ticket,
        kind="support.ticket_closed",
        sentence=gettext_noop("iSend support closed your ticket #%(number)s “%(subject)s”."),
        template="support_ticket_closed",
    )


def _tell_opener_of(
    ticket: Ticket,
    *,
    kind: str,
    sentence: str,
    template: str,
    extra: dict[str, object] | None = None,
) -> None:
    """A notification and an e-mail to the ticket's opener, both in the language they opened
    the ticket in (`sentence` is a msgid taking the ticket's number and subject)."""
    opener = ticket.opened_by
    if opener is None or not opener.is_active:
        return
    language = ticket.language or settings.LANGUAGE_CODE
    link = ticket_customer_path(ticket)
    values = {"number": ticket.pk, "subject": ticket.subject}
    with translation.override(language):
        notify(
            kind=kind,
            user=opener,
            workspace=ticket.workspace,
            text=_(sentence) % values,
            link=link,
            email=False,
        )
    email_send_on_commit(
        to=[opener.email],
        template=template,
        context={**values, **(extra or {}), "link": absolute_url(link)},
        language=language,
    )


def _has_assignee(ticket: Ticket) -> bool:
    return ticket.assignee is not None and ticket.assignee.is_active


def _tell_assignee(
    *, ticket: Ticket, text: str, params: dict[str, object], email: bool = True
) -> None:
    """The staff member on the ticket hears of it in their own language (`text` is a msgid
    marked with gettext_noop): the customer's request was in the customer's."""
    if not _has_assignee(ticket):
        return
    notify(
        kind="support.ticket_activity",
        user=ticket.assignee,
        text=text,
        params={"number": ticket.pk, "subject": ticket.subject, **params},
        link=ticket_staff_path(ticket),
        email=email,
    )


# --- the customer's side --------------------------------------------------------------------


def _lock(ticket: Ticket) -> Ticket:
    return (
        Ticket.objects.select_for_update(of=("self",))
        .select_related("workspace", "opened_by", "assignee")
        .get(pk=ticket.pk)
    )


def _message_create(
    *, ticket: Ticket, author: User, body: str, from_staff: bool, internal: bool = False
) -> TicketMessage:
    message = TicketMessage(
        workspace_id=ticket.workspace_id,
        ticket=ticket,
        author=author,
        body=body.strip(),
        from_staff=from_staff,
        internal=internal,
    )
    message.full_clean()
    message.save()
    return message


@transaction.atomic
def ticket_open(
    *,
    workspace: Workspace,
    user: User,
    subject: str,
    category: str,
    body: str,
    files: Sequence[UploadedFile] = (),
    language: str = "",
    ip: str | None = None,
) -> Ticket:
    """A member asks iSend for help: the ticket is due back by its category's response time
    and the support address is told."""
    checked = attachments_check(files=files)
    now = timezone.now()
    ticket = Ticket(
        workspace=workspace,
        opened_by=user,
        subject=subject.strip(),
        category=category,
        status=Ticket.Status.OPEN,
        language=(language or "")[:8],
        created_at=now,
        updated_at=now,
    )
    if category in Ticket.RESPONSE_TIMES:
        ticket.due_at = now + Ticket.RESPONSE_TIMES[category]
    ticket.full_clean()
    ticket.save()
    message = _message_create(ticket=ticket, author=user, body=body, from_staff=False)
    _attachments_store(message=message, checked=checked)
    audit_record(
        workspace=workspace,
        action="support.ticket_opened",
        actor=user,
        target=ticket,
        ip=ip,
        details={"category": category},
    )
    _email_staff(ticket=ticket, message=message, author=user, new=True)
    return ticket


@transaction.atomic
def ticket_customer_reply(
    *,
    workspace: Workspace,
    ticket: Ticket,
    user: User,
    body: str,
    files: Sequence[UploadedFile] = (),
    ip: str | None = None,
) -> TicketMessage:
    """A member writes on their workspace's ticket: the ball is in staff's court again (a
    closed ticket reopens), due back by the category's response time."""
    if ticket.workspace_id != workspace.pk:  # defensive: the selector already scoped it
        raise ValidationError(_("This ticket belongs to another workspace."))
    checked = attachments_check(files=files)
    locked = _lock(ticket)
    message = _message_create(ticket=locked, author=user, body=body, from_staff=False)
    _attachments_store(message=message, checked=checked)
    now = timezone.now()
    reopened = locked.status == Ticket.Status.CLOSED
    locked.status = Ticket.Status.WAITING_ON_STAFF
    locked.closed_at = None
    locked.updated_at = now
    locked.due_at = now + Ticket.RESPONSE_TIMES.get(locked.category, timedelta(hours=24))
    locked.save(update_fields=["status", "closed_at", "updated_at", "due_at"])
    audit_record(
        workspace=workspace,
        action="support.customer_replied",
        actor=user,
        target=locked,
        ip=ip,
        details={"reopened": reopened},
    )
    # One e-mail per reply, with the reply in it: to the staff member on the ticket, else to
    # the support address (both used to go: the assignee got it twice, once without the text).
    assignee = locked.assignee if _has_assignee(locked) else None
    _email_staff(
        ticket=locked,
        message=message,
        author=user,
        new=False,
        to=assignee.email if assignee else "",
    )
    _tell_assignee(
        ticket=locked,
        text=gettext_noop("The customer replied on ticket #%(number)s “%(subject)s”."),
        params={},
        email=False,
    )
    return message


@transaction.atomic
def ticket_customer_close(
    *, workspace: Workspace, ticket: Ticket, user: User, ip: str | None = None
) -> Ticket:
    """A member closes their workspace's ticket (their question is answered). Writing on it
    again reopens it (`ticket_customer_reply`). Closing a closed ticket changes nothing."""
    if ticket.workspace_id != workspace.pk:  # defensive: the selector already scoped it
        raise ValidationError(_("This ticket belongs to another workspace."))
    locked = _lock(ticket)
    if locked.status == Ticket.Status.CLOSED:
        return locked
    previous = locked.status
    now = timezone.now()
    locked.status = Ticket.Status.CLOSED
    locked.closed_at = now
    locked.updated_at = now
    locked.save(update_fields=["status", "closed_at", "updated_at"])
    audit_record(
        workspace=workspace,
        action="support.customer_closed",
        actor=user,
        target=locked,
        ip=ip,
        details={"from": previous},
    )
    _tell_assignee(
        ticket=locked,
        text=gettext_noop("The customer closed ticket #%(number)s “%(subject)s”."),
        params={},
        email=False,
    )
    return locked


# --- staff's side ---------------------------------------------------------------------------


def _ensure_staff(actor: User) -> None:
    if not actor.is_staff:
        raise ValidationError(_("Only iSend staff work the support queue."))


@transaction.atomic
def ticket_staff_reply(
    *,
    ticket: Ticket,
    actor: User,
    body: str,
    internal: bool = False,
    files: Sequence[UploadedFile] = (),
) -> TicketMessage:
    """Staff answer the customer (who is e-mailed and notified) or add an internal note (seen
    by staff only; nobody outside staff is told). An answer waits on the customer and takes
    the ticket for the one answering if nobody had it."""
    _ensure_staff(actor)
    checked = attachments_check(files=files)
    locked = _lock(ticket)
    message = _message_create(
        ticket=locked, author=actor, body=body, from_staff=True, internal=internal
    )
    _attachments_store(message=message, checked=checked)
    fields = ["updated_at"]
    locked.updated_at = timezone.now()
    if not internal:
        locked.status = Ticket.Status.WAITING_ON_CUSTOMER
        locked.closed_at = None
        fields += ["status", "closed_at"]
        if locked.assignee_id is None:
            locked.assignee = actor
            fields.append("assignee")
    locked.save(update_fields=fields)
    audit_record(
        workspace=None,
        action="support.note_added" if internal else "support.staff_replied",
        actor=actor,
        target=locked,
        details={"workspace_id": locked.workspace_id},
    )
    if not internal:
        _tell_opener(ticket=locked, message=message)
    return message


@transaction.atomic
def ticket_assign(*, ticket: Ticket, actor: User, assignee: User | None) -> Ticket:
    """Give the ticket to a staff member (or to nobody); they are notified."""
    _ensure_staff(actor)
    if assignee is not None and not (assignee.is_staff and assignee.is_active):
        raise ValidationError({"assignee": _("Tickets are assigned to active staff only.")})
    locked = _lock(ticket)
    locked.assignee = assignee
    locked.updated_at = timezone.now()
    locked.save(update_fields=["assignee", "updated_at"])
    audit_record(
        workspace=None,
        action="support.ticket_assigned",
        actor=actor,
        target=locked,
        details={"assignee": assignee.email if assignee is not None else ""},
    )
    if assignee is not None and assignee.pk != actor.pk:
        _tell_assignee(
            ticket=locked,
            text=gettext_noop("%(actor)s assigned ticket #%(number)s “%(subject)s” to you."),
            params={"actor": actor.email},
        )
    return locked


@transaction.atomic
def ticket_set_status(*, ticket: Ticket, actor: User, status: str) -> Ticket:
    _ensure_staff(actor)
    if status not in Ticket.Status.values:
        raise ValidationError({"status": _("Choose a valid status.")})
    locked = _lock(ticket)
    previous = locked.status
    if previous == status:
        return locked
    now = timezone.now()
    locked.status = status
    locked.updated_at = now
    locked.closed_at = now if status == Ticket.Status.CLOSED else None
    if status in Ticket.AWAITING_STAFF and (locked.due_at is None or previous == "closed"):
        locked.due_at = now + Ticket.RESPONSE_TIMES.get(locked.category, timedelta(hours=24))
    locked.save(update_fields=["status", "updated_at", "closed_at", "due_at"])
    audit_record(
        workspace=None,
        action="support.status_changed",
        actor=actor,
        target=locked,
        details={"from": previous, "to": status, "workspace_id": locked.workspace_id},
    )
    if status == Ticket.Status.CLOSED:
        _tell_opener_closed(ticket=locked)
    return locked


@transaction.atomic
def ticket_to_data_request(
    *, ticket: Ticket, actor: User, kind: str = DataRequest.Kind.ACCESS
) -> tuple[DataRequest, bool]:
    """A privacy ticket becomes a request in the data-request queue (with its 30-day due
    date), about the ticket's opener and workspace, linked both ways (the ticket points at it,
    the request's notes name the ticket). Idempotent: the ticket row is locked, so a second
    click, or two at once, return the request made by the first. Returns (request, created)."""
    _ensure_staff(actor)
    locked = _lock(ticket)
    if locked.data_request_id is not None:
        existing = DataRequest.objects.get(pk=locked.data_request_id)
        return existing, False
    if locked.category != Ticket.Category.PRIVACY:
        raise ValidationError(_("Only a privacy ticket can become a data request."))
    if kind not in DataRequest.Kind.values:
        raise ValidationError({"kind": _("Choose a valid kind of request.")})
    if locked.opened_by is None:
        raise ValidationError(_("The account that opened this ticket no longer exists."))
    request = privacy_services.data_request_create(
        kind=kind,
        channel=DataRequest.Channel.STAFF,
        user=locked.opened_by,
        workspace=locked.workspace,
        actor=actor,
        notes=f"From support ticket #{locked.pk}: {locked.subject}",
    )
    locked.data_request = request
    locked.updated_at = timezone.now()
    locked.save(update_fields=["data_request", "updated_at"])
    _message_create(
        ticket=locked,
        author=actor,
        body=f"Turned into data request {str(request.public_id)[:8]} ({kind}).",
        from_staff=True,
        internal=True,
    )
    audit_record(
        workspace=None,
        action="support.data_request_created",
        actor=actor,
        target=locked,
        details={"kind": kind, "request": str(request.public_id)},
    )
    return request, True


# --- retention ------------------------------------------------------------------------------


def tickets_purge_expired(*, now: datetime | None = None, batch: int = 500) -> int:
    """Retention: closed tickets are kept SUPPORT_TICKET_RETENTION_DAYS after they were
    closed, then deleted with their messages and attachments (the files once the deletion
    commits). Open tickets are never purged. Bounded per run; returns tickets deleted."""
    cutoff = (now or timezone.now()) - timedelta(days=int(settings.SUPPORT_TICKET_RETENTION_DAYS))
    with transaction.atomic():
        ids = list(
            Ticket.objects.filter(status=Ticket.Status.CLOSED, closed_at__lt=cutoff)
            .order_by("pk")
            .values_list("pk", flat=True)[:batch]
        )
        if not ids:
            return 0
        files = attachment_files_of(Q(pk__in=ids))
        Ticket.objects.filter(pk__in=ids).delete()
        if files:
            transaction.on_commit(lambda: stored_files_delete(files))
    return len(ids)
