"""Contacts, lists, segments and the tag/attribute vocabulary."""

from __future__ import annotations

import uuid

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.tenancy import WorkspaceOwned


class OptOutSource(models.TextChoices):
    KEYWORD = "keyword", _("Keyword reply (STOP)")
    BUTTON = "button", _("Button")
    MANUAL = "manual", _("Manual")
    IMPORT = "import", _("Import")
    API = "api", _("API")
    GATEWAY = "gateway", _("Gateway")


class WhatsAppStatus(models.TextChoices):
    UNKNOWN = "unknown", _("Unknown")
    VALID = "valid", _("On WhatsApp")
    INVALID = "invalid", _("Not on WhatsApp")


class CreatedVia(models.TextChoices):
    MANUAL = "manual", _("Manual")
    IMPORT = "import", _("Import")
    API = "api", _("API")
    INBOUND = "inbound", _("Inbound message")


class Contact(WorkspaceOwned):
    """A message recipient. The phone is E.164 and unique per workspace; opt-out is sticky:
    nothing but an explicit opt-in (a person's action) clears it."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    phone = models.CharField(_("phone"), max_length=20)
    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    last_name = models.CharField(_("last name"), max_length=100, blank=True)
    # "first last" folded for search (Azerbaijani letters and accents to ASCII, sh/ch/gh/kh to
    # s/c/g/x, lower case; with ə also as "a"). Written by a database trigger on every insert
    # and name change, so bulk upserts, imports and admin edits can never leave it stale;
    # searched through `contacts.selectors.contact_filter_q`. See migration 0017.
    search_text = models.TextField(editable=False, blank=True, default="", db_default="")
    language = models.CharField(_("language"), max_length=16, blank=True)
    country = models.CharField(_("country"), max_length=2, blank=True)
    time_zone = models.CharField(_("time zone"), max_length=64, blank=True)
    attributes = models.JSONField(_("attributes"), default=dict, blank=True)
    tags = ArrayField(models.CharField(max_length=64), default=list, blank=True)

    consent_source = models.CharField(_("consent source"), max_length=120, blank=True)
    consent_at = models.DateTimeField(_("consent given at"), null=True, blank=True)
    consent_proof = models.JSONField(_("consent proof"), default=dict, blank=True)

    opted_out_at = models.DateTimeField(_("opted out at"), null=True, blank=True)
    opt_out_source = models.CharField(
        _("opt-out source"), max_length=16, choices=OptOutSource.choices, blank=True
    )
    opt_out_reason = models.CharField(_("opt-out reason"), max_length=255, blank=True)

    whatsapp_status = models.CharField(
        _("WhatsApp status"),
        max_length=16,
        choices=WhatsAppStatus.choices,
        default=WhatsAppStatus.UNKNOWN,
    )
    whatsapp_error = models.CharField(_("WhatsApp error"), max_length=255, blank=True)

    created_via = models.CharField(
        max_length=16, choices=CreatedVia.choices, default=CreatedVia.MANUAL
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "phone"], name="messaging_contact_unique_phone"
            ),
        ]
        indexes = [
            GinIndex(fields=["tags"], name="messaging_contact_tags_gin"),
            # Name search (`search_text LIKE '%term%'`) without reading every row.
            GinIndex(
                fields=["search_text"],
                opclasses=["gin_trgm_ops"],
                name="messaging_contact_search_trgm",
            ),
            # Digits typed as a fragment of a number (`phone LIKE '%0123456%'`).
            GinIndex(
                fields=["phone"], opclasses=["gin_trgm_ops"], name="messaging_contact_phone_trgm"
            ),
            models.Index(fields=["workspace", "-created_at"], name="messaging_contact_ws_created"),
            # Fan-out and exports walk one workspace's contacts in id order, chunk by chunk.
            models.Index(fields=["workspace", "id"], name="messaging_contact_ws_id"),
            models.Index(
                fields=["workspace"],
                name="messaging_contact_opted_out",
                condition=models.Q(opted_out_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.full_name} {self.phone}".strip()

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def is_opted_out(self) -> bool:
        return self.opted_out_at is not None

    @property
    def is_reachable(self) -> bool:
        return self.opted_out_at is None and self.whatsapp_status != WhatsAppStatus.INVALID


class ContactVocabulary(WorkspaceOwned):
    """The tags and attribute names a workspace's contacts have used, for filter menus and
    template validation: listing them from the contacts themselves reads every row (300 ms at
    a million contacts). A trigger on `messaging_contact` adds names in the statement that
    writes them (migration 0012); `contact_vocabulary_prune` drops the ones no contact uses
    and any copies."""

    class Kind(models.TextChoices):
        TAG = "tag", _("Tag")
        ATTRIBUTE = "attribute", _("Attribute")

    kind = models.CharField(max_length=16, choices=Kind.choices)
    name = models.CharField(max_length=100)

    class Meta:
        # Not unique, on purpose: a unique index would make two transactions that introduce
        # the same new name wait for each other (and deadlock when they do it in opposite
        # orders). A name may be listed twice for a while; readers use DISTINCT and the
        # prune removes the copies.
        indexes = [
            models.Index(fields=["workspace", "kind", "name"], name="messaging_vocabulary_name")
        ]

    def __str__(self) -> str:
        return f"{self.kind}: {self.name}"


class ContactList(WorkspaceOwned):
    """A static list: membership changes only when someone adds or removes contacts."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=120)
    description = models.CharField(_("description"), max_length=255, blank=True)
    contacts: models.ManyToManyField[Contact, ContactListMembership] = models.ManyToManyField(
        Contact, through="ContactListMembership", related_name="lists", blank=True
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "name"], name="messaging_contactlist_unique_name"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ContactListMembership(WorkspaceOwned):
    contact_list = models.ForeignKey(ContactList, on_delete=models.CASCADE)
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE)
    added_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["contact_list", "contact"], name="messaging_list_member_unique"
            ),
        ]
        indexes = [models.Index(fields=["contact"], name="messaging_list_member_contact")]


class Segment(WorkspaceOwned):
    """A saved filter (see `selectors.contacts_matching`): membership is computed when read."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=120)
    filters = models.JSONField(_("filters"), default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "name"], name="messaging_segment_unique_name"
            ),
        ]

    def __str__(self) -> str:
        return self.name
