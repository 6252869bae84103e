"""Reads of contacts, lists and segments shared by the dashboard, the API and tasks.

Every query is scoped by `for_workspace` in the query itself; the `get_*_for_workspace`
selectors give one 404 for "missing" and "belongs to another workspace"."""

from __future__ import annotations

import csv
import json
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.db.models import (
    Count,
    DateTimeField,
    Exists,
    ExpressionWrapper,
    F,
    Func,
    OuterRef,
    Q,
    QuerySet,
    TextField,
    Value,
)
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Lower
from django.db.models.lookups import Exact

from accounts.hashing import subject_hash
from accounts.models import Workspace
from core.phones import parse_phone
from core.queries import by_name, get_or_404
from core.spreadsheets import CSV_BOM, formula_safe
from messaging.contacts.models import (
    Contact,
    ContactList,
    ContactListMembership,
    ContactVocabulary,
    Segment,
    WhatsAppStatus,
)
from messaging.contacts.suppression import SuppressedPhone

OPT_OUT_CHOICES = ("", "opted_out", "subscribed")


def get_contact_for_workspace(*, workspace: Workspace, contact_id: uuid.UUID | str) -> Contact:
    return get_or_404(Contact.objects.for_workspace(workspace), public_id=contact_id)


def get_contact_list_for_workspace(
    *, workspace: Workspace, list_id: uuid.UUID | str
) -> ContactList:
    return get_or_404(ContactList.objects.for_workspace(workspace), public_id=list_id)


def get_segment_for_workspace(*, workspace: Workspace, segment_id: uuid.UUID | str) -> Segment:
    return get_or_404(Segment.objects.for_workspace(workspace), public_id=segment_id)


def contact_lists_of_workspace(*, workspace: Workspace) -> QuerySet[ContactList]:
    return (
        ContactList.objects.for_workspace(workspace)
        .annotate(size=Count("contactlistmembership"))
        .order_by(by_name())
    )


def segments_of_workspace(*, workspace: Workspace) -> QuerySet[Segment]:
    return Segment.objects.for_workspace(workspace).order_by(by_name())


def _vocabulary(workspace: Workspace, kind: str, limit: int) -> list[str]:
    """Names the contacts table's trigger has recorded, read instead of a million rows."""
    return list(
        ContactVocabulary.objects.for_workspace(workspace)
        .filter(kind=kind)
        .order_by("name")
        .values_list("name", flat=True)
        .distinct()[:limit]
    )


def contact_tags_of_workspace(*, workspace: Workspace, limit: int = 200) -> list[str]:
    """Tags the workspace's contacts use (for filter menus), alphabetical."""
    return _vocabulary(workspace, ContactVocabulary.Kind.TAG, limit)


def contact_attribute_keys(*, workspace: Workspace, limit: int = 200) -> set[str]:
    """Attribute names in use: what templates may reference as `{{attr.x}}` or `{{x}}`."""
    return set(_vocabulary(workspace, ContactVocabulary.Kind.ATTRIBUTE, limit))


def _strings(value: Any) -> list[str]:
    if value in (None, ""):
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return [str(part).strip() for part in value if str(part).strip()]


def contact_filter_q(filters: Mapping[str, Any], *, default_country: str = "") -> Q:
    """The WHERE clause for a filter dict (the segment JSON and the list page's query string
    share it). Keys: search, tags_any, tags_all, tags_none, list_id, attributes, opt_out
    ("opted_out"/"subscribed"), whatsapp_status (list), created_after, created_before.
    Filters are assumed cleaned (`services.segment_filters_clean`); unknown keys are ignored."""
    q = Q()
    search = str(filters.get("search") or "").strip()
    if search:
        digits = "".join(ch for ch in search if ch.isdigit())
        # The stored column and the term go through the same SQL fold (migration 0017), so
        # "shirinova", "şirinova" and "sirinova" all find "Şirinova". The fold of a constant
        # is computed once at plan time and the trigram index on `search_text` applies.
        text_q = Q(
            search_text__contains=Func(
                Value(search), function="isend_search_fold", output_field=TextField()
            )
        )
        whole_number = parse_phone(search, default_country=default_country or None).e164
        if whole_number:  # a whole number, in any shape: the unique index finds it at once
            text_q |= Q(phone=whole_number)
        elif len(digits) >= 3:  # a fragment (a trigram index; under 3 digits matches too much)
            text_q |= Q(phone__contains=digits)
        q &= text_q
    if tags_any := _strings(filters.get("tags_any")):
        q &= Q(tags__overlap=tags_any)
    if tags_all := _strings(filters.get("tags_all")):
        q &= Q(tags__contains=tags_all)
    if tags_none := _strings(filters.get("tags_none")):
        q &= ~Q(tags__overlap=tags_none)
    if list_id := filters.get("list_id"):
        # A semi-join, not a join: a campaign's list and its segment's list both hold.
        q &= Q(
            Exists(
                ContactListMembership.objects.filter(
                    contact_id=OuterRef("pk"), contact_list__public_id=list_id
                )
            )
        )
    attributes = filters.get("attributes") or {}
    if attributes:
        q &= _attributes_q(dict(attributes))
    opt_out = filters.get("opt_out") or ""
    if opt_out == "opted_out":
        q &= Q(opted_out_at__isnull=False)
    elif opt_out == "subscribed":
        q &= Q(opted_out_at__isnull=True)
    if statuses := _strings(filters.get("whatsapp_status")):
        q &= Q(whatsapp_status__in=statuses)
    if created_after := filters.get("created_after"):
        q &= Q(created_at__date__gte=_as_date(created_after))
    if created_before := filters.get("created_before"):
        q &= Q(created_at__date__lte=_as_date(created_before))
    return q


# Azerbaijani (and Turkish) write a dotted and a dotless i: "BAKI" in capitals is "Bakı",
# but lower() makes it "baki". Both sides fold ı and İ to i before lowering.
_DOTTED_AND_DOTLESS_I = ("İı", "ii")
_FOLD_I = str.maketrans(*_DOTTED_AND_DOTLESS_I)


def text_fold(value: str) -> str:
    """How an attribute's text is compared: case and the dotless ı ignored."""
    return value.translate(_FOLD_I).lower()


def _attributes_q(attributes: dict[str, Any]) -> Q:
    """Contacts whose attributes have these values. A text value matches whatever its case
    ("bakı" and "BAKI" find "Bakı", as a person typing a segment expects); other values match
    exactly."""
    q = Q()
    exact = {key: value for key, value in attributes.items() if not isinstance(value, str)}
    if exact:
        q &= Q(attributes__contains=exact)
    for key, value in attributes.items():
        if isinstance(value, str):
            stored = Lower(
                Func(
                    KeyTextTransform(key, "attributes"),
                    Value(_DOTTED_AND_DOTLESS_I[0]),
                    Value(_DOTTED_AND_DOTLESS_I[1]),
                    function="TRANSLATE",
                    output_field=TextField(),
                )
            )
            q &= Q(Exact(stored, Value(text_fold(value), output_field=TextField())))
    return q


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def contacts_matching(
    *, workspace: Workspace, filters: Mapping[str, Any] | None = None, few: bool = False
) -> QuerySet[Contact]:
    """Contacts of the workspace matching `filters`, newest first. `few`: the caller knows
    few match (`CappedPaginator`), so sort by an expression no index provides: Postgres then
    finds the matches first (search indexes) and sorts them, instead of walking the
    created-at index through every contact."""
    qs = Contact.objects.for_workspace(workspace).filter(
        contact_filter_q(filters or {}, default_country=workspace.default_country)
    )
    if few:
        return qs.order_by(
            ExpressionWrapper(
                F("created_at") + Value(timedelta(0)), output_field=DateTimeField()
            ).desc(),
            "-id",
        )
    return qs.order_by("-created_at", "-id")


def contacts_by_public_ids(
    *, workspace: Workspace, contact_ids: Iterable[uuid.UUID | str]
) -> QuerySet[Contact]:
    """The workspace's contacts among `contact_ids`; foreign or unknown ids are dropped."""
    ids: list[uuid.UUID] = []
    for value in contact_ids:
        try:
            ids.append(uuid.UUID(str(value)))
        except ValueError:
            continue
    return Contact.objects.for_workspace(workspace).filter(public_id__in=ids)


# Who a campaign may send to among those matching: not opted out, not known to lack WhatsApp.
# Fan-out, the pre-flight, the previews and the sample all use this one condition.
RECIPIENT_Q = Q(opted_out_at__isnull=True) & ~Q(whatsapp_status=WhatsAppStatus.INVALID)


@dataclass(frozen=True)
class AudienceCounts:
    """total = reachable + opted_out + invalid (invalid counts only contacts not opted out)."""

    total: int
    opted_out: int
    invalid: int
    reachable: int


def contacts_counted(contacts: QuerySet[Contact]) -> AudienceCounts:
    """The audience figures of a set of contacts, in ONE query (conditional aggregates)."""
    row = contacts.order_by().aggregate(
        total=Count("id"),
        opted_out=Count("id", filter=Q(opted_out_at__isnull=False)),
        invalid=Count(
            "id", filter=Q(opted_out_at__isnull=True, whatsapp_status=WhatsAppStatus.INVALID)
        ),
        reachable=Count("id", filter=RECIPIENT_Q),
    )
    return AudienceCounts(**row)


def audience_preview(
    *, workspace: Workspace, filters: Mapping[str, Any] | None = None
) -> AudienceCounts:
    """Who a segment reaches."""
    return contacts_counted(
        Contact.objects.for_workspace(workspace).filter(
            contact_filter_q(filters or {}, default_country=workspace.default_country)
        )
    )


def reachable_contacts(
    *, workspace: Workspace, filters: Mapping[str, Any] | None = None
) -> QuerySet[Contact]:
    """What a campaign may send to: matching, not opted out, not known-invalid."""
    return contacts_matching(workspace=workspace, filters=filters).filter(RECIPIENT_Q)


class _Echo:
    """A file-like object whose write() returns the line: csv.writer without a buffer."""

    def write(self, value: str) -> str:
        return value


EXPORT_COLUMNS = (
    "phone",
    "first_name",
    "last_name",
    "language",
    "country",
    "time_zone",
    "tags",
    "attributes",
    "opted_out_at",
    "opt_out_source",
    "whatsapp_status",
    "consent_source",
    "consent_at",
    "created_at",
)


def csv_safe(value: Any) -> str:
    """Spreadsheet formula injection: every text cell goes through core's one rule."""
    return formula_safe(value)


def contacts_csv_lines(*, queryset: QuerySet[Contact]) -> Iterator[str]:
    """CSV lines (UTF-8 BOM first, so Excel reads the letters right) for a streaming
    response; rows are fetched with a server-side cursor in chunks."""
    writer = csv.writer(_Echo())
    yield CSV_BOM + writer.writerow(EXPORT_COLUMNS)
    for row in queryset.values_list(*EXPORT_COLUMNS).iterator(chunk_size=2000):
        values = dict(zip(EXPORT_COLUMNS, row, strict=True))
        cells = [
            values["phone"],  # E.164, validated by us: digits after the +, never a formula
            *(
                csv_safe(values[col])
                for col in ("first_name", "last_name", "language", "country", "time_zone")
            ),
            csv_safe(";".join(values["tags"])),
            csv_safe(json.dumps(values["attributes"], ensure_ascii=False))
            if values["attributes"]
            else "",
            values["opted_out_at"].isoformat() if values["opted_out_at"] else "",
            values["opt_out_source"],
            values["whatsapp_status"],
            csv_safe(values["consent_source"]),
            values["consent_at"].isoformat() if values["consent_at"] else "",
            values["created_at"].isoformat(),
        ]
        yield writer.writerow(cells)


# --- the suppression list (numbers erased at a recipient's request) -------------------------


def phone_is_suppressed(*, workspace: Workspace, phone: str) -> bool:
    """True when the number was erased in this workspace or platform-wide: it must not come
    back without fresh consent. Read like any number the workspace types (its default country
    for national forms); an unparsable number is not suppressed (the importer rejects it on its
    own terms)."""
    e164 = parse_phone(phone, default_country=workspace.default_country).e164
    if e164 is None:
        return False
    return SuppressedPhone.objects.filter(
        Q(scope=SuppressedPhone.Scope.PLATFORM) | Q(workspace=workspace),
        phone_hash=subject_hash(e164),
    ).exists()


def phones_suppressed(*, workspace_id: int, phones: list[str]) -> set[str]:
    """The subset of `phones` (E.164) erased in this workspace or platform-wide: one query for
    a whole import chunk."""
    if not phones:
        return set()
    relevant = SuppressedPhone.objects.filter(
        Q(workspace_id=workspace_id) | Q(scope=SuppressedPhone.Scope.PLATFORM)
    )
    if not relevant.exists():  # the usual case: nobody to keep out, no hashing, no big query
        return set()
    by_hash = {subject_hash(phone): phone for phone in phones}
    # `= ANY(array)`: one parameter instead of thousands of placeholders to compile.
    hits = relevant.extra(  # noqa: S610 - a fixed clause; the hashes travel as one parameter
        where=["phone_hash = ANY(%s)"], params=[list(by_hash)]
    ).values_list("phone_hash", flat=True)
    return {by_hash[digest] for digest in hits}
