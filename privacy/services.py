"""Every write of the privacy app: consents and policy acceptance, restriction, data requests,
exports, account deletion and purge, recipient erasure and the retention jobs.

Each service is one transaction and writes its AuditEvent inside it (the record and the change
commit together). E-mails and tasks go out on commit."""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import re
import secrets
import shutil
import zipfile
from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.apps import apps
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core import signing
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import DatabaseError, connection, models, transaction
from django.db.models import ProtectedError, RestrictedError
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.hashing import subject_hash
from accounts.models import (
    ApiKey,
    AuditEvent,
    Invitation,
    LoginEvent,
    Membership,
    User,
    Workspace,
)
from accounts.permissions import Role
from accounts.services import absolute_url, audit_record, email_send_on_commit, notify

from .models import (
    Consent,
    DataExport,
    DataRequest,
    PolicyDocument,
    PrivacyProfile,
)
from .selectors import policy_current, policy_pending_for_user

logger = logging.getLogger(__name__)

EXPORT_TTL = timedelta(days=7)
DEACTIVATION_GRACE = timedelta(days=30)
REQUEST_DUE = timedelta(days=30)
AUTHORITY_REQUEST_DUE = timedelta(days=10)
CONFIRMATION_TTL = timedelta(days=7)
CONFIRMATION_RESEND_AFTER = timedelta(minutes=15)
LOGIN_EVENT_RETENTION = timedelta(days=365)
AUDIT_EVENT_RETENTION = timedelta(days=365)
MESSAGE_BODY_RETENTION_DAYS = 180
MATERIAL_CHANGE_NOTICE = timedelta(days=30)
REACTIVATION_SALT = "privacy.account_reactivate"
UNSUBSCRIBE_SALT = "privacy.marketing_unsubscribe"
COOKIE_NAME = "isend_cookie_consent"


# --- identifiers ---------------------------------------------------------------------------


def phone_normalize(phone: str) -> str:
    """E.164 form used for hashing and matching: '+' and digits only ('00' prefix allowed)."""
    raw = phone.strip()
    digits = re.sub(r"\D", "", raw)
    if raw.startswith("00"):
        digits = digits[2:]
    if not 7 <= len(digits) <= 15:
        raise ValidationError({"phone": _("Enter the number in international form, e.g. +994…")})
    return f"+{digits}"


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _pseudonym(value: str) -> str:
    return f"erased-{subject_hash(value)[:12]}"


def privacy_profile_get(*, user: User) -> PrivacyProfile:
    profile, _created = PrivacyProfile.objects.get_or_create(user=user)
    return profile


# --- consents and policy versions ----------------------------------------------------------


@transaction.atomic
def consent_record_signup(*, user: User, ip: str | None, user_agent: str = "") -> list[Consent]:
    """Record what a new user accepted at sign-up: the current terms and privacy policy
    versions, and the 18+ confirmation, with time and IP."""
    consents: list[Consent] = []
    for kind in (PolicyDocument.Kind.TERMS, PolicyDocument.Kind.PRIVACY):
        document = policy_current(kind=kind)
        if document is None:
            raise ImproperlyConfigured(f"No {kind} document is in force; run migrations.")
        consents.append(
            Consent(user=user, purpose=kind, document=document, ip=ip, user_agent=user_agent)
        )
    consents.append(
        Consent(user=user, purpose=Consent.Purpose.AGE_CONFIRMATION, ip=ip, user_agent=user_agent)
    )
    return Consent.objects.bulk_create(consents)


@transaction.atomic
def consent_set(
    *,
    user: User,
    purpose: str,
    granted: bool,
    ip: str | None,
    user_agent: str = "",
    source: str = "privacy_centre",
) -> Consent:
    """Grant or withdraw one purpose. Withdrawal is one call, like granting; the version shown
    (the cookie policy for analytics cookies, the privacy policy for marketing) is recorded."""
    if purpose not in (Consent.Purpose.MARKETING_EMAIL, Consent.Purpose.ANALYTICS_COOKIES):
        raise ValidationError(_("This consent cannot be changed here."))
    kind = (
        PolicyDocument.Kind.COOKIES
        if purpose == Consent.Purpose.ANALYTICS_COOKIES
        else PolicyDocument.Kind.PRIVACY
    )
    consent = Consent.objects.create(
        user=user,
        purpose=purpose,
        document=policy_current(kind=kind),
        granted=granted,
        ip=ip,
        user_agent=user_agent[:500],
    )
    if purpose == Consent.Purpose.MARKETING_EMAIL:
        profile = privacy_profile_get(user=user)
        profile.marketing_opt_in = granted
        profile.save(update_fields=["marketing_opt_in"])
    audit_record(
        workspace=None,
        action="privacy.consent_granted" if granted else "privacy.consent_withdrawn",
        actor=user,
        ip=ip,
        details={"purpose": purpose, "document_id": consent.document_id, "source": source},
    )
    return consent


@transaction.atomic
def policy_accept_pending(*, user: User, ip: str | None, user_agent: str = "") -> list[Consent]:
    """Record acceptance of every terms/privacy version in force that the user has not
    accepted yet (version, time, IP)."""
    pending = policy_pending_for_user(user=user)
    consents = [
        Consent.objects.create(
            user=user, purpose=doc.kind, document=doc, ip=ip, user_agent=user_agent[:500]
        )
        for doc in pending
    ]
    for consent in consents:
        audit_record(
            workspace=None,
            action="privacy.policy_accepted",
            actor=user,
            ip=ip,
            details={"kind": consent.purpose, "document_id": consent.document_id},
        )
    return consents


def policy_notice_is_short(*, document: PolicyDocument) -> bool:
    """A material change must be announced at least 30 days before it takes effect."""
    return bool(
        document.is_material_change
        and document.effective_at - document.published_at < MATERIAL_CHANGE_NOTICE
    )


@transaction.atomic
def policy_publish(*, document: PolicyDocument, actor: User | None) -> PolicyDocument:
    """Save a new policy version and tell every active user (in-app notice and e-mail)."""
    document.full_clean()
    document.save()
    audit_record(
        workspace=None,
        action="privacy.policy_published",
        actor=actor,
        target=document,
        details={
            "kind": document.kind,
            "version": document.version,
            "effective_at": document.effective_at.isoformat(),
            "material": document.is_material_change,
            "short_notice": policy_notice_is_short(document=document),
        },
    )
    link = reverse(f"privacy:{document.kind}")
    text = _("We published version %(version)s of our %(title)s. It takes effect on %(date)s.") % {
        "version": document.version,
        "title": document.get_kind_display().lower(),
        "date": timezone.localtime(document.effective_at).strftime("%Y-%m-%d"),
    }
    # Restricted users still get this: a policy change is a service notice, not marketing.
    for user in User.objects.filter(is_active=True).only("id", "email").iterator(chunk_size=500):
        notify(user=user, kind="privacy.policy_changed", text=text, link=link)
    return document


@transaction.atomic
def cookie_consent_record(
    *, user: User | None, analytics: bool, ip: str | None, user_agent: str = ""
) -> Consent | None:
    """The banner's choice. Anonymous visitors only get the cookie; signed-in users also get a
    Consent row with the cookie policy version shown."""
    if user is None or not user.is_authenticated:
        return None
    return consent_set(
        user=user,
        purpose=Consent.Purpose.ANALYTICS_COOKIES,
        granted=analytics,
        ip=ip,
        user_agent=user_agent,
        source="cookie_banner",
    )


def marketing_unsubscribe_url(*, user: User) -> str:
    """The link every non-transactional e-mail carries (no sign-in needed: the signed token
    is the credential, and it only ever withdraws consent)."""
    token = signing.dumps({"u": str(user.public_id)}, salt=UNSUBSCRIBE_SALT)
    return absolute_url(reverse("privacy:unsubscribe", args=[token]))


def marketing_unsubscribe_headers(*, user: User) -> dict[str, str]:
    """`List-Unsubscribe` and RFC 8058 one-click headers for a marketing e-mail."""
    return {
        "List-Unsubscribe": f"<{marketing_unsubscribe_url(user=user)}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def marketing_unsubscribe(*, token: str, ip: str | None) -> User:
    """Withdraw marketing consent from an e-mailed link, as easily as it was given."""
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature as exc:
        raise ValidationError(_("This link is not valid.")) from exc
    user = User.objects.filter(public_id=data.get("u")).first()
    if user is None:
        raise ValidationError(_("This link is not valid."))
    consent_set(
        user=user,
        purpose=Consent.Purpose.MARKETING_EMAIL,
        granted=False,
        ip=ip,
        source="unsubscribe_link",
    )
    return user


# --- restriction and objection -------------------------------------------------------------


@transaction.atomic
def processing_restrict(
    *, user: User, actor: User | None, objection: bool = False, ip: str | None = None
) -> PrivacyProfile:
    """Restrict (or object to) processing: excluded from marketing, analytics and
    non-essential processing until lifted. Marketing opt-in is switched off."""
    profile = PrivacyProfile.objects.select_for_update().get(pk=privacy_profile_get(user=user).pk)
    now = timezone.now()
    if objection:
        profile.objected_at = profile.objected_at or now
    else:
        profile.restricted_at = profile.restricted_at or now
    profile.marketing_opt_in = False
    profile.save(update_fields=["objected_at", "restricted_at", "marketing_opt_in"])
    audit_record(
        workspace=None,
        action="privacy.objection_recorded" if objection else "privacy.restriction_applied",
        actor=actor,
        target=profile,
        ip=ip,
    )
    return profile


@transaction.atomic
def processing_lift(*, user: User, actor: User | None, ip: str | None = None) -> PrivacyProfile:
    profile = PrivacyProfile.objects.select_for_update().get(pk=privacy_profile_get(user=user).pk)
    profile.restricted_at = None
    profile.objected_at = None
    profile.save(update_fields=["objected_at", "restricted_at"])
    audit_record(
        workspace=None, action="privacy.restriction_lifted", actor=actor, target=profile, ip=ip
    )
    return profile


# --- data requests -------------------------------------------------------------------------


def _due_for(kind: str, received: Any) -> Any:
    return received + (
        AUTHORITY_REQUEST_DUE if kind == DataRequest.Kind.AUTHORITY_REQUEST else REQUEST_DUE
    )


@transaction.atomic
def data_request_create(
    *,
    kind: str,
    channel: str,
    user: User | None = None,
    requester_email: str = "",
    contact_phone: str = "",
    workspace: Workspace | None = None,
    actor: User | None = None,
    notes: str = "",
    status: str = DataRequest.Status.RECEIVED,
    ip: str | None = None,
) -> DataRequest:
    """Open a request in the queue with its legal due date (30 days; 10 for the authority)."""
    now = timezone.now()
    request = DataRequest(
        kind=kind,
        channel=channel,
        status=status,
        user=user,
        requester_email=(requester_email or (user.email if user else "")).lower(),
        contact_phone=contact_phone,
        workspace=workspace,
        received_at=now,
        due_at=_due_for(kind, now),
        notes=notes,
    )
    request.full_clean()
    request.save()
    audit_record(
        workspace=None,
        action="privacy.request_received",
        actor=actor or user,
        target=request,
        ip=ip,
        details={"kind": kind, "channel": channel},
    )
    return request


def _note(request: DataRequest, actor: User | None, text: str) -> None:
    stamp = timezone.now().strftime("%Y-%m-%d %H:%M")
    who = f"staff #{actor.pk}" if actor is not None else "system"
    request.notes = (request.notes + f"\n[{stamp}] {who}: {text}").strip()


@transaction.atomic
def deletion_request_by_email(
    *, email: str, channel: str = DataRequest.Channel.WEB, actor: User | None = None, ip: str | None
) -> DataRequest | None:
    """Deletion requested for an address (public form, or staff registering an e-mail).

    A confirmation link goes to the registered address; nothing happens before it is
    followed. For an address with no account nothing is stored and nothing is sent, and the
    caller answers exactly as for a known one, so the form reveals no accounts."""
    email = email.strip().lower()
    user = User.objects.filter(email__iexact=email, is_active=True).first()
    if user is None:
        return None
    recent = DataRequest.objects.filter(
        user=user,
        kind=DataRequest.Kind.ERASURE,
        status=DataRequest.Status.AWAITING_CONFIRMATION,
        received_at__gt=timezone.now() - CONFIRMATION_RESEND_AFTER,
    ).first()
    if recent is not None and channel == DataRequest.Channel.WEB:
        # The form must not become a way to flood someone's inbox: one link per window.
        return recent
    token = secrets.token_urlsafe(32)
    request = data_request_create(
        kind=DataRequest.Kind.ERASURE,
        channel=channel,
        user=user,
        requester_email=user.email,
        actor=actor,
        status=DataRequest.Status.AWAITING_CONFIRMATION,
        ip=ip,
    )
    request.token_hash = _token_hash(token)
    request.save(update_fields=["token_hash"])
    email_send_on_commit(
        to=[user.email],
        template="privacy_deletion_confirm",
        context={
            "link": absolute_url(reverse("privacy:deletion_confirm", args=[token])),
            "days": CONFIRMATION_TTL.days,
        },
    )
    return request


def data_request_find_by_token(*, token: str) -> DataRequest | None:
    request = (
        DataRequest.objects.filter(
            token_hash=_token_hash(token), status=DataRequest.Status.AWAITING_CONFIRMATION
        )
        .select_related("user")
        .first()
    )
    if request is None or request.received_at < timezone.now() - CONFIRMATION_TTL:
        return None
    return request


@transaction.atomic
def data_request_confirm(*, token: str, ip: str | None) -> DataRequest:
    """The holder of the registered address confirmed: the request is verified and, for an
    erasure, the erasure is queued at once (seed 003 §10: confirmed, then deleted)."""
    found = data_request_find_by_token(token=token)
    if found is None:
        raise ValidationError(_("This confirmation link has expired or was already used."))
    request = DataRequest.objects.select_for_update().get(pk=found.pk)
    request.status = DataRequest.Status.VERIFIED
    request.confirmed_at = timezone.now()
    request.token_hash = ""
    _note(request, None, "confirmed through the e-mailed link")
    request.save(update_fields=["status", "confirmed_at", "token_hash", "notes"])
    audit_record(
        workspace=None, action="privacy.request_verified", target=request, ip=ip, details={}
    )
    if request.kind == DataRequest.Kind.ERASURE and request.user_id:
        from .tasks import data_request_execute_erasure_task

        request_id = request.pk
        transaction.on_commit(lambda: data_request_execute_erasure_task.delay(request_id))
    return request


@transaction.atomic
def data_request_reject(*, request: DataRequest, actor: User, reason: str) -> DataRequest:
    reason = reason.strip()
    if not reason:
        raise ValidationError({"rejection_reason": _("Give the legal reason for the rejection.")})
    request = DataRequest.objects.select_for_update().get(pk=request.pk)
    if not request.is_open:
        raise ValidationError(_("This request is already closed."))
    request.status = DataRequest.Status.REJECTED
    request.rejection_reason = reason
    request.completed_at = timezone.now()
    request.assignee = request.assignee or actor
    _note(request, actor, f"rejected: {reason}")
    request.save()
    audit_record(
        workspace=None,
        action="privacy.request_rejected",
        actor=actor,
        target=request,
        details={"reason": reason},
    )
    if request.user_id:
        notify(
            user=request.user,
            kind="privacy.request_rejected",
            text=_("We could not carry out your %(kind)s request: %(reason)s")
            % {"kind": request.get_kind_display().lower(), "reason": reason},
            link=reverse("privacy:centre"),
        )
    return request


@transaction.atomic
def data_request_complete(
    *, request: DataRequest, actor: User | None, note: str = "", proof: dict[str, Any] | None = None
) -> DataRequest:
    request = DataRequest.objects.select_for_update().get(pk=request.pk)
    if request.status in (DataRequest.Status.COMPLETED, DataRequest.Status.REJECTED):
        return request
    request.status = DataRequest.Status.COMPLETED
    request.completed_at = timezone.now()
    if actor is not None and request.assignee_id is None:
        request.assignee = actor
    if proof:
        request.proof = {**request.proof, **proof}
    _note(request, actor, note or "completed")
    request.save()
    audit_record(
        workspace=None,
        action="privacy.request_completed",
        actor=actor,
        target=request,
        details={"kind": request.kind},
    )
    return request


@transaction.atomic
def data_request_apply_restriction(*, request: DataRequest, actor: User) -> DataRequest:
    if request.user is None:
        raise ValidationError(_("This request is not linked to an account."))
    processing_restrict(
        user=request.user, actor=actor, objection=request.kind == DataRequest.Kind.OBJECTION
    )
    return data_request_complete(request=request, actor=actor, note="restriction applied")


@transaction.atomic
def data_request_build_export(*, request: DataRequest, actor: User) -> DataExport:
    if request.user is None:
        raise ValidationError(_("This request is not linked to an account."))
    locked = DataRequest.objects.select_for_update().get(pk=request.pk)
    locked.status = DataRequest.Status.IN_PROGRESS
    locked.assignee = locked.assignee or actor
    _note(locked, actor, "export queued")
    locked.save(update_fields=["status", "assignee", "notes"])
    return export_request(user=request.user, actor=actor, data_request=locked)


def data_request_execute_erasure(*, request: DataRequest, actor: User | None) -> DataRequest:
    """Run an erasure request: the account (if linked) or the contact's number."""
    if request.status not in (
        DataRequest.Status.VERIFIED,
        DataRequest.Status.IN_PROGRESS,
        DataRequest.Status.RECEIVED,
    ):
        raise ValidationError(_("Only a verified or received request can be executed."))
    if request.user is not None:
        account_erase(user=request.user, actor=actor, reason="data_request", data_request=request)
    elif request.contact_phone:
        proof = recipient_erase(
            workspace=request.workspace,
            phone=request.contact_phone,
            actor=actor,
            reason=f"data request {request.public_id}",
        )
        DataRequest.objects.filter(pk=request.pk).update(contact_phone="")
        request.refresh_from_db()
        data_request_complete(request=request, actor=actor, note="number erased", proof=proof)
    else:
        raise ValidationError(_("Nothing to erase: no account and no phone number."))
    request.refresh_from_db()
    return request


# --- export --------------------------------------------------------------------------------


def _export_dir(export: DataExport) -> Path:
    return Path(settings.MEDIA_ROOT) / "exports" / str(export.public_id)


@transaction.atomic
def export_request(
    *, user: User, actor: User | None = None, data_request: DataRequest | None = None
) -> DataExport:
    """Queue an export of the user's data. One open export at a time per user."""
    open_export = DataExport.objects.filter(
        user=user, status__in=[DataExport.Status.PENDING, DataExport.Status.BUILDING]
    ).first()
    if open_export is not None:
        return open_export
    export = DataExport.objects.create(user=user, data_request=data_request)
    audit_record(
        workspace=None, action="privacy.export_requested", actor=actor or user, target=export
    )
    from .tasks import export_build_task

    export_id = export.pk
    transaction.on_commit(lambda: export_build_task.delay(export_id))
    return export


def _csv_safe(value: Any) -> Any:
    # Neutralise spreadsheet formulas in user-controlled text.
    return "'" + value if isinstance(value, str) and value[:1] in "=+-@" else value


def _dump_rows(
    rows: Iterable[Mapping[str, Any]], directory: Path, name: str, fields: list[str]
) -> int:
    """Write one category as JSON and CSV, streaming: memory does not grow with the number
    of rows. Returns the row count."""
    directory.mkdir(parents=True, exist_ok=True)
    count = 0
    with (
        (directory / f"{name}.json").open("w", encoding="utf-8") as jf,
        (directory / f"{name}.csv").open("w", newline="", encoding="utf-8") as cf,
    ):
        writer = csv.DictWriter(cf, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        jf.write("[")
        for row in rows:
            item = {k: row.get(k) for k in fields}
            jf.write(("," if count else "") + "\n  ")
            jf.write(json.dumps(item, default=str, ensure_ascii=False))
            writer.writerow({k: _csv_safe(v) for k, v in item.items()})
            count += 1
        jf.write("\n]\n")
    return count


def _owned_workspace_ids(user: User) -> list[int]:
    return list(
        Membership.objects.filter(user=user, role=Role.OWNER).values_list("workspace_id", flat=True)
    )


def _model_rows(
    label: str, workspace_ids: list[int], fields: list[str]
) -> Iterable[Mapping[str, Any]]:
    try:
        model = apps.get_model(label)
    except LookupError:
        return []
    present = {f.attname for f in model._meta.concrete_fields} | {
        f.name for f in model._meta.concrete_fields
    }
    wanted = [f for f in fields if f in present]
    return list(model.objects.filter(workspace_id__in=workspace_ids).order_by("pk").values(*wanted))


def _export_sections(
    user: User,
) -> list[tuple[str, Callable[[], Iterable[Mapping[str, Any]]], list[str]]]:
    """The categories of the privacy policy, each a bounded unit of work (the cursor)."""
    ws = _owned_workspace_ids(user)
    account_fields = [
        "email",
        "first_name",
        "last_name",
        "company_name",
        "phone",
        "date_joined",
        "last_login",
        "confirmed_adult_at",
    ]
    return [
        (
            "account",
            lambda: list(User.objects.filter(pk=user.pk).values(*account_fields)),
            account_fields,
        ),
        (
            "consents",
            lambda: list(
                Consent.objects.filter(user=user)
                .order_by("created_at")
                .values("purpose", "granted", "document__version", "ip", "created_at")
            ),
            ["purpose", "granted", "document__version", "ip", "created_at"],
        ),
        (
            "login_events",
            lambda: list(
                LoginEvent.objects.filter(user=user)
                .order_by("created_at")
                .values("created_at", "success", "ip", "browser", "os", "device_type")
            ),
            ["created_at", "success", "ip", "browser", "os", "device_type"],
        ),
        (
            "audit_events",
            lambda: list(
                AuditEvent.objects.filter(actor_user=user)
                .order_by("created_at")
                .values("created_at", "action", "target_type", "ip", "workspace__name")
            ),
            ["created_at", "action", "target_type", "ip", "workspace__name"],
        ),
        (
            "memberships",
            lambda: list(
                Membership.objects.filter(user=user).values(
                    "workspace__name", "workspace__slug", "role", "created_at"
                )
            ),
            ["workspace__name", "workspace__slug", "role", "created_at"],
        ),
        (
            "numbers",
            # No credentials, tokens or secrets: only what identifies the number.
            lambda: _model_rows(
                "messaging.Sender",
                ws,
                ["workspace_id", "provider", "label", "phone_number", "status", "created_at"],
            ),
            ["workspace_id", "provider", "label", "phone_number", "status", "created_at"],
        ),
        (
            "contacts",
            lambda: _model_rows(
                "messaging.Contact",
                ws,
                [
                    "workspace_id",
                    "phone",
                    "first_name",
                    "last_name",
                    "language",
                    "country",
                    "attributes",
                    "tags",
                    "consent_source",
                    "created_at",
                ],
            ),
            [
                "workspace_id",
                "phone",
                "first_name",
                "last_name",
                "language",
                "country",
                "attributes",
                "tags",
                "consent_source",
                "created_at",
            ],
        ),
        (
            "contact_lists",
            lambda: _model_rows(
                "messaging.ContactList", ws, ["workspace_id", "name", "description"]
            ),
            ["workspace_id", "name", "description"],
        ),
        (
            "templates",
            lambda: _model_rows(
                "messaging.MessageTemplate",
                ws,
                ["workspace_id", "name", "variants", "footer", "wa_template_name", "wa_status"],
            ),
            ["workspace_id", "name", "variants", "footer", "wa_template_name", "wa_status"],
        ),
        (
            "orders",
            lambda: _model_rows(
                "billing.Order",
                ws,
                [
                    "workspace_id",
                    "payment_reference",
                    "method",
                    "status",
                    "currency",
                    "buyer_company",
                    "buyer_email",
                    "created_at",
                ],
            ),
            [
                "workspace_id",
                "payment_reference",
                "method",
                "status",
                "currency",
                "buyer_company",
                "buyer_email",
                "created_at",
            ],
        ),
        (
            "invoices",
            lambda: _model_rows(
                "billing.Invoice", ws, ["workspace_id", "number", "buyer_name", "currency"]
            ),
            ["workspace_id", "number", "buyer_name", "currency"],
        ),
    ]


def export_build_step(*, export_id: int) -> bool:
    """Build the next section of an export; True when the archive is finished.

    Sections done are recorded in Postgres after each one, so a redelivered task resumes
    where it stopped instead of starting again."""
    with transaction.atomic():
        export = DataExport.objects.select_for_update().select_related("user").get(pk=export_id)
        if export.status not in (DataExport.Status.PENDING, DataExport.Status.BUILDING):
            return True
        sections = _export_sections(export.user)
        remaining = [s for s in sections if s[0] not in export.sections_done]
        directory = _export_dir(export)
        if remaining:
            name, rows, fields = remaining[0]
            _dump_rows(rows(), directory / "data", name, fields)
            export.sections_done = [*export.sections_done, name]
            export.status = DataExport.Status.BUILDING
            export.save(update_fields=["sections_done", "status"])
            return False
        archive = directory / f"isend-export-{timezone.now():%Y%m%d}.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
            readme = _(
                "Your iSend data. Each category is in JSON and CSV. Categories: %(names)s."
            ) % {"names": ", ".join(s[0] for s in sections)}
            zf.writestr("README.txt", readme)
            for path in sorted((directory / "data").glob("*")):
                zf.write(path, arcname=path.name)
        shutil.rmtree(directory / "data", ignore_errors=True)
        export.file_path = str(archive.relative_to(settings.MEDIA_ROOT))
        export.size_bytes = archive.stat().st_size
        export.status = DataExport.Status.READY
        export.expires_at = timezone.now() + EXPORT_TTL
        export.save(update_fields=["file_path", "size_bytes", "status", "expires_at"])
        audit_record(
            workspace=None,
            action="privacy.export_ready",
            actor=None,
            target=export,
            details={"sections": export.sections_done, "bytes": export.size_bytes},
        )
        notify(
            user=export.user,
            kind="privacy.export_ready",
            text=_("Your data export is ready. The link works for 7 days."),
            link=reverse("privacy:export_download", args=[export.public_id]),
        )
        if export.data_request_id:
            data_request_complete(
                request=export.data_request,  # type: ignore[arg-type]
                actor=None,
                note="export built and sent",
                proof={"export": str(export.public_id), "sections": export.sections_done},
            )
        return True


def export_fail(*, export_id: int, error: str) -> None:
    DataExport.objects.filter(pk=export_id).update(
        status=DataExport.Status.FAILED, error=error[:1000]
    )


def export_file_for_download(*, user: User, public_id: Any) -> tuple[DataExport, Path] | None:
    """The archive, only for its owner and only until it expires. Anything else is None
    (the view answers 404, never 403)."""
    export = DataExport.objects.filter(user=user, public_id=public_id).first()
    if export is None or not export.is_downloadable:
        return None
    path = Path(settings.MEDIA_ROOT) / export.file_path
    if not path.is_file():
        return None
    with transaction.atomic():
        DataExport.objects.filter(pk=export.pk, downloaded_at__isnull=True).update(
            downloaded_at=timezone.now()
        )
        audit_record(workspace=None, action="privacy.export_downloaded", actor=user, target=export)
    return export, path


def exports_purge_expired(*, now: Any = None) -> int:
    """Delete archives past their 7 days (and any left by failed builds)."""
    now = now or timezone.now()
    count = 0
    expired = DataExport.objects.filter(
        models.Q(status=DataExport.Status.READY, expires_at__lte=now)
        | models.Q(status=DataExport.Status.FAILED, created_at__lte=now - EXPORT_TTL)
    )
    for export in expired.iterator():
        shutil.rmtree(_export_dir(export), ignore_errors=True)
        DataExport.objects.filter(pk=export.pk).update(
            status=DataExport.Status.EXPIRED, file_path="", size_bytes=0
        )
        count += 1
    return count


# --- account deletion ----------------------------------------------------------------------


def _user_sessions_delete(user: User) -> int:
    """Sign the user out everywhere. Sessions are signed blobs keyed by id, so they are
    decoded to find the user's; bounded by live sessions only."""
    doomed = []
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if str(session.get_decoded().get("_auth_user_id")) == str(user.pk):
            doomed.append(session.pk)
    Session.objects.filter(pk__in=doomed).delete()
    return len(doomed)


def reactivation_token(user: User, deactivated_at: Any) -> str:
    # Bound to this deactivation: a link from an earlier one stops working.
    return signing.dumps(
        {"u": str(user.public_id), "d": deactivated_at.isoformat()}, salt=REACTIVATION_SALT
    )


@transaction.atomic
def account_deactivate(
    *,
    user: User,
    actor: User | None,
    ip: str | None = None,
    reason: str = "self_service",
    purge: bool = True,
) -> PrivacyProfile:
    """Switch the account off at once: signed out everywhere, API keys they created revoked,
    signing in refused. With `purge` (account deletion) the data is erased after 30 days;
    without it (deactivation) it is kept until the user reactivates or deletes. Either way an
    e-mailed link reactivates the account (signing in is refused meanwhile)."""
    now = timezone.now()
    User.objects.filter(pk=user.pk).update(is_active=False, deactivated_at=now)
    profile = privacy_profile_get(user=user)
    profile.deletion_requested_at = now if purge else None
    profile.purge_after = now + DEACTIVATION_GRACE if purge else None
    profile.save(update_fields=["deletion_requested_at", "purge_after"])
    for key in ApiKey.objects.filter(created_by=user, revoked_at__isnull=True):
        ApiKey.objects.filter(pk=key.pk).update(revoked_at=now)
        audit_record(
            workspace=key.workspace, action="api_key.revoked", actor=actor, target=key, ip=ip
        )
    sessions = _user_sessions_delete(user)
    audit_record(
        workspace=None,
        action="privacy.account_deletion_scheduled" if purge else "privacy.account_deactivated",
        actor=actor,
        target=user,
        ip=ip,
        details={
            "reason": reason,
            "purge_after": profile.purge_after.isoformat() if profile.purge_after else None,
        },
    )
    logger.info("account %s deactivated, %s sessions ended", user.pk, sessions)
    email_send_on_commit(
        to=[user.email],
        template="privacy_account_deactivated",
        context={
            "link": absolute_url(
                reverse("privacy:account_reactivate", args=[reactivation_token(user, now)])
            ),
            "purge_date": (
                timezone.localtime(profile.purge_after).strftime("%Y-%m-%d")
                if profile.purge_after
                else ""
            ),
        },
    )
    return profile


@transaction.atomic
def account_reactivate(*, token: str, ip: str | None = None) -> User:
    """Reactivate through the e-mailed signed link. A pending deletion is cancelled; after
    the purge there is nothing left to reactivate."""
    invalid = ValidationError(_("This link has expired or is not valid."))
    try:
        data = signing.loads(token, salt=REACTIVATION_SALT)
    except signing.BadSignature as exc:
        raise invalid from exc
    user = User.objects.select_for_update().filter(public_id=data.get("u"), is_active=False).first()
    if (
        user is None
        or user.deactivated_at is None
        or user.deactivated_at.isoformat() != data.get("d")
    ):
        raise invalid
    User.objects.filter(pk=user.pk).update(is_active=True, deactivated_at=None)
    PrivacyProfile.objects.filter(user=user).update(deletion_requested_at=None, purge_after=None)
    audit_record(
        workspace=None, action="privacy.account_reactivated", actor=user, target=user, ip=ip
    )
    user.refresh_from_db()
    return user


def _delete_rows_of_workspace(workspace: Workspace, keep_apps: set[str]) -> dict[str, int]:
    """Delete every tenant row of a workspace except those of `keep_apps` (billing records
    kept for tax law). Repeats passes so PROTECT chains (campaign -> template) resolve."""
    counts: dict[str, int] = {}
    targets = []
    for model in apps.get_models():
        if model._meta.app_label in keep_apps or model is Workspace:
            continue
        for field in model._meta.concrete_fields:
            if field.is_relation and field.related_model is Workspace:
                targets.append((model, field.name))
    for _pass in range(5):
        progress = False
        pending = []
        for model, fname in targets:
            qs = model._base_manager.filter(**{fname: workspace})
            try:
                with transaction.atomic():
                    deleted, per_model = qs.delete()
            except (ProtectedError, RestrictedError):
                pending.append((model, fname))
                continue
            for label, n in per_model.items():
                if n:
                    counts[label] = counts.get(label, 0) + n
                    progress = True
        targets = pending
        if not targets or not progress:
            break
    return counts


def _workspace_erase(*, workspace: Workspace) -> dict[str, Any]:
    """Erase a workspace and everything in it. If it has billing records (kept 5 years by
    tax law) the workspace row stays as a nameless tombstone holding only them."""
    has_billing = any(
        model._base_manager.filter(workspace=workspace).exists()
        for model in apps.get_app_config("billing").get_models()
        if "workspace" in {f.name for f in model._meta.concrete_fields}
    )
    if not has_billing:
        counts = {"accounts.Workspace": 1}
        _n, per_model = workspace.delete()
        counts.update({k: v for k, v in per_model.items() if v})
        return {"workspace": "deleted", "counts": counts}
    counts = _delete_rows_of_workspace(workspace, keep_apps={"billing"})
    pseudonym = f"erased-workspace-{workspace.pk}"
    Workspace.objects.filter(pk=workspace.pk).update(
        name=pseudonym,
        slug=pseudonym,
        status=Workspace.Status.SUSPENDED,
        suspended_reason="erased",
        suspended_at=timezone.now(),
    )
    return {"workspace": "tombstone_kept_for_billing", "counts": counts}


def _pseudonymise_billing(*, email: str, names: list[str], phone: str, pseudonym: str) -> int:
    """Invoices and payments are kept (tax law): the person's identifiers are replaced."""
    changed = 0
    order = apps.get_model("billing", "Order") if apps.is_installed("billing") else None
    invoice = apps.get_model("billing", "Invoice") if apps.is_installed("billing") else None
    for model in (m for m in (order, invoice) if m is not None):
        fields = [
            f.name
            for f in model._meta.concrete_fields
            if isinstance(f, models.CharField | models.TextField) and f.name.startswith("buyer_")
        ]
        for fname in fields:
            for value in [v for v in (email, phone, *names) if v]:
                changed += model._base_manager.filter(**{f"{fname}__iexact": value}).update(
                    **{fname: pseudonym}
                )
    return changed


def _scrub_text_columns(
    table_columns: list[tuple[str, str, str, bool]],
    needles: list[str],
    pseudonym: str,
    workspace_id: int | None = None,
) -> int:
    """Replace remaining occurrences of identifiers inside free text/JSON of audit-type tables
    (audit details, admin log, notifications). Targeted tables only, never billing."""
    changed = 0
    with connection.cursor() as cursor:
        for table, column, dtype, has_workspace in table_columns:
            # A workspace-scoped erasure touches only that workspace's rows.
            scope_sql, scope_args = "", []
            if workspace_id is not None and has_workspace:
                scope_sql, scope_args = " AND workspace_id = %s", [workspace_id]
            for needle in needles:
                if dtype == "jsonb":
                    sql = (
                        f'UPDATE "{table}" SET "{column}" = '  # noqa: S608 - names from the ORM
                        f"regexp_replace(\"{column}\"::text, %s, %s, 'gi')::jsonb "
                        f'WHERE "{column}"::text ILIKE %s{scope_sql}'
                    )
                else:
                    sql = (
                        f'UPDATE "{table}" SET "{column}" = '  # noqa: S608 - names from the ORM
                        f"regexp_replace(\"{column}\", %s, %s, 'gi') "
                        f'WHERE "{column}" ILIKE %s{scope_sql}'
                    )
                like = "%" + needle.replace("%", r"\%").replace("_", r"\_") + "%"
                cursor.execute(sql, [re.escape(needle), pseudonym, like, *scope_args])
                changed += cursor.rowcount
    return changed


def _scrub_targets() -> list[tuple[str, str, str, bool]]:
    targets: list[tuple[str, str, str, bool]] = []
    # Free-text places where staff or the system may have copied an identifier.
    labels = [
        "accounts.AuditEvent",
        "accounts.Notification",
        "admin.LogEntry",
        "privacy.DataRequest",
    ]
    for label in labels:
        try:
            model = apps.get_model(label)
        except LookupError:
            continue
        has_workspace = any(f.column == "workspace_id" for f in model._meta.concrete_fields)
        for f in model._meta.concrete_fields:
            if isinstance(f, models.JSONField):
                targets.append((model._meta.db_table, f.column, "jsonb", has_workspace))
            elif isinstance(f, models.CharField | models.TextField):
                targets.append((model._meta.db_table, f.column, "text", has_workspace))
    return targets


@transaction.atomic
def account_erase(
    *,
    user: User,
    actor: User | None,
    reason: str,
    data_request: DataRequest | None = None,
) -> dict[str, Any]:
    """Erase an account for good.

    Workspaces the user solely owns are handed to an admin if there is one (made owner),
    otherwise erased with everything in them; API keys they created are revoked; invoices
    and payments are kept with the person's identifiers replaced by a pseudonym; then the
    user row and everything hanging off it is deleted. Returns the proof (counts, a salted
    hash, no personal data), which is also kept on the request and in the audit trail."""
    user = User.objects.select_for_update().get(pk=user.pk)
    email, phone = user.email, user.phone
    names = [n for n in {user.get_full_name().strip(), user.company_name.strip()} if n]
    pseudonym = _pseudonym(email)
    proof: dict[str, Any] = {
        "subject_hash": subject_hash(email),
        "reason": reason,
        "erased_at": timezone.now().isoformat(),
        "by": f"staff #{actor.pk}" if actor is not None and actor.pk != user.pk else "self/system",
        "workspaces": [],
    }
    for membership in Membership.objects.filter(user=user, role=Role.OWNER).select_related(
        "workspace"
    ):
        ws = membership.workspace
        others = Membership.objects.filter(workspace=ws).exclude(user=user)
        if others.filter(role=Role.OWNER).exists():
            continue
        heir = others.filter(role=Role.ADMIN).order_by("created_at").first()
        if heir is not None:
            Membership.objects.filter(pk=heir.pk).update(role=Role.OWNER)
            audit_record(
                workspace=ws,
                action="team.ownership_transferred",
                actor=actor,
                details={"reason": "previous owner's account erased", "to_user": heir.user_id},
            )
            proof["workspaces"].append({"id": ws.pk, "outcome": "handed_over"})
            continue
        proof["workspaces"].append({"id": ws.pk, **_workspace_erase(workspace=ws)})
    revoked = ApiKey.objects.filter(created_by=user, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    proof["api_keys_revoked"] = revoked
    proof["billing_pseudonymised"] = _pseudonymise_billing(
        email=email, names=names, phone=phone, pseudonym=pseudonym
    )
    proof["invitations_deleted"] = Invitation.objects.filter(email__iexact=email).delete()[0]
    proof["login_attempts_deleted"] = LoginEvent.objects.filter(
        models.Q(user=user) | models.Q(email_attempted__iexact=email)
    ).delete()[0]
    AuditEvent.objects.filter(actor_user=user).update(actor_label=pseudonym)
    proof["sessions_ended"] = _user_sessions_delete(user)
    for export in DataExport.objects.filter(user=user):
        shutil.rmtree(_export_dir(export), ignore_errors=True)
    # Requests by this person: identifiers cleared, the proof stays.
    DataRequest.objects.filter(
        models.Q(user=user) | models.Q(requester_email__iexact=email)
    ).update(requester_email="", token_hash="")
    _n, deleted = user.delete()
    proof["rows_deleted"] = {k: v for k, v in deleted.items() if v}
    proof["residual_scrubbed"] = _scrub_text_columns(
        _scrub_targets(), [v for v in (email, phone) if v], pseudonym
    )
    audit_record(workspace=None, action="privacy.account_erased", actor=actor, details=dict(proof))
    if data_request is not None:
        data_request_complete(request=data_request, actor=actor, note="account erased", proof=proof)
    return proof


def account_erase_by_id(*, user_id: int, actor: User | None, reason: str) -> dict[str, Any] | None:
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        return None
    return account_erase(user=user, actor=actor, reason=reason)


@transaction.atomic
def account_flag_minor(*, user: User, actor: User) -> dict[str, Any]:
    """Staff found the account belongs to someone under 18: erased at once, no grace."""
    request = data_request_create(
        kind=DataRequest.Kind.ERASURE,
        channel=DataRequest.Channel.STAFF,
        user=user,
        actor=actor,
        status=DataRequest.Status.IN_PROGRESS,
        notes="account of a minor: erased at once",
    )
    return account_erase(user=user, actor=actor, reason="minor", data_request=request)


def accounts_purge_due(*, now: Any = None, limit: int = 50) -> int:
    """Erase deactivated accounts whose 30 days have passed (bounded per run)."""
    now = now or timezone.now()
    due = list(
        PrivacyProfile.objects.filter(
            purge_after__lte=now, user__is_active=False, user__deactivated_at__isnull=False
        ).values_list("user_id", flat=True)[:limit]
    )
    for user_id in due:
        try:
            account_erase_by_id(user_id=user_id, actor=None, reason="deactivation_grace_ended")
        except DatabaseError:
            logger.exception("purge of user %s failed; retried next run", user_id)
    return len(due)


# --- recipients ----------------------------------------------------------------------------


@transaction.atomic
def recipient_erase(
    *,
    workspace: Workspace | None,
    phone: str,
    actor: User | None,
    reason: str = "",
    ip: str | None = None,
) -> dict[str, Any]:
    """Erase one recipient's number in one workspace, or platform-wide when workspace is
    None: contact rows deleted, phone and text removed from messages, and a salted hash put
    on the suppression list so a re-import needs fresh consent."""
    e164 = phone_normalize(phone)
    digest = subject_hash(e164)
    scope = "workspace" if workspace else "platform"
    ws_filter: dict[str, Any] = {"workspace": workspace} if workspace else {}
    counts: dict[str, int] = {}
    variants = [e164, e164[1:]]

    contact_model = apps.get_model("messaging", "Contact")
    erased_contacts = contact_model._base_manager.filter(phone__in=variants, **ws_filter)
    workspace_ids = set(erased_contacts.values_list("workspace_id", flat=True))
    _n, per_model = erased_contacts.delete()
    counts.update({k: v for k, v in per_model.items() if v})
    if workspace_ids:
        # A tag or attribute name only this person had (it may name them) goes with them.
        from messaging.services.contacts import contact_vocabulary_prune

        for erased_in in Workspace.objects.filter(pk__in=workspace_ids):
            counts["messaging.ContactVocabulary"] = counts.get(
                "messaging.ContactVocabulary", 0
            ) + contact_vocabulary_prune(workspace=erased_in)

    messaging_models = apps.get_app_config("messaging").models
    # Message/InboundMessage exist once the engine is in; skip cleanly before that.
    if "message" in messaging_models:
        message_model = apps.get_model("messaging", "Message")
        counts["messaging.Message(redacted)"] = message_model._base_manager.filter(
            phone__in=variants, **ws_filter
        ).update(phone="", body="")
    if "inboundmessage" in messaging_models:
        inbound_model = apps.get_model("messaging", "InboundMessage")
        counts["messaging.InboundMessage"] = inbound_model._base_manager.filter(
            phone__in=variants, **ws_filter
        ).delete()[0]
    rejection = "contactimportrejection" in messaging_models
    if rejection:
        model = apps.get_model("messaging", "ContactImportRejection")
        counts["messaging.ContactImportRejection"] = model._base_manager.filter(
            row__icontains=e164[1:], **ws_filter
        ).delete()[0]
    counts["residual_scrubbed"] = _scrub_text_columns(
        _scrub_targets(),
        variants,
        f"erased-{digest[:12]}",
        workspace_id=workspace.pk if workspace else None,
    )
    # The suppression list is messaging's now (messaging.SuppressedPhone, same table).
    apps.get_model("messaging", "SuppressedPhone").objects.get_or_create(
        phone_hash=digest,
        scope=scope,
        workspace=workspace,
        defaults={"reason": reason[:200], "created_by": actor},
    )
    proof = {
        "subject_hash": digest,
        "scope": scope,
        "workspace_id": workspace.pk if workspace else None,
        "counts": counts,
        "erased_at": timezone.now().isoformat(),
        "by": f"user #{actor.pk}" if actor is not None else "system",
    }
    audit_record(
        workspace=workspace, action="privacy.recipient_erased", actor=actor, ip=ip, details=proof
    )
    return proof


# --- retention -----------------------------------------------------------------------------


def login_events_purge(*, now: Any = None) -> int:
    cutoff = (now or timezone.now()) - LOGIN_EVENT_RETENTION
    return LoginEvent.objects.filter(created_at__lt=cutoff).delete()[0]


def audit_events_purge(*, now: Any = None) -> int:
    cutoff = (now or timezone.now()) - AUDIT_EVENT_RETENTION
    return AuditEvent.objects.filter(created_at__lt=cutoff).delete()[0]


def message_bodies_purge(*, now: Any = None, batch: int = 5000) -> int:
    """Remove message text after the retention period (180 days unless the workspace has
    its own `message_retention_days`); the delivery record stays. No-op before the engine's
    Message model exists."""
    if "message" not in apps.get_app_config("messaging").models:
        return 0
    message_model = apps.get_model("messaging", "Message")
    now = now or timezone.now()
    total = 0
    custom = [f.name for f in Workspace._meta.concrete_fields if f.name == "message_retention_days"]
    periods: dict[int, list[int]] = {}
    if custom:
        workspaces: Any = Workspace.objects  # the field is optional: not known to the stubs
        for ws_id, days in workspaces.values_list("pk", custom[0]):
            periods.setdefault(days or MESSAGE_BODY_RETENTION_DAYS, []).append(ws_id)
    else:
        periods[MESSAGE_BODY_RETENTION_DAYS] = []
    for days, ws_ids in periods.items():
        qs = message_model._base_manager.filter(created_at__lt=now - timedelta(days=days)).exclude(
            body=""
        )
        if ws_ids:
            qs = qs.filter(workspace_id__in=ws_ids)
        while True:
            ids = list(qs.values_list("pk", flat=True)[:batch])
            if not ids:
                break
            total += message_model._base_manager.filter(pk__in=ids).update(body="")
    return total
