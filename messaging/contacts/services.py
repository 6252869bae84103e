"""Contact, list and segment writes. Every rule about contacts lives here.

Contract shared by all services: keyword-only arguments, `workspace` first, one transaction
each, `ValidationError` with a message per field when input is wrong (and nothing written)."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import phonenumbers
from anyascii import anyascii
from django.core.exceptions import NON_FIELD_ERRORS, EmptyResultSet, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import ApiKey, User, Workspace
from accounts.services import audit_record
from core.events import contact_opted_out_event, events_publish
from core.phones import parse_phone, phone_time_zone
from core.text import name_clean
from messaging.contacts.audience import audience_clean
from messaging.contacts.models import (
    Contact,
    ContactList,
    ContactListMembership,
    CreatedVia,
    OptOutSource,
    Segment,
    WhatsAppStatus,
)

MAX_TAG_LENGTH = 64
MAX_TAGS = 50
MAX_ATTRIBUTES = 50
MAX_ATTRIBUTE_VALUE = 500
_ATTRIBUTE_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
RESERVED_ATTRIBUTE_KEYS = frozenset(
    {"attr", "phone", "first_name", "last_name", "full_name", "language", "country", "time_zone"}
)
CONTACT_FIELDS = ("first_name", "last_name", "language", "country", "time_zone")


# --- cleaning ----------------------------------------------------------------------------------


def clean_tags(value: Any) -> list[str]:
    """Tags as stored: trimmed, distinct, sorted by code point (the SQL merge sorts the same
    way, COLLATE "C"), so re-applying the same tags never looks like a change."""
    if value in (None, ""):
        return []
    items = value.split(",") if isinstance(value, str) else list(value)
    tags = {str(item).strip()[:MAX_TAG_LENGTH] for item in items if str(item).strip()}
    return sorted(tags)


def attribute_key(raw: str) -> str:
    """A column header or API key as an attribute name usable in templates (`{{city}}`).
    Letters outside ASCII are transliterated, so "Şəhər" is `seher` and "Город" is `gorod`
    (dropping them would leave "h_r", or nothing at all)."""
    key = re.sub(r"[^a-z0-9_]+", "_", anyascii(str(raw).strip()).lower()).strip("_")
    if key and not key[0].isalpha():
        key = f"a_{key}"
    return key[:40]


def clean_attributes(value: Any) -> dict[str, Any]:
    if value in (None, ""):
        return {}
    if not isinstance(value, Mapping):
        raise ValidationError(
            {"attributes": [_("Attributes must be an object of names to values.")]}
        )
    cleaned: dict[str, Any] = {}
    for raw_key, raw_value in value.items():
        key = str(raw_key)
        if not _ATTRIBUTE_KEY.match(key) or key in RESERVED_ATTRIBUTE_KEYS:
            raise ValidationError(
                {
                    "attributes": [
                        _(
                            "“%(key)s” is not a usable attribute name: use lower-case letters, "
                            "digits and _, starting with a letter."
                        )
                        % {"key": key}
                    ]
                }
            )
        if raw_value is not None and not isinstance(raw_value, str | int | float | bool):
            raise ValidationError(
                {
                    "attributes": [
                        _("“%(key)s” must be text, a number or true/false.") % {"key": key}
                    ]
                }
            )
        if isinstance(raw_value, str) and len(raw_value) > MAX_ATTRIBUTE_VALUE:
            raise ValidationError(
                {"attributes": [_("“%(key)s” is longer than 500 characters.") % {"key": key}]}
            )
        cleaned[key] = raw_value
    if len(cleaned) > MAX_ATTRIBUTES:
        raise ValidationError({"attributes": [_("At most 50 attributes per contact.")]})
    return cleaned


def language_code_clean(value: Any) -> tuple[str, str]:
    """A contact's language as WhatsApp templates name theirs ("az", "ru", "en_US"; "EN-us"
    becomes "en_US"), or the reason it is not one. It picks the template translation each
    contact gets, so a typo would silently send them the default language."""
    text = str(value or "").strip()
    if not text:
        return "", ""
    match = re.fullmatch(r"([A-Za-z]{2,3})(?:[-_]([A-Za-z]{2}))?", text)
    if match is None:
        return text, _("Use a language code such as az, ru or en_US.")
    code = match.group(1).lower()
    return (f"{code}_{match.group(2).upper()}" if match.group(2) else code), ""


def contact_clean(
    *, workspace: Workspace, data: Mapping[str, Any], partial: bool = False
) -> dict[str, Any]:
    """Validate contact input (form, API, import row) and return the cleaned values.
    Raises one ValidationError carrying every field's messages."""
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    if "phone" in data or not partial:
        result = parse_phone(data.get("phone"), default_country=workspace.default_country)
        if result.e164 is None:
            errors["phone"] = [result.message]
        else:
            cleaned["phone"] = result.e164
            cleaned["_derived_country"] = result.country
    for name, limit in (("first_name", 100), ("last_name", 100)):
        if name in data:
            text = name_clean(str(data.get(name) or ""))
            if len(text) > limit:
                errors[name] = [_("At most %(n)d characters.") % {"n": limit}]
            cleaned[name] = text
    if "language" in data:
        language, problem = language_code_clean(data.get("language"))
        if problem:
            errors["language"] = [problem]
        cleaned["language"] = language
    if "country" in data:
        country = str(data.get("country") or "").strip().upper()
        if country and country not in phonenumbers.SUPPORTED_REGIONS:
            errors["country"] = [
                _("Use the two-letter code of a country, such as AZ: “%(code)s” is none.")
                % {"code": country[:8]}
            ]
        cleaned["country"] = country
    if "time_zone" in data:
        tz = str(data.get("time_zone") or "").strip()
        if tz:
            from zoneinfo import available_timezones

            if tz not in available_timezones():
                errors["time_zone"] = [_("“%(tz)s” is not a known time zone.") % {"tz": tz}]
        cleaned["time_zone"] = tz
    if "attributes" in data:
        try:
            cleaned["attributes"] = clean_attributes(data.get("attributes"))
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if "tags" in data:
        tags = clean_tags(data.get("tags"))
        if len(tags) > MAX_TAGS:
            errors["tags"] = [_("At most 50 tags per contact.")]
        cleaned["tags"] = tags
    if errors:
        raise ValidationError(errors)
    return cleaned


def _derive(cleaned: dict[str, Any]) -> None:
    """Country and time zone come from the number when not given."""
    derived_country = cleaned.pop("_derived_country", "")
    if "phone" in cleaned:
        if not cleaned.get("country"):
            cleaned["country"] = derived_country
        if not cleaned.get("time_zone"):
            cleaned["time_zone"] = phone_time_zone(cleaned["phone"])


# --- single contacts -------------------------------------------------------------------------


@transaction.atomic
def contact_create(
    *,
    workspace: Workspace,
    data: Mapping[str, Any],
    created_via: str = CreatedVia.MANUAL,
    actor: User | None = None,
    consent_source: str = "",
    consent_proof: dict[str, Any] | None = None,
) -> Contact:
    """Create one contact; a phone already in the workspace is a field error, not a duplicate."""
    cleaned = contact_clean(workspace=workspace, data=data)
    _derive(cleaned)
    if Contact.objects.for_workspace(workspace).filter(phone=cleaned["phone"]).exists():
        raise ValidationError({"phone": [_("A contact with this phone number already exists.")]})
    now = timezone.now()
    contact = Contact(
        workspace=workspace,
        created_via=created_via,
        consent_source=consent_source,
        consent_at=now if consent_source else None,
        consent_proof=consent_proof or {},
        **cleaned,
    )
    try:
        with transaction.atomic():
            contact.save()
    except IntegrityError as exc:  # a concurrent create of the same phone
        raise ValidationError(
            {"phone": [_("A contact with this phone number already exists.")]}
        ) from exc
    return contact


@transaction.atomic
def contact_update(*, workspace: Workspace, contact: Contact, data: Mapping[str, Any]) -> Contact:
    """Change the given fields only (PATCH semantics); attributes replace, tags replace."""
    assert contact.workspace_id == workspace.pk
    cleaned = contact_clean(workspace=workspace, data=data, partial=True)
    cleaned.pop("_derived_country", None)
    if "phone" in cleaned and cleaned["phone"] != contact.phone:
        taken = (
            Contact.objects.for_workspace(workspace)
            .filter(phone=cleaned["phone"])
            .exclude(pk=contact.pk)
            .exists()
        )
        if taken:
            raise ValidationError(
                {"phone": [_("A contact with this phone number already exists.")]}
            )
        if "time_zone" not in data:
            cleaned["time_zone"] = phone_time_zone(cleaned["phone"])
        contact.whatsapp_status = WhatsAppStatus.UNKNOWN
        contact.whatsapp_error = ""
    for name, value in cleaned.items():
        setattr(contact, name, value)
    contact.updated_at = timezone.now()
    contact.save()
    return contact


@transaction.atomic
def contact_delete(*, workspace: Workspace, contact: Contact, actor: User | None = None) -> None:
    assert contact.workspace_id == workspace.pk
    contact.delete()


@transaction.atomic
def contact_opt_out(
    *,
    workspace: Workspace,
    contact: Contact,
    source: str = OptOutSource.MANUAL,
    reason: str = "",
) -> Contact:
    """Opt a contact out. Idempotent: the first opt-out's time and source are kept."""
    assert contact.workspace_id == workspace.pk
    if source not in OptOutSource.values:
        raise ValidationError({"source": [_("Unknown opt-out source.")]})
    updated = (
        Contact.objects.for_workspace(workspace)
        .filter(pk=contact.pk, opted_out_at__isnull=True)
        .update(
            opted_out_at=timezone.now(),
            opt_out_source=source,
            opt_out_reason=reason[:255],
            updated_at=timezone.now(),
        )
    )
    if updated:
        contact.refresh_from_db()
        events_publish(
            workspace_id=workspace.pk,
            events=[
                contact_opted_out_event(
                    contact_id=contact.public_id, phone=contact.phone, source=source, reason=reason
                )
            ],
        )
    return contact


@transaction.atomic
def contacts_opt_out_phones(
    *, workspace: Workspace, phones: Iterable[str], source: str, reason: str = ""
) -> int:
    """Opt out by E.164 phone (STOP replies, gateway reports); returns how many changed."""
    now = timezone.now()
    return (
        Contact.objects.for_workspace(workspace)
        .filter(phone__in=list(phones), opted_out_at__isnull=True)
        .update(
            opted_out_at=now, opt_out_source=source, opt_out_reason=reason[:255], updated_at=now
        )
    )


@transaction.atomic
def contact_opt_in(
    *,
    workspace: Workspace,
    contact: Contact,
    consent_source: str,
    actor: User | None = None,
    api_key: ApiKey | None = None,
    proof: dict[str, Any] | None = None,
) -> Contact:
    """Clear an opt-out. Needs a consent source: re-subscribing someone who said STOP must
    be backed by their new consent, and it is audited."""
    assert contact.workspace_id == workspace.pk
    if not consent_source.strip():
        raise ValidationError({"consent_source": [_("Say how the contact gave consent again.")]})
    now = timezone.now()
    contact.opted_out_at = None
    contact.opt_out_source = ""
    contact.opt_out_reason = ""
    contact.consent_source = consent_source.strip()[:120]
    contact.consent_at = now
    contact.consent_proof = proof or {}
    contact.updated_at = now
    contact.save()
    audit_record(
        workspace=workspace,
        action="contact.opt_in",
        actor=actor,
        api_key=api_key,
        target=contact,
        details={"consent_source": contact.consent_source},
    )
    return contact


# --- bulk upsert (imports and the API) -------------------------------------------------------


@dataclass(slots=True)
class UpsertRow:
    """One contact to write. `phone` must be E.164 and unique within one call."""

    phone: str
    first_name: str = ""
    last_name: str = ""
    language: str = ""
    country: str = ""
    time_zone: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class UpsertOutcome:
    status: str  # "created" | "updated" | "unchanged"
    public_id: uuid.UUID | None


# What an existing row becomes. Names and attributes given in the input win; language,
# country and time zone only fill blanks (they are usually derived from the number); tags are
# a union; consent is the first one recorded; opt-out is never touched: an import or an API
# upsert cannot re-subscribe someone who said STOP.
_MERGE: dict[str, str] = {
    "first_name": "COALESCE(NULLIF(EXCLUDED.first_name, ''), c.first_name)",
    "last_name": "COALESCE(NULLIF(EXCLUDED.last_name, ''), c.last_name)",
    "language": "CASE WHEN c.language = '' THEN EXCLUDED.language ELSE c.language END",
    "country": "CASE WHEN c.country = '' THEN EXCLUDED.country ELSE c.country END",
    "time_zone": "CASE WHEN c.time_zone = '' THEN EXCLUDED.time_zone ELSE c.time_zone END",
    "attributes": "c.attributes || EXCLUDED.attributes",
    "tags": (
        'ARRAY(SELECT DISTINCT (t COLLATE "C") FROM unnest(c.tags || EXCLUDED.tags) AS t '
        "ORDER BY 1)"
    ),
    "consent_source": (
        "CASE WHEN c.consent_at IS NULL THEN EXCLUDED.consent_source ELSE c.consent_source END"
    ),
    "consent_proof": (
        "CASE WHEN c.consent_at IS NULL THEN EXCLUDED.consent_proof ELSE c.consent_proof END"
    ),
    "consent_at": "COALESCE(c.consent_at, EXCLUDED.consent_at)",
}

_INSERT = """
INSERT INTO messaging_contact AS c (
    public_id, workspace_id, phone, first_name, last_name, language, country, time_zone,
    attributes, tags, consent_source, consent_at, consent_proof, opted_out_at, opt_out_source,
    opt_out_reason, whatsapp_status, whatsapp_error, created_via, created_at, updated_at
)
SELECT gen_random_uuid(), %(workspace_id)s, u.phone, u.first_name, u.last_name, u.language,
       u.country, u.time_zone, u.attributes, ARRAY(SELECT jsonb_array_elements_text(u.tags)),
       %(consent_source)s, %(consent_at)s, %(consent_proof)s::jsonb, NULL, '', '',
       'unknown', '', %(created_via)s, %(now)s, %(now)s
FROM jsonb_to_recordset(%(rows)s::jsonb) AS u(
    phone text, first_name text, last_name text, language text, country text, time_zone text,
    attributes jsonb, tags jsonb
)
"""
_ON_CONFLICT_UPDATE = (
    "ON CONFLICT (workspace_id, phone) DO UPDATE SET "  # nosec B608 # own table names, values are parameters
    + ", ".join(f"{col} = {expr}" for col, expr in _MERGE.items())
    + ", updated_at = EXCLUDED.updated_at "
    + "WHERE ROW("
    + ", ".join(_MERGE.values())
    + ") IS DISTINCT FROM ROW("
    + ", ".join(f"c.{col}" for col in _MERGE)
    + ")"
)
_ON_CONFLICT_SKIP = "ON CONFLICT (workspace_id, phone) DO NOTHING"
_RETURNING = " RETURNING c.phone, c.public_id, (c.xmax = 0) AS inserted"


def upsert_rows_encode(rows: Sequence[UpsertRow]) -> str:
    """The rows as the one JSON parameter the upsert takes. Separate so that an import's parse
    process can encode them, off the writer's CPU."""
    return json.dumps(
        [
            {
                "phone": row.phone,
                "first_name": name_clean(row.first_name)[:100],
                "last_name": name_clean(row.last_name)[:100],
                "language": row.language[:16],
                "country": row.country[:2],
                "time_zone": row.time_zone[:64],
                "attributes": row.attributes,
                "tags": row.tags,
            }
            for row in rows
        ],
        ensure_ascii=False,
    )


def _upsert_params(
    *,
    workspace: Workspace,
    rows_json: str,
    created_via: str,
    consent_source: str,
    consent_proof: dict[str, Any] | None,
    now: datetime | None,
) -> dict[str, Any]:
    now = now or timezone.now()
    return {
        "workspace_id": workspace.pk,
        "now": now,
        "created_via": created_via,
        "consent_source": consent_source[:120],
        "consent_at": now if consent_source else None,
        "consent_proof": json.dumps(consent_proof or {}),
        # One JSON parameter instead of eight arrays: about half the time per chunk (psycopg
        # adapts one string; Postgres parses JSON fast).
        "rows": rows_json,
    }


def contacts_upsert_rows(
    *,
    workspace: Workspace,
    rows: Sequence[UpsertRow],
    update_existing: bool = True,
    created_via: str = CreatedVia.IMPORT,
    consent_source: str = "",
    consent_proof: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> dict[str, UpsertOutcome]:
    """Write many contacts in one statement (`INSERT ... ON CONFLICT DO UPDATE ... WHERE ...
    IS DISTINCT FROM`), and say exactly which were created, updated or left unchanged
    (`RETURNING xmax = 0`; unchanged rows are not returned at all). Runs in the caller's
    transaction. Phones must be unique within `rows` (Postgres refuses to update one row
    twice in a statement)."""
    if not rows:
        return {}
    phones = [row.phone for row in rows]
    if len(set(phones)) != len(phones):
        raise ValueError("contacts_upsert_rows() needs distinct phones")
    params = _upsert_params(
        workspace=workspace,
        rows_json=upsert_rows_encode(rows),
        created_via=created_via,
        consent_source=consent_source,
        consent_proof=consent_proof,
        now=now,
    )
    sql = _INSERT + (_ON_CONFLICT_UPDATE if update_existing else _ON_CONFLICT_SKIP) + _RETURNING
    outcomes: dict[str, UpsertOutcome] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for phone, public_id, inserted in cursor.fetchall():
            outcomes[phone] = UpsertOutcome("created" if inserted else "updated", public_id)
    for phone in phones:
        outcomes.setdefault(phone, UpsertOutcome("unchanged", None))
    return outcomes


def contacts_upsert_encoded(
    *,
    workspace: Workspace,
    rows_json: str,
    update_existing: bool = True,
    created_via: str = CreatedVia.IMPORT,
    consent_source: str = "",
    consent_proof: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> tuple[int, int]:
    """`contacts_upsert_rows` for rows already encoded (`upsert_rows_encode`, distinct
    phones) that returns only the counts (created, updated): an import needs no more, and
    skips sending 2,000 ids back per chunk."""
    if rows_json == "[]":
        return 0, 0
    params = _upsert_params(
        workspace=workspace,
        rows_json=rows_json,
        created_via=created_via,
        consent_source=consent_source,
        consent_proof=consent_proof,
        now=now,
    )
    sql = (
        "WITH written AS ("  # nosec B608 # own table names, values are parameters
        + _INSERT
        + (_ON_CONFLICT_UPDATE if update_existing else _ON_CONFLICT_SKIP)
        + " RETURNING (c.xmax = 0) AS inserted) "  # nosec B608 # own table names, values are parameters
        "SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) "
        "FROM written"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        created, updated = cursor.fetchone()
    return created, updated


def upsert_row_from_cleaned(cleaned: Mapping[str, Any]) -> UpsertRow:
    return UpsertRow(
        phone=cleaned["phone"],
        first_name=cleaned.get("first_name", ""),
        last_name=cleaned.get("last_name", ""),
        language=cleaned.get("language", ""),
        country=cleaned.get("country") or cleaned.get("_derived_country", ""),
        time_zone=cleaned.get("time_zone") or phone_time_zone(cleaned["phone"]),
        attributes=cleaned.get("attributes", {}),
        tags=cleaned.get("tags", []),
    )


MAX_BULK_UPSERT = 1000


class BulkItemsInvalid(Exception):  # noqa: N818 (a validation outcome, like ValidationError)
    """Some items of a bulk call are invalid; `errors` maps the item index to field errors."""

    def __init__(self, errors: dict[str, dict[str, list[str]]]) -> None:
        super().__init__("invalid items")
        self.errors = errors


@dataclass(frozen=True)
class BulkUpsertItem:
    index: int
    phone: str
    status: str
    public_id: uuid.UUID


@transaction.atomic
def contacts_bulk_upsert(
    *,
    workspace: Workspace,
    items: Sequence[Mapping[str, Any]],
    created_via: str = CreatedVia.API,
    consent_source: str = "",
) -> list[BulkUpsertItem]:
    """Create or update up to 1,000 contacts. All-or-nothing on validation: one bad item is a
    ValidationError keyed by item index and nothing is written. Repeated phones in one call
    merge into one contact (later items win) and each item reports that contact."""
    if len(items) > MAX_BULK_UPSERT:
        raise ValidationError({"contacts": [_("At most 1,000 contacts per call.")]})
    errors: dict[str, Any] = {}
    cleaned_items: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        try:
            cleaned_items.append(contact_clean(workspace=workspace, data=item))
        except ValidationError as exc:
            errors[str(index)] = exc.message_dict
    if errors:
        raise BulkItemsInvalid(errors)
    merged: dict[str, UpsertRow] = {}
    for cleaned in cleaned_items:
        row = upsert_row_from_cleaned(cleaned)
        if row.phone in merged:
            prev = merged[row.phone]
            row.attributes = {**prev.attributes, **row.attributes}
            row.tags = clean_tags([*prev.tags, *row.tags])
            row.first_name = row.first_name or prev.first_name
            row.last_name = row.last_name or prev.last_name
        merged[row.phone] = row
    outcomes = contacts_upsert_rows(
        workspace=workspace,
        rows=list(merged.values()),
        created_via=created_via,
        consent_source=consent_source,
    )
    missing = [phone for phone, outcome in outcomes.items() if outcome.public_id is None]
    ids = dict(
        Contact.objects.for_workspace(workspace)
        .filter(phone__in=missing)
        .values_list("phone", "public_id")
    )
    seen: set[str] = set()
    results: list[BulkUpsertItem] = []
    for index, cleaned in enumerate(cleaned_items):
        phone = cleaned["phone"]
        outcome = outcomes[phone]
        status = outcome.status if phone not in seen else "merged"
        seen.add(phone)
        results.append(BulkUpsertItem(index, phone, status, outcome.public_id or ids[phone]))
    return results


# --- bulk actions from the contacts page -----------------------------------------------------


_TAG_SQL = (
    "UPDATE messaging_contact SET updated_at = %s, tags = ARRAY(SELECT DISTINCT "
    '(t COLLATE "C") FROM unnest(tags || %s::text[]) AS t ORDER BY 1) '
    "WHERE workspace_id = %s AND id = ANY(%s) AND NOT (tags @> %s::varchar[])"
)
_UNTAG_SQL = (
    "UPDATE messaging_contact SET updated_at = %s, tags = array_remove(tags, %s::text) "
    "WHERE workspace_id = %s AND id = ANY(%s) AND tags @> %s::varchar[]"
)


class BulkAction:
    TAG = "tag"
    UNTAG = "untag"
    ADD_TO_LIST = "add_to_list"
    OPT_OUT = "opt_out"
    DELETE = "delete"
    ALL = (TAG, UNTAG, ADD_TO_LIST, OPT_OUT, DELETE)


@transaction.atomic
def contacts_bulk_action(
    *,
    workspace: Workspace,
    contacts: QuerySet[Contact],
    action: str,
    actor: User | None = None,
    tag: str = "",
    contact_list: ContactList | None = None,
) -> int:
    """Apply one action to a selection (already scoped by the caller's selector); returns how
    many contacts it touched."""
    contacts = contacts.filter(workspace=workspace)
    now = timezone.now()
    if action in (BulkAction.TAG, BulkAction.UNTAG):
        tags = clean_tags([tag])
        if not tags:
            raise ValidationError({"tag": [_("Enter a tag.")]})
        ids = list(contacts.values_list("pk", flat=True))
        sql = _TAG_SQL if action == BulkAction.TAG else _UNTAG_SQL
        param = tags if action == BulkAction.TAG else tags[0]
        with connection.cursor() as cursor:
            cursor.execute(sql, [now, param, workspace.pk, ids, tags])
            touched = cursor.rowcount
        if action == BulkAction.UNTAG:
            contact_vocabulary_prune(workspace=workspace, tags=tags)
        return touched
    if action == BulkAction.ADD_TO_LIST:
        if contact_list is None:
            raise ValidationError({"contact_list": [_("Choose a list.")]})
        return contact_list_add_contacts(
            workspace=workspace, contact_list=contact_list, contacts=contacts
        )
    if action == BulkAction.OPT_OUT:
        with transaction.atomic():
            opting = list(
                contacts.filter(opted_out_at__isnull=True).values_list("pk", "public_id", "phone")
            )
            events_publish(
                workspace_id=workspace.pk,
                events=[
                    contact_opted_out_event(contact_id=uid, phone=phone, source=OptOutSource.MANUAL)
                    for _pk, uid, phone in opting
                ],
            )
            return (
                Contact.objects.for_workspace(workspace)
                .filter(pk__in=[row[0] for row in opting], opted_out_at__isnull=True)
                .update(opted_out_at=now, opt_out_source=OptOutSource.MANUAL, updated_at=now)
            )
    if action == BulkAction.DELETE:
        count = contacts.count()
        contacts.delete()
        contact_vocabulary_prune(workspace=workspace)
        audit_record(
            workspace=workspace, action="contact.bulk_delete", actor=actor, details={"count": count}
        )
        return count
    raise ValidationError({"action": [_("Unknown action.")]})


def contact_vocabulary_prune(
    *, workspace: Workspace | None = None, tags: Sequence[str] | None = None
) -> int:
    """Forget tags and attribute names no contact uses any more (the trigger only adds them),
    and copies of a name. Runs after untagging, deleting and erasing, and daily for the rest.
    `tags`: check only these tags of `workspace` (and no attribute names)."""
    scope = "TRUE" if workspace is None else "v.workspace_id = %(workspace)s"
    only = "" if tags is None else " AND v.name = ANY(%(tags)s)"
    params = {"workspace": workspace.pk if workspace else None, "tags": list(tags or [])}
    removed = 0
    with connection.cursor() as cursor:
        # Copies left by writers that introduced the same name at the same time.
        cursor.execute(
            f"DELETE FROM messaging_contactvocabulary v USING messaging_contactvocabulary w "  # noqa: S608 # nosec B608
            f"WHERE {scope}{only} AND w.workspace_id = v.workspace_id AND w.kind = v.kind "
            "AND w.name = v.name AND w.id < v.id",
            params,
        )
        cursor.execute(
            f"DELETE FROM messaging_contactvocabulary v WHERE {scope}{only} AND v.kind = 'tag' "  # noqa: S608 (fixed fragments) # nosec B608
            "AND NOT EXISTS (SELECT 1 FROM messaging_contact c WHERE c.workspace_id = "
            "v.workspace_id AND c.tags @> ARRAY[v.name]::varchar(64)[])",
            params,
        )
        removed += cursor.rowcount
        if tags is None:
            cursor.execute(
                f"DELETE FROM messaging_contactvocabulary v WHERE {scope} "  # noqa: S608 # nosec B608
                "AND v.kind = 'attribute' AND NOT EXISTS (SELECT 1 FROM messaging_contact c "
                "WHERE c.workspace_id = v.workspace_id AND c.attributes ? v.name)",
                params,
            )
            removed += cursor.rowcount
    return removed


# --- lists -----------------------------------------------------------------------------------


def _list_name_taken(workspace: Workspace, name: str, exclude_pk: int | None = None) -> bool:
    qs = ContactList.objects.for_workspace(workspace).filter(name__iexact=name)
    if exclude_pk:
        qs = qs.exclude(pk=exclude_pk)
    return qs.exists()


@transaction.atomic
def contact_list_create(*, workspace: Workspace, name: str, description: str = "") -> ContactList:
    name = name.strip()
    if not name:
        raise ValidationError({"name": [_("Enter a name.")]})
    if _list_name_taken(workspace, name):
        raise ValidationError({"name": [_("A list with this name already exists.")]})
    contact_list = ContactList(workspace=workspace, name=name, description=description.strip())
    contact_list.full_clean(exclude=["workspace"])
    contact_list.save()
    return contact_list


@transaction.atomic
def contact_list_update(
    *, workspace: Workspace, contact_list: ContactList, name: str, description: str = ""
) -> ContactList:
    assert contact_list.workspace_id == workspace.pk
    name = name.strip()
    if not name:
        raise ValidationError({"name": [_("Enter a name.")]})
    if _list_name_taken(workspace, name, exclude_pk=contact_list.pk):
        raise ValidationError({"name": [_("A list with this name already exists.")]})
    contact_list.name = name
    contact_list.description = description.strip()
    contact_list.full_clean(exclude=["workspace"])
    contact_list.save()
    return contact_list


@transaction.atomic
def contact_list_delete(*, workspace: Workspace, contact_list: ContactList) -> None:
    """Deletes the list, never its contacts."""
    assert contact_list.workspace_id == workspace.pk
    contact_list.delete()


_ADD_TO_LIST_SQL = (
    "INSERT INTO messaging_contactlistmembership (workspace_id, contact_list_id, contact_id, "
    "added_at) SELECT %s, %s, sub.id, %s FROM ({subquery}) AS sub(id) "
    "ON CONFLICT (contact_list_id, contact_id) DO NOTHING"
)


def contact_list_add_contacts(
    *, workspace: Workspace, contact_list: ContactList, contacts: QuerySet[Contact]
) -> int:
    """Add contacts (idempotent: ON CONFLICT DO NOTHING); returns how many were new."""
    assert contact_list.workspace_id == workspace.pk
    try:
        subquery, params = contacts.filter(workspace=workspace).values("pk").query.sql_with_params()
    except EmptyResultSet:  # no ids given: nothing to add (Django builds no SQL for `IN ()`)
        return 0
    # The subquery is SQL that Django built from a queryset; its values stay parameters.
    sql = _ADD_TO_LIST_SQL.format(subquery=subquery)
    with connection.cursor() as cursor:
        cursor.execute(sql, [workspace.pk, contact_list.pk, timezone.now(), *params])
        return cursor.rowcount


@transaction.atomic
def contact_list_remove_contacts(
    *, workspace: Workspace, contact_list: ContactList, contacts: QuerySet[Contact]
) -> int:
    assert contact_list.workspace_id == workspace.pk
    deleted, _detail = (
        ContactListMembership.objects.for_workspace(workspace)
        .filter(contact_list=contact_list, contact__in=contacts.filter(workspace=workspace))
        .delete()
    )
    return deleted


# --- segments --------------------------------------------------------------------------------


def segment_filters_clean(*, workspace: Workspace, filters: Any) -> dict[str, Any]:
    """Validate a segment's filters with the audience contract (a segment cannot name another
    segment); errors are listed under "filters", each naming its key."""
    try:
        audience = audience_clean(workspace=workspace, data=filters, allow_segment=False)
    except ValidationError as exc:
        raise ValidationError(
            {
                "filters": [
                    message if key == NON_FIELD_ERRORS else f"{key}: {message}"
                    for key, messages in exc.message_dict.items()
                    for message in messages
                ]
            }
        ) from exc
    return audience.as_json()


@transaction.atomic
def segment_create(*, workspace: Workspace, name: str, filters: Any) -> Segment:
    name = name.strip()
    cleaned = segment_filters_clean(workspace=workspace, filters=filters)
    if not name:
        raise ValidationError({"name": [_("Enter a name.")]})
    if Segment.objects.for_workspace(workspace).filter(name__iexact=name).exists():
        raise ValidationError({"name": [_("A segment with this name already exists.")]})
    return Segment.objects.create(workspace=workspace, name=name, filters=cleaned)


@transaction.atomic
def segment_update(*, workspace: Workspace, segment: Segment, name: str, filters: Any) -> Segment:
    assert segment.workspace_id == workspace.pk
    name = name.strip()
    cleaned = segment_filters_clean(workspace=workspace, filters=filters)
    if not name:
        raise ValidationError({"name": [_("Enter a name.")]})
    taken = (
        Segment.objects.for_workspace(workspace)
        .filter(name__iexact=name)
        .exclude(pk=segment.pk)
        .exists()
    )
    if taken:
        raise ValidationError({"name": [_("A segment with this name already exists.")]})
    segment.name = name
    segment.filters = cleaned
    segment.updated_at = timezone.now()
    segment.save()
    return segment


@transaction.atomic
def segment_delete(*, workspace: Workspace, segment: Segment) -> None:
    assert segment.workspace_id == workspace.pk
    segment.delete()
