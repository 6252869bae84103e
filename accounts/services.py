"""Every write to accounts, workspaces, memberships, invitations, API keys, audit and
notifications. Plain functions with keyword-only arguments; one transaction each."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime
from typing import Any

from anyascii import anyascii
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, models, transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.emails import recipients_by_language
from accounts.hooks import signup_completed, workspace_restored, workspace_suspended
from accounts.models import (
    MESSAGE_RETENTION_MAX_DAYS,
    MESSAGE_RETENTION_MIN_DAYS,
    PLURAL_PARAM,
    ApiKey,
    AuditEvent,
    Invitation,
    KnownDevice,
    LoginEvent,
    Membership,
    Notification,
    NotificationRead,
    PluralNotice,
    SecurityReport,
    User,
    UserSession,
    Workspace,
    WorkspaceSlugRedirect,
    notice_render,
)
from accounts.permissions import API_SCOPES, Perm, Role, role_has, role_may_grant
from accounts.useragent import parse_user_agent


class WorkspaceSuspended(Exception):
    """Raised by anything that would send for a suspended workspace."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        super().__init__(
            _("This workspace is suspended: %(reason)s")
            % {"reason": workspace.suspended_reason or _("no reason given")}
        )


def client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    # Behind a proxy, gunicorn is started with --forwarded-allow-ips and REMOTE_ADDR is set
    # from the trusted proxy; X-Forwarded-For is not trusted here.
    return request.META.get("REMOTE_ADDR") or None


# --- audit and notifications --------------------------------------------------------------


def audit_record(
    *,
    workspace: Workspace | None,
    action: str,
    actor: User | None = None,
    api_key: ApiKey | None = None,
    target: models.Model | None = None,
    ip: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """The one way to write an audit row. Call it inside the service's transaction so the
    record and the change commit or roll back together."""
    label = ""
    if actor is not None:
        label = actor.email
    elif api_key is not None:
        label = f"API key {api_key.prefix}"
    return AuditEvent.objects.create(
        workspace=workspace,
        actor_user=actor if actor is not None and actor.pk else None,
        actor_api_key=api_key,
        actor_label=label,
        action=action,
        target_type=target._meta.label if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_repr=str(target)[:254] if target is not None else "",
        ip=ip,
        details=details or {},
    )


SUBJECT_MAX = 120


def notice_subject(text: str) -> str:
    """What happened, for an e-mail's subject: the notice's first sentence (its first line,
    up to the first full stop), shortened to fit a mail client's list."""
    first = text.strip().splitlines()[0] if text.strip() else ""
    for end in (". ", "! ", "? "):
        if end in first:
            first = first.split(end, 1)[0]
    first = first.rstrip(".")
    if len(first) > SUBJECT_MAX:
        first = first[: SUBJECT_MAX - 1].rstrip() + "…"
    return first


def notify(
    *,
    kind: str,
    text: str | PluralNotice,
    params: dict[str, Any] | None = None,
    workspace: Workspace | None = None,
    user: User | None = None,
    link: str = "",
    email: bool = True,
    subject: str = "",
) -> Notification:
    """Write an in-app notice and, after commit, e-mail it to the user or the workspace's
    owners and admins. The e-mail's subject says what happened (`subject`, else the notice's
    first sentence), never a generic "Notice from iSend".

    With ``params``, ``text`` is the sentence's msgid (marked with ``gettext_noop``) and
    ``params`` its values (names, numbers: JSON): every reader, on the page and in the e-mail,
    reads it in their own language. Without, ``text`` is shown as it is. A `PluralNotice`
    (with ``params`` holding its count) is read in the plural form its count needs."""
    translatable = params is not None
    values = {k: str(v) if isinstance(v, Promise) else v for k, v in (params or {}).items()}
    if isinstance(text, PluralNotice):
        if not isinstance(values.get(text.count), int):
            raise TypeError(f"a plural notice needs its count {text.count!r} in params")
        values[PLURAL_PARAM] = [text.plural, text.count]
        text = text.singular
    with translation.override(settings.LANGUAGE_CODE):
        stored = notice_render(text, values) if translatable else text
    notification = Notification.objects.create(
        workspace=workspace,
        user=user,
        kind=kind,
        text=stored,
        message=text if translatable else "",
        params=values,
        link=link,
    )
    if email:
        if user is not None:
            recipients = [user.email]
        else:
            recipients = list(
                Membership.objects.filter(
                    workspace=workspace, role__in=[Role.OWNER, Role.ADMIN], user__is_active=True
                ).values_list("user__email", flat=True)
            )
        groups = (
            recipients_by_language(to=recipients, language=translation.get_language() or "")
            if translatable and recipients
            else {"": recipients}
        )
        for language, addresses in groups.items():
            if not addresses:
                continue
            if language:
                with translation.override(language):
                    body = notice_render(text, values)
            else:
                body = text
            email_send_on_commit(
                to=addresses,
                template="notification",
                context={
                    "text": body,
                    "subject": subject or notice_subject(body),
                    "link": absolute_url(link) if link else "",
                },
                language=language or None,
            )
    return notification


def absolute_url(path: str) -> str:
    return path if path.startswith("http") else settings.SITE_URL + path


def email_send_on_commit(
    *, to: list[str], template: str, context: dict[str, Any], language: str | None = None
) -> None:
    """Send after commit. Users get the e-mail in their own language; other addresses in
    ``language``, by default the one active now (the page the sender was on)."""
    from accounts.tasks import email_send_task

    lang = (translation.get_language() or "") if language is None else language
    transaction.on_commit(
        lambda: email_send_task.delay(to=to, template=template, context=context, language=lang)
    )


# --- sign-up, users, workspaces -----------------------------------------------------------


SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
SLUG_MIN, SLUG_MAX = 3, 60


def workspace_slug_from_name(name: str) -> str:
    """A URL-safe slug for a name in any script: Azerbaijani letters are transliterated
    ("Çiçək" -> "cicek", "Şirinova Ağa" -> "sirinova-aga"), not dropped as plain `slugify`
    drops them ("ii" for "Çiçək")."""
    return slugify(anyascii(name))[:40].strip("-")


def _slug_taken(slug: str, *, workspace: Workspace | None = None) -> bool:
    """A slug is taken if another workspace uses it now or used it before (its old links
    must keep leading to it)."""
    others = Workspace.objects.filter(slug=slug)
    redirects = WorkspaceSlugRedirect.objects.filter(slug=slug)
    if workspace is not None:
        others = others.exclude(pk=workspace.pk)
        redirects = redirects.exclude(workspace=workspace)
    return others.exists() or redirects.exists()


def _unique_slug(name: str) -> str:
    base = workspace_slug_from_name(name)
    if len(base) < SLUG_MIN:
        base = f"{base}-workspace".strip("-")
    slug = base
    while _slug_taken(slug):
        slug = f"{base}-{secrets.token_hex(3)}"
    return slug


def workspace_slug_clean(*, workspace: Workspace, slug: str) -> str:
    """The slug as it will be stored, or a ValidationError saying what to change."""
    slug = slug.strip().lower()
    if not (SLUG_MIN <= len(slug) <= SLUG_MAX) or not SLUG_RE.match(slug):
        raise ValidationError(
            {
                "slug": _(
                    "Use %(min)d to %(max)d lowercase Latin letters, digits and single hyphens "
                    "(for example “cicek-market”)."
                )
                % {"min": SLUG_MIN, "max": SLUG_MAX}
            }
        )
    if _slug_taken(slug, workspace=workspace):
        raise ValidationError({"slug": _("This address is taken. Choose another one.")})
    return slug


@transaction.atomic
def workspace_change_slug(
    *, workspace: Workspace, actor: User, slug: str, ip: str | None = None
) -> Workspace:
    """Move the workspace to a new address. The old slug becomes a redirect so bookmarks
    and links in e-mails keep working for members; going back to a former slug takes it back
    from the redirects."""
    locked = Workspace.objects.select_for_update().get(pk=workspace.pk)
    slug = workspace_slug_clean(workspace=locked, slug=slug)
    old = locked.slug
    if slug == old:
        return locked
    try:
        with transaction.atomic():
            WorkspaceSlugRedirect.objects.filter(workspace=locked, slug=slug).delete()
            WorkspaceSlugRedirect.objects.create(workspace=locked, slug=old)
            locked.slug = slug
            locked.save(update_fields=["slug"])
    except IntegrityError as exc:  # taken by a concurrent change in the meantime
        raise ValidationError({"slug": _("This address is taken. Choose another one.")}) from exc
    audit_record(
        workspace=locked,
        action="workspace.slug_changed",
        actor=actor,
        target=locked,
        ip=ip,
        details={"changed": {"slug": [old, slug]}},
    )
    workspace.slug = slug
    return locked


@transaction.atomic
def workspace_create(*, name: str, owner: User, ip: str | None = None) -> Workspace:
    workspace = Workspace(name=name.strip() or owner.email, slug=_unique_slug(name))
    workspace.full_clean()
    workspace.save()
    Membership.objects.create(workspace=workspace, user=owner, role=Role.OWNER)
    audit_record(
        workspace=workspace, action="workspace.created", actor=owner, target=workspace, ip=ip
    )
    return workspace


@transaction.atomic
def user_complete_signup(
    *,
    user: User,
    first_name: str,
    last_name: str,
    company_name: str,
    phone: str,
    ip: str | None,
    user_agent: str = "",
    language: str = "",
    invitation: Invitation | None = None,
) -> Workspace | None:
    """Finish a sign-up: profile, the 18+ and policy acceptances (with versions and IP) and
    the user's first workspace, which they own. ``language`` is the one the sign-up page was
    read in: it becomes the user's language, so their e-mails are written in it too.

    A person who signs up from an open invitation to their address (``invitation``) gets no
    workspace of their own: they join the inviting one when they accept the invitation,
    after verifying the address. Returns the new workspace, or None for them."""
    user.language = language if language in dict(settings.LANGUAGES) else ""
    user.first_name = first_name
    user.last_name = last_name
    user.company_name = company_name
    user.phone = phone
    user.confirmed_adult_at = timezone.now()
    user.save(
        update_fields=[
            "first_name",
            "last_name",
            "company_name",
            "phone",
            "confirmed_adult_at",
            "language",
        ]
    )
    signup_completed.send(sender=User, user=user, ip=ip, user_agent=user_agent)
    if (
        invitation is not None
        and invitation.is_open
        and invitation.email.lower() == user.email.lower()
    ):
        audit_record(workspace=None, action="user.signed_up", actor=user, target=user, ip=ip)
        return None
    workspace = workspace_create(name=company_name or user.get_full_name(), owner=user, ip=ip)
    audit_record(workspace=workspace, action="user.signed_up", actor=user, target=user, ip=ip)
    return workspace


@transaction.atomic
def user_update_profile(
    *, user: User, first_name: str, last_name: str, company_name: str, phone: str
) -> User:
    user.first_name, user.last_name = first_name, last_name
    user.company_name, user.phone = company_name, phone
    user.full_clean(exclude=["password"])
    user.save(update_fields=["first_name", "last_name", "company_name", "phone"])
    return user


@transaction.atomic
def user_set_language(*, user: User, language: str) -> User:
    """Save the language the user reads pages and e-mails in ("" returns to the browser's)."""
    if language and language not in dict(settings.LANGUAGES):
        raise ValidationError({"language": _("Choose one of the offered languages.")})
    if user.language != language:
        user.language = language
        user.save(update_fields=["language"])
    return user


@transaction.atomic
def workspace_update_settings(
    *,
    workspace: Workspace,
    actor: User,
    name: str,
    time_zone: str,
    default_country: str,
    contact_language: str | None = None,
    opt_out_confirmation: bool | None = None,
    ip: str | None = None,
) -> Workspace:
    fields = ["name", "time_zone", "default_country", "contact_language", "opt_out_confirmation"]
    before = {k: getattr(workspace, k) for k in fields}
    workspace.name, workspace.time_zone, workspace.default_country = (
        name,
        time_zone,
        default_country,
    )
    if contact_language is not None:
        workspace.contact_language = contact_language
    if opt_out_confirmation is not None:
        workspace.opt_out_confirmation = opt_out_confirmation
    workspace.full_clean()
    workspace.save(update_fields=fields)
    after = {k: getattr(workspace, k) for k in fields}
    changed = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
    audit_record(
        workspace=workspace,
        action="workspace.settings_changed",
        actor=actor,
        target=workspace,
        ip=ip,
        details={"changed": changed},
    )
    return workspace


@transaction.atomic
def workspace_set_message_retention(
    *,
    workspace: Workspace,
    actor_membership: Membership,
    days: int,
    ip: str | None = None,
) -> Workspace:
    """The owner chooses how many days message texts (sent and received) are kept (privacy
    policy §7): between MESSAGE_RETENTION_MIN_DAYS and MESSAGE_RETENTION_MAX_DAYS. The next
    retention run purges by the new period. Only an owner may change it (PermissionDenied
    otherwise); a value out of bounds is a ValidationError on `message_retention_days`."""
    if actor_membership.workspace_id != workspace.pk or actor_membership.role != Role.OWNER:
        raise PermissionDenied(_("Only an owner can change how long message texts are kept."))
    if not MESSAGE_RETENTION_MIN_DAYS <= days <= MESSAGE_RETENTION_MAX_DAYS:
        raise ValidationError(
            {
                "message_retention_days": _("Choose between %(min)d and %(max)d days.")
                % {"min": MESSAGE_RETENTION_MIN_DAYS, "max": MESSAGE_RETENTION_MAX_DAYS}
            }
        )
    locked = Workspace.objects.select_for_update().get(pk=workspace.pk)
    before = locked.message_text_retention_days
    if locked.message_retention_days == days:
        return locked
    locked.message_retention_days = days
    locked.full_clean()
    locked.save(update_fields=["message_retention_days"])
    audit_record(
        workspace=locked,
        action="workspace.retention_changed",
        actor=actor_membership.user,
        target=locked,
        ip=ip,
        details={"days_before": before, "days_after": days},
    )
    return locked


@transaction.atomic
def workspace_suspend(*, workspace: Workspace, actor: User | None, reason: str) -> Workspace:
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": _("Give the reason for the suspension.")})
    locked = Workspace.objects.select_for_update().get(pk=workspace.pk)
    locked.status = Workspace.Status.SUSPENDED
    locked.suspended_reason = reason
    locked.suspended_at = timezone.now()
    locked.save(update_fields=["status", "suspended_reason", "suspended_at"])
    audit_record(
        workspace=locked,
        action="workspace.suspended",
        actor=actor,
        target=locked,
        details={"reason": reason},
    )
    # Its running campaigns pause with the reason (the engine claims nothing of a suspended
    # workspace either way: issue #17 F2).
    workspace_suspended.send(sender=Workspace, workspace=locked)
    notify(
        workspace=locked,
        kind="workspace.suspended",
        text=gettext_noop("Your workspace %(name)s was suspended: %(reason)s"),
        params={"name": locked.name, "reason": reason},
    )
    return locked


@transaction.atomic
def workspace_restore(*, workspace: Workspace, actor: User | None, reason: str = "") -> Workspace:
    locked = Workspace.objects.select_for_update().get(pk=workspace.pk)
    previous_reason = locked.suspended_reason
    locked.status = Workspace.Status.ACTIVE
    locked.suspended_reason = ""
    locked.suspended_at = None
    locked.save(update_fields=["status", "suspended_reason", "suspended_at"])
    audit_record(
        workspace=locked,
        action="workspace.restored",
        actor=actor,
        target=locked,
        details={"reason": reason, "was_suspended_for": previous_reason},
    )
    # The campaigns the suspension paused resume once this commits (only those).
    workspace_restored.send(sender=Workspace, workspace=locked)
    notify(
        workspace=locked,
        kind="workspace.restored",
        text=gettext_noop("Your workspace %(name)s is active again."),
        params={"name": locked.name},
    )
    return locked


def workspace_ensure_can_send(*, workspace: Workspace) -> None:
    """Every sending path calls this first: a suspended workspace sends nothing."""
    current = Workspace.objects.only("status", "suspended_reason").get(pk=workspace.pk)
    if current.is_suspended:
        raise WorkspaceSuspended(current)


# --- team ---------------------------------------------------------------------------------


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _ensure_may_grant(*, actor_membership: Membership, role: str) -> None:
    # Only an owner may create, change or remove owners.
    if not role_may_grant(actor_membership.role, role):
        raise PermissionDenied(_("Only an owner can grant or change the owner role."))


@transaction.atomic
def invitation_create(
    *,
    workspace: Workspace,
    actor_membership: Membership,
    email: str,
    role: str,
    ip: str | None = None,
) -> tuple[Invitation, str]:
    """Invite an address to the workspace; returns the invitation and the one-time token.
    Re-inviting an address replaces its open invitation."""
    email = email.strip().lower()
    if role not in Role.values:
        raise ValidationError({"role": _("Choose a valid role.")})
    _ensure_may_grant(actor_membership=actor_membership, role=role)
    if Membership.objects.filter(workspace=workspace, user__email__iexact=email).exists():
        raise ValidationError({"email": _("%(email)s is already a member.") % {"email": email}})
    Invitation.objects.filter(
        workspace=workspace, email=email, accepted_at__isnull=True, revoked_at__isnull=True
    ).update(revoked_at=timezone.now())
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        workspace=workspace,
        email=email,
        role=role,
        token_hash=_hash_token(token),
        invited_by=actor_membership.user,
        expires_at=timezone.now() + settings.INVITATION_TTL,
    )
    audit_record(
        workspace=workspace,
        action="team.invited",
        actor=actor_membership.user,
        target=invitation,
        ip=ip,
        details={"email": email, "role": role},
    )
    email_send_on_commit(
        to=[email],
        template="invitation",
        context={
            "workspace": workspace.name,
            "inviter": actor_membership.user.display_name,
            "role": str(Role(role).label),
            "link": absolute_url(reverse("accounts:invitation_accept", args=[token])),
            "days": settings.INVITATION_TTL.days,
        },
    )
    return invitation, token


def invitation_find_open(*, token: str) -> Invitation | None:
    invitation = (
        Invitation.objects.select_related("workspace").filter(token_hash=_hash_token(token)).first()
    )
    if invitation is None or not invitation.is_open:
        return None
    return invitation


@transaction.atomic
def invitation_accept(*, token: str, user: User, ip: str | None = None) -> Membership:
    invitation = (
        Invitation.objects.select_for_update().filter(token_hash=_hash_token(token)).first()
    )
    if invitation is None or not invitation.is_open:
        raise ValidationError(_("This invitation has expired or was already used."))
    if invitation.email.lower() != user.email.lower():
        raise ValidationError(
            _("This invitation was sent to %(email)s; sign in with that address to accept it.")
            % {"email": invitation.email}
        )
    membership, _created = Membership.objects.get_or_create(
        workspace=invitation.workspace, user=user, defaults={"role": invitation.role}
    )
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    audit_record(
        workspace=invitation.workspace,
        action="team.joined",
        actor=user,
        target=membership,
        ip=ip,
        details={"role": membership.role},
    )
    return membership


@transaction.atomic
def invitation_revoke(
    *, workspace: Workspace, actor: User, invitation: Invitation, ip: str | None = None
) -> None:
    if invitation.workspace_id != workspace.pk:
        raise PermissionDenied
    Invitation.objects.filter(pk=invitation.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    audit_record(
        workspace=workspace, action="team.invitation_revoked", actor=actor, target=invitation, ip=ip
    )


def _ensure_owner_remains(*, workspace: Workspace, leaving: Membership) -> None:
    if leaving.role != Role.OWNER:
        return
    owners = (
        Membership.objects.select_for_update()
        .filter(workspace=workspace, role=Role.OWNER)
        .exclude(pk=leaving.pk)
    )
    if not owners.exists():
        raise ValidationError(
            _("A workspace needs at least one owner. Make someone else owner first.")
        )


@transaction.atomic
def membership_change_role(
    *,
    workspace: Workspace,
    actor_membership: Membership,
    membership: Membership,
    role: str,
    ip: str | None = None,
) -> Membership:
    if membership.workspace_id != workspace.pk:
        raise PermissionDenied
    if role not in Role.values:
        raise ValidationError({"role": _("Choose a valid role.")})
    _ensure_may_grant(actor_membership=actor_membership, role=role)
    _ensure_may_grant(actor_membership=actor_membership, role=membership.role)
    if role != Role.OWNER:
        _ensure_owner_remains(workspace=workspace, leaving=membership)
    previous = membership.role
    membership.role = role
    membership.save(update_fields=["role"])
    audit_record(
        workspace=workspace,
        action="team.role_changed",
        actor=actor_membership.user,
        target=membership,
        ip=ip,
        details={"from": previous, "to": role},
    )
    if not role_has(role, Perm.API_KEYS_MANAGE):
        _member_keys_revoke(
            workspace=workspace, member=membership.user, actor=actor_membership.user, ip=ip
        )
    return membership


@transaction.atomic
def membership_remove(
    *,
    workspace: Workspace,
    actor_membership: Membership,
    membership: Membership,
    ip: str | None = None,
) -> None:
    if membership.workspace_id != workspace.pk:
        raise PermissionDenied
    _ensure_may_grant(actor_membership=actor_membership, role=membership.role)
    _ensure_owner_remains(workspace=workspace, leaving=membership)
    audit_record(
        workspace=workspace,
        action="team.removed",
        actor=actor_membership.user,
        target=membership,
        ip=ip,
        details={"email": membership.user.email, "role": membership.role},
    )
    _member_keys_revoke(
        workspace=workspace, member=membership.user, actor=actor_membership.user, ip=ip
    )
    membership.delete()


def _member_keys_revoke(
    *, workspace: Workspace, member: User, actor: User | None, ip: str | None = None
) -> int:
    """A member left the workspace (or can no longer manage keys): the keys they created
    stop working at once and the owners are told which. A key is the creator's credential;
    one that outlived its creator's membership would let a removed admin keep using the
    workspace (issue #17 F6)."""
    keys = list(
        ApiKey.objects.select_for_update().filter(
            workspace=workspace, created_by=member, revoked_at__isnull=True
        )
    )
    if not keys:
        return 0
    ApiKey.objects.filter(pk__in=[k.pk for k in keys]).update(revoked_at=timezone.now())
    for key in keys:
        audit_record(
            workspace=workspace,
            action="api_key.revoked",
            actor=actor,
            target=key,
            ip=ip,
            details={"reason": "creator_left", "creator": member.email},
        )
    notify(
        workspace=workspace,
        kind="api_key.revoked_creator_left",
        text=gettext_noop(
            "API keys created by %(email)s were revoked because they no longer manage this "
            "workspace's keys: %(names)s. Programs using them stop working; create new keys "
            "if you still need them."
        ),
        params={"email": member.email, "names": ", ".join(k.name for k in keys)},
        link=reverse("accounts:developers", args=[workspace.slug]),
    )
    return len(keys)


# --- API keys -----------------------------------------------------------------------------

API_KEY_PREFIX = "isk_"


def api_key_hash(secret: str) -> str:
    # The secret has 256 bits of entropy, so a fast hash is safe and keeps auth cheap.
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def api_key_create(
    *,
    workspace: Workspace,
    actor: User,
    name: str,
    scopes: list[str],
    expires_at: datetime | None = None,
    ip: str | None = None,
) -> tuple[ApiKey, str]:
    """Create a key and return it with its full secret, which is never shown again."""
    unknown = sorted(set(scopes) - set(API_SCOPES))
    if unknown:
        raise ValidationError({"scopes": _("Unknown scopes: %(s)s") % {"s": ", ".join(unknown)}})
    if not scopes:
        raise ValidationError({"scopes": _("Choose at least one scope.")})
    if not name.strip():
        raise ValidationError({"name": _("Give the key a name.")})
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": _("The expiry must be in the future.")})
    for _attempt in range(5):
        prefix = secrets.token_hex(4)
        secret = f"{API_KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
        try:
            with transaction.atomic():
                key = ApiKey.objects.create(
                    workspace=workspace,
                    name=name.strip(),
                    prefix=prefix,
                    key_hash=api_key_hash(secret),
                    scopes=sorted(set(scopes)),
                    created_by=actor,
                    expires_at=expires_at,
                )
            break
        except IntegrityError:  # prefix collision: draw again
            continue
    else:  # pragma: no cover - 2^32 prefixes
        raise RuntimeError("could not allocate an API key prefix")
    audit_record(
        workspace=workspace,
        action="api_key.created",
        actor=actor,
        target=key,
        ip=ip,
        details={
            "scopes": key.scopes,
            "expires_at": expires_at.isoformat() if expires_at else None,
        },
    )
    return key, secret


@transaction.atomic
def api_key_revoke(
    *, workspace: Workspace, actor: User, api_key: ApiKey, ip: str | None = None
) -> ApiKey:
    if api_key.workspace_id != workspace.pk:
        raise PermissionDenied
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
        audit_record(
            workspace=workspace, action="api_key.revoked", actor=actor, target=api_key, ip=ip
        )
    return api_key


def api_key_authenticate(*, secret: str) -> ApiKey | None:
    """Find the usable key for a presented secret, or None. Constant-time hash comparison."""
    if not secret.startswith(API_KEY_PREFIX):
        return None
    prefix = secret[len(API_KEY_PREFIX) :].split("_", 1)[0]
    key = ApiKey.objects.select_related("workspace").filter(prefix=prefix).first()
    if key is None or not secrets.compare_digest(key.key_hash, api_key_hash(secret)):
        return None
    if not key.is_usable:
        return None
    now = timezone.now()
    # Throttle the write: a busy key would otherwise update its row on every request.
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key


# --- login events -------------------------------------------------------------------------


def login_event_record(
    *, request: HttpRequest | None, user: User | None, email: str, success: bool
) -> LoginEvent:
    ua = request.META.get("HTTP_USER_AGENT", "") if request is not None else ""
    parsed = parse_user_agent(ua)
    return LoginEvent.objects.create(
        user=user,
        email_attempted=email[:254],
        success=success,
        ip=client_ip(request),
        user_agent=ua[:1000],
        browser=parsed.browser,
        os=parsed.os,
        device_type=parsed.device_type,
    )


def notification_mark_read(*, user: User, workspace: Workspace | None) -> int:
    """Mark every notice this user sees as read, for this user only: personal notices on
    their row, the workspace's shared notices in NotificationRead (the other members still
    see them unread). Bulk writes; safe to repeat. Returns how many became read."""
    now = timezone.now()
    with transaction.atomic():
        count = Notification.objects.filter(user=user, read_at__isnull=True).update(read_at=now)
        if workspace is not None:
            unread_ids = list(
                Notification.objects.filter(workspace=workspace, user__isnull=True)
                .exclude(reads__user=user)
                .values_list("pk", flat=True)
            )
            NotificationRead.objects.bulk_create(
                [NotificationRead(notification_id=pk, user=user, read_at=now) for pk in unread_ids],
                ignore_conflicts=True,
            )
            count += len(unread_ids)
    return count


# --- sessions, devices and "this wasn't me" ---------------------------------------------------
#
# Issue 17, item 3 (the terms ask users to report unauthorised use, seed 001 §3.3). A device
# is a browser recognised by a long-lived signed cookie holding a random id (see KnownDevice
# for why not the user-agent). The middleware (accounts/middleware.py) sets the cookie and
# keeps "last seen" fresh at most once a minute.

DEVICE_COOKIE = "isend_device"
DEVICE_COOKIE_SALT = "accounts.device"
DEVICE_COOKIE_AGE = 60 * 60 * 24 * 400  # about the longest browsers keep a cookie
NOT_ME_SALT = "accounts.not-me"
NOT_ME_MAX_AGE = 60 * 60 * 24 * 7  # the "This wasn't me" link in the e-mail works a week
SESSION_SEEN_KEY = "_isend_seen"
SESSION_SEEN_INTERVAL = 60  # seconds between two "last seen" writes of one session
#: Set on the request when the sign-in gave the browser a new device id; the middleware
#: writes the cookie on the response.
NEW_DEVICE_ATTR = "_isend_new_device_id"


def _device_hash(device_id: str) -> str:
    return hashlib.sha256(f"device:{device_id}".encode()).hexdigest()


def device_id_of_request(request: HttpRequest) -> str | None:
    """The browser's device id from its signed cookie, or None (absent or tampered with)."""
    value = request.get_signed_cookie(DEVICE_COOKIE, default=None, salt=DEVICE_COOKIE_SALT)
    return value or None


def _session_key_of(request: HttpRequest) -> str:
    session = request.session
    if not session.session_key:
        session.save()
    return str(session.session_key)


def not_me_token_make(*, user: User, login_event: LoginEvent | None) -> str:
    """A signed, expiring token for the "This wasn't me" link (holds no secret; the signature
    is the credential)."""
    from django.core import signing

    return signing.dumps(
        {"u": str(user.public_id), "e": login_event.pk if login_event else None}, salt=NOT_ME_SALT
    )


def not_me_token_read(token: str) -> tuple[User, LoginEvent | None] | None:
    """The user and sign-in a "This wasn't me" token names, or None when it is forged,
    expired or its user is gone."""
    from django.core import signing

    try:
        data = signing.loads(token, salt=NOT_ME_SALT, max_age=NOT_ME_MAX_AGE)
    except signing.BadSignature:  # SignatureExpired is a BadSignature
        return None
    if not isinstance(data, dict) or not isinstance(data.get("u"), str):
        return None
    user = User.objects.filter(public_id=data["u"]).first()
    if user is None:
        return None
    event_id = data.get("e")
    event = (
        LoginEvent.objects.filter(pk=event_id, user=user).first()
        if isinstance(event_id, int)
        else None
    )
    return user, event


@transaction.atomic
def user_session_start(
    *, request: HttpRequest, user: User, login_event: LoginEvent | None
) -> UserSession:
    """Record a sign-in's session and device. A device the user never signed in from gets the
    new-device e-mail (once: the device row is unique per user, so two concurrent sign-ins
    from it send one), except on the very first sign-in of an account (its sign-up). The
    e-mail is in the language of the sign-in page (users have no language setting)."""
    from django.utils import translation

    now = timezone.now()
    device_id = device_id_of_request(request)
    if device_id is None:
        device_id = secrets.token_urlsafe(32)
        setattr(request, NEW_DEVICE_ATTR, device_id)
    ua = request.META.get("HTTP_USER_AGENT", "")
    parsed = parse_user_agent(ua)
    device, created = KnownDevice.objects.get_or_create(
        user=user,
        device_hash=_device_hash(device_id),
        defaults={"browser": parsed.browser, "os": parsed.os, "first_seen_at": now},
    )
    if not created:
        KnownDevice.objects.filter(pk=device.pk).update(last_seen_at=now)
    session_key = _session_key_of(request)
    session, _created = UserSession.objects.update_or_create(
        session_key=session_key,
        defaults={
            "user": user,
            "device": device,
            "login_event": login_event,
            "ip": client_ip(request),
            "user_agent": ua[:1000],
            "browser": parsed.browser,
            "os": parsed.os,
            "device_type": parsed.device_type,
            "created_at": now,
            "last_seen_at": now,
        },
    )
    request.session[SESSION_SEEN_KEY] = now.timestamp()
    earlier = LoginEvent.objects.filter(user=user, success=True)
    if login_event is not None:
        earlier = earlier.exclude(pk=login_event.pk)
    earlier_sign_in = earlier.exists()
    if created and earlier_sign_in:
        _new_device_email(user=user, session=session, language=translation.get_language())
    return session


def _new_device_email(*, user: User, session: UserSession, language: str | None) -> None:
    from django.utils import formats, translation

    with translation.override(language):
        when = formats.date_format(session.created_at, "DATETIME_FORMAT")
    email_send_on_commit(
        to=[user.email],
        template="security_new_device",
        language=language,
        context={
            "browser": session.browser or "?",
            "os": session.os or "?",
            "ip": session.ip or "?",
            "when": f"{when} UTC",
            "not_me_url": absolute_url(
                reverse(
                    "accounts:security_not_me",
                    args=[not_me_token_make(user=user, login_event=session.login_event)],
                )
            ),
            "sessions_url": absolute_url(reverse("accounts:sessions")),
        },
    )


def user_session_touch(*, request: HttpRequest, user: User) -> None:
    """Refresh the session's "last seen" (the middleware calls this at most once a minute per
    session). A session from before sessions were recorded gets its row now."""
    now = timezone.now()
    session_key = _session_key_of(request)
    updated = UserSession.objects.filter(session_key=session_key, user=user).update(
        last_seen_at=now, ip=client_ip(request)
    )
    if not updated:
        ua = request.META.get("HTTP_USER_AGENT", "")
        parsed = parse_user_agent(ua)
        UserSession.objects.get_or_create(
            session_key=session_key,
            defaults={
                "user": user,
                "ip": client_ip(request),
                "user_agent": ua[:1000],
                "browser": parsed.browser,
                "os": parsed.os,
                "device_type": parsed.device_type,
                "last_seen_at": now,
            },
        )
    request.session[SESSION_SEEN_KEY] = now.timestamp()


def user_session_forget(*, session_key: str | None) -> None:
    """On sign-out: the session's row goes with it."""
    if session_key:
        UserSession.objects.filter(session_key=session_key).delete()


def _session_store_delete(session_keys: list[str]) -> None:
    """End sessions for real: delete their keys from the session store, so the next request
    with one of those cookies is anonymous. One statement for the database store."""
    if not session_keys:
        return
    from importlib import import_module

    if settings.SESSION_ENGINE == "django.contrib.sessions.backends.db":
        from django.contrib.sessions.models import Session

        Session.objects.filter(session_key__in=session_keys).delete()
        return
    store_class = import_module(settings.SESSION_ENGINE).SessionStore
    for key in session_keys:  # cache stores: one round trip per key, no query
        store_class().delete(key)


@transaction.atomic
def user_session_sign_out(*, user: User, session: UserSession, ip: str | None = None) -> None:
    """Sign one of the user's sessions out (from "Sessions and devices")."""
    if session.user_id != user.pk:
        raise PermissionDenied
    _session_store_delete([session.session_key])
    UserSession.objects.filter(pk=session.pk).delete()
    audit_record(
        workspace=None,
        action="account.session_signed_out",
        actor=user,
        ip=ip,
        details={"browser": session.browser, "os": session.os, "session_ip": session.ip or ""},
    )


@transaction.atomic
def user_sessions_sign_out_others(
    *, user: User, current_session_key: str, ip: str | None = None
) -> int:
    """Sign out every session of the user but this one. Returns how many ended."""
    others = (
        UserSession.objects.select_for_update()
        .filter(user=user)
        .exclude(session_key=current_session_key)
    )
    keys = list(others.values_list("session_key", flat=True))
    _session_store_delete(keys)
    UserSession.objects.filter(session_key__in=keys).delete()
    audit_record(
        workspace=None,
        action="account.sessions_signed_out_elsewhere",
        actor=user,
        ip=ip,
        details={"count": len(keys)},
    )
    return len(keys)


@transaction.atomic
def security_report_open(
    *,
    user: User,
    login_event: LoginEvent | None,
    source: str,
    ip: str | None = None,
    request: HttpRequest | None = None,
) -> SecurityReport:
    """ "This wasn't me": sign out every session of the user (this one too), make the password
    unusable (the old one no longer signs in; the user sets a new one from the reset e-mail,
    sent after commit), forget the known devices (every browser is new again, so the next
    sign-in anywhere is announced), and open a report staff follow up in admin. Serialised
    per user by the user's row lock; a second click on the same link finds the open report
    and changes nothing more."""
    locked = User.objects.select_for_update().get(pk=user.pk)
    existing = SecurityReport.objects.filter(
        user=locked, login_event=login_event, status=SecurityReport.Status.OPEN
    ).first()
    if existing is not None and login_event is not None:
        return existing
    keys = list(UserSession.objects.filter(user=locked).values_list("session_key", flat=True))
    _session_store_delete(keys)
    UserSession.objects.filter(user=locked).delete()
    KnownDevice.objects.filter(user=locked).delete()
    locked.set_unusable_password()
    locked.save(update_fields=["password"])
    report = SecurityReport.objects.create(
        user=locked,
        login_event=login_event,
        source=source,
        reported_from_ip=ip,
        sessions_ended=len(keys),
    )
    audit_record(
        workspace=None,
        action="account.security_report_opened",
        actor=locked,
        target=report,
        ip=ip,
        details={
            "sessions_ended": len(keys),
            "source": source,
            "login_ip": (login_event.ip or "") if login_event else "",
        },
    )
    if request is not None:
        transaction.on_commit(lambda: _password_reset_send(request=request, user=locked))
    return report


def _password_reset_send(*, request: HttpRequest, user: User) -> None:
    """allauth's own password-reset e-mail (its token, its key URL), as if the user had asked
    for it on the reset page."""
    from allauth.account.internal.flows.password_reset import request_password_reset
    from allauth.core import context

    with context.request_context(request):
        request_password_reset(request, user.email, [user], None)
