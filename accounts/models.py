"""Users, workspaces (the tenant), memberships and roles, invitations, API keys, and the
records the privacy policy promises: login events and an audit trail."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.contrib.postgres.fields import ArrayField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext, ngettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from accounts.permissions import Role
from accounts.validators import validate_e164


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra: object) -> User:
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: object) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: object) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra)


class User(AbstractUser):
    """A person who signs in. The e-mail address is the login; there is no username."""

    username = None  # type: ignore[assignment]
    email = models.EmailField(_("e-mail address"), unique=True)
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    phone = models.CharField(_("phone"), max_length=20, blank=True, validators=[validate_e164])
    company_name = models.CharField(_("company name"), max_length=200, blank=True)
    confirmed_adult_at = models.DateTimeField(_("confirmed 18 or older at"), null=True, blank=True)
    deactivated_at = models.DateTimeField(null=True, blank=True)
    # The interface and e-mail language the user chose ("" until they choose: the browser's
    # Accept-Language decides until then, and e-mails go out in the site's default).
    language = models.CharField(
        _("language"), max_length=8, blank=True, default="", choices=settings.LANGUAGES
    )

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    objects = UserManager()  # type: ignore[assignment,misc]

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.email

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.email


#: The retention period an owner may choose for message texts, in days (privacy policy §7).
MESSAGE_RETENTION_MIN_DAYS = 30
MESSAGE_RETENTION_MAX_DAYS = 730


class Workspace(models.Model):
    """The tenant. Every tenant-owned row points at one workspace."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        SUSPENDED = "suspended", _("Suspended")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField(_("slug"), max_length=60, unique=True)
    time_zone = models.CharField(_("time zone"), max_length=64, default="Asia/Baku")
    default_country = models.CharField(_("default country"), max_length=2, default="AZ")
    # The language of what the product itself writes to this workspace's contacts (opt-out
    # confirmations, automation replies) when a contact has no language of their own.
    contact_language = models.CharField(
        _("contacts' language"), max_length=8, default="az", choices=settings.LANGUAGES
    )
    # Answer a contact's STOP with one message confirming it (costs one credit).
    opt_out_confirmation = models.BooleanField(_("confirm opt-outs"), default=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    suspended_reason = models.TextField(blank=True)
    suspended_at = models.DateTimeField(null=True, blank=True)
    # Days message texts (sent and received) are kept; empty: the platform's period
    # (settings.MESSAGE_TEXT_RETENTION_DAYS), so a change of that default reaches every
    # workspace whose owner never chose.
    message_retention_days = models.PositiveSmallIntegerField(
        _("keep message texts for (days)"),
        null=True,
        blank=True,
        validators=[
            MinValueValidator(MESSAGE_RETENTION_MIN_DAYS),
            MaxValueValidator(MESSAGE_RETENTION_MAX_DAYS),
        ],
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("workspace")
        verbose_name_plural = _("workspaces")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_suspended(self) -> bool:
        return self.status == self.Status.SUSPENDED

    @property
    def message_text_retention_days(self) -> int:
        """The period in force: the owner's choice, else the platform's default."""
        return self.message_retention_days or int(settings.MESSAGE_TEXT_RETENTION_DAYS)


class WorkspaceSlugRedirect(models.Model):
    """An address a workspace answered to before its owner changed the slug. Old links keep
    working for members (a redirect to the same page under the new slug); anyone else gets the
    404 a slug that never existed gets. A slug is either a workspace's or one redirect's, never
    both, so an old link can never land in somebody else's workspace."""

    slug = models.SlugField(_("slug"), max_length=60, unique=True)
    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="slug_redirects"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("former workspace address")
        verbose_name_plural = _("former workspace addresses")

    def __str__(self) -> str:
        return self.slug


class Membership(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    # The team inbox: the numbers (their ids) whose conversations this member sees; empty:
    # every number. Owners and admins always see all (the inbox applies it to the others).
    inbox_sender_ids = ArrayField(models.BigIntegerField(), default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "user"], name="membership_unique_user")
        ]
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.user} @ {self.workspace} ({self.role})"


class Invitation(models.Model):
    """An e-mailed link that adds its holder to a workspace. Only the token's hash is stored."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # One open invitation per address and workspace; re-inviting replaces it.
            models.UniqueConstraint(
                fields=["workspace", "email"],
                condition=Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="invitation_one_open_per_email",
            )
        ]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.email} -> {self.workspace}"

    @property
    def is_open(self) -> bool:
        return (
            self.accepted_at is None
            and self.revoked_at is None
            and self.expires_at > timezone.now()
        )


class ApiKey(models.Model):
    """A workspace's key for the REST API. The secret is shown once; only its hash is kept."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64)
    scopes = models.JSONField(default=list)
    created_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["workspace", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_usable(self) -> bool:
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or self.expires_at > timezone.now()


class LoginEvent(models.Model):
    """Every sign-in attempt, successful or not (the privacy policy promises this audit)."""

    user = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.CASCADE, related_name="login_events"
    )
    email_attempted = models.CharField(max_length=254, blank=True)
    success = models.BooleanField()
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.TextField(blank=True)
    browser = models.CharField(max_length=80, blank=True)
    os = models.CharField(max_length=80, blank=True)
    device_type = models.CharField(max_length=16, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        outcome = "ok" if self.success else "failed"
        return f"{self.email_attempted or self.user_id} {outcome} {self.created_at:%Y-%m-%d %H:%M}"


class AuditEvent(models.Model):
    """Who did what to which object, when and from where. Written only by `audit_record`."""

    workspace = models.ForeignKey(
        Workspace, null=True, blank=True, on_delete=models.CASCADE, related_name="audit_events"
    )
    actor_user = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_api_key = models.ForeignKey(
        ApiKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=254, blank=True)
    action = models.CharField(max_length=80, db_index=True)
    target_type = models.CharField(max_length=80, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    target_repr = models.CharField(max_length=254, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["workspace", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.action} by {self.actor_label} at {self.created_at:%Y-%m-%d %H:%M}"


class Notification(models.Model):
    """An in-app notice for one user or a whole workspace; e-mailed on commit by `notify`."""

    workspace = models.ForeignKey(
        Workspace, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    user = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=40)
    # The notice in the site's default language (admin, exports). With `message` set, every
    # reader sees `message` (a msgid) translated into their own language with `params`.
    text = models.TextField()
    message = models.TextField(blank=True, default="")
    params = models.JSONField(blank=True, default=dict)
    link = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    # A personal notice's read time. Workspace-wide notices are read per user: NotificationRead.
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(workspace__isnull=False) | Q(user__isnull=False),
                name="notification_has_audience",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind}: {self.text[:40]}"

    @property
    def display_text(self) -> str:
        """The notice in the active language (the reader's)."""
        return notice_render(self.message, self.params) if self.message else self.text


#: The key of a notice's params that holds its plural msgid and the name of the number that
#: picks the form (see `PluralNotice`); the sentence's %-placeholders never use it.
PLURAL_PARAM = "_plural"


@dataclass(frozen=True)
class PluralNotice:
    """A notice sentence with plural forms ("1 invalid row", "2 invalid rows"), kept as msgids
    like a `gettext_noop` sentence and translated for each reader with `ngettext`.

    Build it with `PluralNotice.ngettext(singular, plural, count)`: nothing is translated
    there, but xgettext's default `ngettext` keyword matches that call too, so makemessages
    extracts the pair as one plural entry (a `gettext_noop` pair would be two unrelated
    entries that `ngettext` never finds). `count` names the parameter that picks the form."""

    singular: str
    plural: str
    count: str

    @staticmethod
    def ngettext(singular: str, plural: str, count: str) -> PluralNotice:
        return PluralNotice(singular=singular, plural=plural, count=count)


def notice_render(message: str, params: dict[str, object]) -> str:
    """A notice's msgid translated into the active language, with its parameters (a plural
    sentence picks its form from them, see `PluralNotice`). A translation that does not fit
    its parameters falls back to the English sentence."""
    plural = params.get(PLURAL_PARAM)
    if isinstance(plural, list) and len(plural) == 2:
        msgid_plural, count = plural
        number = params.get(count)
        number = number if isinstance(number, int) else 0
        english = message if number == 1 else msgid_plural
        try:
            return ngettext(message, msgid_plural, number) % params
        except (KeyError, ValueError, TypeError):
            return english % params
    try:
        return gettext(message) % params
    except (KeyError, ValueError, TypeError):
        return message % params


class NotificationRead(models.Model):
    """One user has read one workspace-wide notification (issue 17, F8: read state is each
    user's own; a viewer's "mark all read" must not hide a notice from the owner). A personal
    notification has one reader, so its own ``read_at`` is its read state."""

    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="reads")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notification_reads")
    read_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["notification", "user"], name="notification_read_once_per_user"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_id} read {self.notification_id}"


class ApiRequestLog(models.Model):
    """One API request made with a key: method, path, status, time (the privacy policy lists
    API usage logs; purged after API_LOG_RETENTION_DAYS)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    api_key = models.ForeignKey(ApiKey, null=True, on_delete=models.SET_NULL, related_name="+")
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=300)
    status = models.PositiveSmallIntegerField()
    duration_ms = models.PositiveIntegerField()
    ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["workspace", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.method} {self.path} {self.status}"


class KnownDevice(models.Model):
    """A browser the user has signed in from before, recognised by a long-lived signed cookie
    holding a random device id (only its hash is stored). A cookie, not the user-agent: the
    same browser and OS are shared by millions of people (an attacker on "Chrome on Windows"
    would pass as known) and the string changes with every browser update (false alarms).
    Clearing cookies or a private window counts as a new device, which errs on the side of
    telling the user."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="known_devices")
    device_hash = models.CharField(max_length=64)
    browser = models.CharField(max_length=80, blank=True)
    os = models.CharField(max_length=80, blank=True)
    first_seen_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "device_hash"], name="known_device_once")
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.browser} on {self.os}"


class UserSession(models.Model):
    """One signed-in session of a user, keyed by the session store's key, so "Sessions and
    devices" is a query by user (never a scan of the session store). Created on sign-in,
    "last seen" refreshed at most once a minute by `UserSessionMiddleware`, deleted on sign-out
    and when the user signs it out from the page."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="sessions")
    session_key = models.CharField(max_length=64, unique=True)
    device = models.ForeignKey(
        KnownDevice, null=True, blank=True, on_delete=models.SET_NULL, related_name="sessions"
    )
    login_event = models.ForeignKey(
        LoginEvent, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.TextField(blank=True)
    browser = models.CharField(max_length=80, blank=True)
    os = models.CharField(max_length=80, blank=True)
    device_type = models.CharField(max_length=16, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-last_seen_at"]
        indexes = [models.Index(fields=["user", "-last_seen_at"], name="accounts_usersession_user")]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.browser} on {self.os} ({self.ip})"


class SecurityReport(models.Model):
    """ "This wasn't me": the user says a sign-in was not theirs. Every session was signed out
    and the password was made unusable when it was opened; staff follow it up in admin."""

    class Status(models.TextChoices):
        OPEN = "open", pgettext_lazy("status", "Open")
        RESOLVED = "resolved", _("Resolved")

    class Source(models.TextChoices):
        EMAIL = "email", _("New-device e-mail")
        PAGE = "page", _("Sessions and devices page")

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="security_reports")
    login_event = models.ForeignKey(
        LoginEvent, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    source = models.CharField(max_length=8, choices=Source.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    reported_from_ip = models.GenericIPAddressField(null=True, blank=True)
    sessions_ended = models.PositiveIntegerField(default=0)
    staff_notes = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("security report")
        verbose_name_plural = _("security reports")

    def __str__(self) -> str:
        return f"{self.user} {self.created_at:%Y-%m-%d %H:%M} ({self.status})"
