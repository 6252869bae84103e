"""The audience contract: one typed definition of who a campaign or a segment reaches.

The dashboard builder, the API, segments, the pre-flight, the audience preview and fan-out all
go through `audience_clean` (validation: unknown keys and wrong types are field errors, never
ignored) and `audience_recipients` / `audience_counts` (the one WHERE clause). A stored
audience is validated again when it is read, so a key the code does not know can never widen
a campaign to the whole workspace."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from accounts.models import Workspace
from messaging.contacts.models import Contact, ContactList, Segment, WhatsAppStatus
from messaging.contacts.selectors import (
    RECIPIENT_Q,
    AudienceCounts,
    contact_filter_q,
    contacts_counted,
)

AUDIENCE_KEYS = (
    "search",
    "list_id",
    "segment_id",
    "tags_any",
    "tags_all",
    "tags_none",
    "attributes",
    "opt_out",
    "whatsapp_status",
    "created_after",
    "created_before",
)
OPT_OUT_VALUES = ("opted_out", "subscribed")
MAX_TAGS = 50
MAX_TAG_LENGTH = 64  # as `services.contacts` stores them
MAX_ATTRIBUTES = 20
MAX_SEARCH = 100


@dataclass(frozen=True)
class Audience:
    """A validated audience. Empty fields do not filter; all given fields must hold."""

    search: str = ""
    list_id: str = ""
    segment_id: str = ""
    tags_any: tuple[str, ...] = ()
    tags_all: tuple[str, ...] = ()
    tags_none: tuple[str, ...] = ()
    attributes: tuple[tuple[str, str], ...] = ()
    opt_out: str = ""
    whatsapp_status: tuple[str, ...] = ()
    created_after: date | None = None
    created_before: date | None = None
    # The segment's own (validated) filters, resolved when the audience was cleaned.
    segment: Audience | None = field(default=None, compare=False, repr=False)

    def as_json(self) -> dict[str, Any]:
        """The stored form: only the keys that filter, in the contract's names."""
        stored: dict[str, Any] = {}
        for key in AUDIENCE_KEYS:
            value = getattr(self, key)
            if not value:
                continue
            if key == "attributes":
                stored[key] = dict(value)
            elif isinstance(value, tuple):
                stored[key] = list(value)
            elif isinstance(value, date):
                stored[key] = value.isoformat()
            else:
                stored[key] = value
        return stored


class _Errors:
    def __init__(self) -> None:
        self.by_key: dict[str, list[str]] = {}

    def add(self, key: str, message: str) -> None:
        self.by_key.setdefault(key, []).append(message)


def _uuid(value: Any) -> str | None:
    if isinstance(value, uuid.UUID):
        return str(value)
    if not isinstance(value, str):
        return None
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


def _tags(key: str, value: Any, errors: _Errors) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or not all(isinstance(t, str) for t in value):
        errors.add(key, _("Give a list of tags (strings)."))
        return ()
    tags = sorted({t.strip() for t in value if t.strip()})
    if len(tags) > MAX_TAGS:
        errors.add(key, _("At most %(n)d tags.") % {"n": MAX_TAGS})
    if any(len(t) > MAX_TAG_LENGTH for t in tags):
        errors.add(key, _("A tag has at most %(n)d characters.") % {"n": MAX_TAG_LENGTH})
    return tuple(tags)


def _date(key: str, value: Any, errors: _Errors) -> date | None:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    errors.add(key, _("Give a date as YYYY-MM-DD."))
    return None


def audience_clean(*, workspace: Workspace, data: Any, allow_segment: bool = True) -> Audience:
    """Validate an audience as the builder, the API or storage gives it. Raises a
    ValidationError keyed by the contract's field names (NON_FIELD_ERRORS for the shape)."""
    if data in (None, ""):
        data = {}
    if not isinstance(data, Mapping):
        raise ValidationError({NON_FIELD_ERRORS: [_("The audience must be an object of filters.")]})
    errors = _Errors()
    allowed = set(AUDIENCE_KEYS) - (set() if allow_segment else {"segment_id"})
    for key in sorted(set(map(str, data)) - set(allowed)):
        errors.add(key, _("Unknown filter: %(name)s.") % {"name": key})
    values: dict[str, Any] = {}

    search = data.get("search")
    if search not in (None, ""):
        if not isinstance(search, str):
            errors.add("search", _("Give the search as text."))
        elif len(search.strip()) > MAX_SEARCH:
            errors.add("search", _("At most %(n)d characters.") % {"n": MAX_SEARCH})
        else:
            values["search"] = search.strip()

    if data.get("list_id") not in (None, ""):
        list_id = _uuid(data["list_id"])
        if list_id is None:
            errors.add("list_id", _("Not a valid list id."))
        elif not ContactList.objects.for_workspace(workspace).filter(public_id=list_id).exists():
            errors.add("list_id", _("That list does not exist."))
        else:
            values["list_id"] = list_id

    if allow_segment and data.get("segment_id") not in (None, ""):
        segment_id = _uuid(data["segment_id"])
        segment = (
            Segment.objects.for_workspace(workspace).filter(public_id=segment_id).first()
            if segment_id
            else None
        )
        if segment_id is None:
            errors.add("segment_id", _("Not a valid segment id."))
        elif segment is None:
            errors.add("segment_id", _("That segment does not exist."))
        else:
            try:
                values["segment"] = audience_clean(
                    workspace=workspace, data=segment.filters, allow_segment=False
                )
                values["segment_id"] = segment_id
            except ValidationError as exc:
                errors.add(
                    "segment_id",
                    _("The segment “%(name)s” has filters that are no longer valid: %(why)s")
                    % {"name": segment.name, "why": " ".join(exc.messages)},
                )

    for key in ("tags_any", "tags_all", "tags_none"):
        if data.get(key) not in (None, "", []):
            values[key] = _tags(key, data[key], errors)

    attributes = data.get("attributes")
    if attributes not in (None, "", {}):
        if not isinstance(attributes, Mapping) or not all(
            isinstance(k, str) and k.strip() and isinstance(v, str) for k, v in attributes.items()
        ):
            errors.add("attributes", _("Give an object of attribute names to text values."))
        elif len(attributes) > MAX_ATTRIBUTES:
            errors.add("attributes", _("At most %(n)d attributes.") % {"n": MAX_ATTRIBUTES})
        else:
            values["attributes"] = tuple(sorted((k.strip(), v) for k, v in attributes.items()))

    opt_out = data.get("opt_out")
    if opt_out not in (None, ""):
        if opt_out not in OPT_OUT_VALUES:
            errors.add("opt_out", _("Give “opted_out” or “subscribed”."))
        else:
            values["opt_out"] = opt_out

    statuses = data.get("whatsapp_status")
    if statuses not in (None, "", []):
        if not isinstance(statuses, list | tuple) or not all(
            isinstance(s, str) and s in WhatsAppStatus.values for s in statuses
        ):
            errors.add(
                "whatsapp_status",
                _("Give a list of WhatsApp statuses among: %(values)s.")
                % {"values": ", ".join(WhatsAppStatus.values)},
            )
        else:
            values["whatsapp_status"] = tuple(sorted(set(statuses)))

    for key in ("created_after", "created_before"):
        if data.get(key) not in (None, ""):
            values[key] = _date(key, data[key], errors)
    after, before = values.get("created_after"), values.get("created_before")
    if after and before and after > before:
        errors.add("created_before", _("The end date must not be before the start date."))

    if errors.by_key:
        raise ValidationError(errors.by_key)
    return Audience(**values)


def audience_q(*, workspace: Workspace, audience: Audience) -> Q:
    """The WHERE clause of the audience (its segment's filters included)."""

    q = contact_filter_q(audience.as_json(), default_country=workspace.default_country)
    if audience.segment is not None:
        q &= audience_q(workspace=workspace, audience=audience.segment)
    return q


def audience_contacts(*, workspace: Workspace, audience: Audience) -> QuerySet[Contact]:
    """Every contact of the workspace the audience matches (opted out and invalid included)."""
    return Contact.objects.for_workspace(workspace).filter(
        audience_q(workspace=workspace, audience=audience)
    )


def audience_recipients(*, workspace: Workspace, audience: Audience) -> QuerySet[Contact]:
    """Who a campaign with this audience sends to, in fan-out order (by id)."""
    return (
        audience_contacts(workspace=workspace, audience=audience).filter(RECIPIENT_Q).order_by("id")
    )


def audience_counts(*, workspace: Workspace, audience: Audience) -> AudienceCounts:
    """The figures in one query; `reachable` uses the same condition as fan-out."""
    return contacts_counted(audience_contacts(workspace=workspace, audience=audience))


def audience_sample(*, workspace: Workspace, audience: Audience, size: int = 10) -> list[Contact]:
    """The first recipients fan-out would queue: who will receive the message."""
    return list(audience_recipients(workspace=workspace, audience=audience)[:size])


def audience_describe(*, workspace: Workspace, audience: Audience) -> list[str]:
    """The audience in words, for the pre-flight (names, not ids)."""
    parts: list[str] = []
    if audience.list_id:
        name = (
            ContactList.objects.for_workspace(workspace)
            .filter(public_id=audience.list_id)
            .values_list("name", flat=True)
            .first()
        )
        parts.append(_("List: %(name)s") % {"name": name or "?"})
    if audience.segment_id:
        name = (
            Segment.objects.for_workspace(workspace)
            .filter(public_id=audience.segment_id)
            .values_list("name", flat=True)
            .first()
        )
        parts.append(_("Segment: %(name)s") % {"name": name or "?"})
    labels = {
        "tags_any": _("Any of the tags: %(v)s"),
        "tags_all": _("All of the tags: %(v)s"),
        "tags_none": _("None of the tags: %(v)s"),
        "whatsapp_status": _("WhatsApp status: %(v)s"),
    }
    for key, label in labels.items():
        if values := getattr(audience, key):
            parts.append(label % {"v": ", ".join(values)})
    for key, value in audience.attributes:
        parts.append(_("%(key)s is %(value)s") % {"key": key, "value": value})
    if audience.search:
        parts.append(_("Name or phone contains “%(v)s”") % {"v": audience.search})
    if audience.opt_out:
        parts.append(_("Opted out") if audience.opt_out == "opted_out" else _("Subscribed"))
    if audience.created_after:
        parts.append(_("Added on or after %(d)s") % {"d": audience.created_after.isoformat()})
    if audience.created_before:
        parts.append(_("Added on or before %(d)s") % {"d": audience.created_before.isoformat()})
    return parts


def audience_upgrade_legacy(stored: Any) -> Any:
    """An audience stored by the builder before the contract (`list`, `tags`), in the
    contract's names. Used by the data migration and when duplicating an old campaign."""
    if not isinstance(stored, Mapping) or not ({"list", "tags"} & set(stored)):
        return stored
    upgraded = {k: v for k, v in stored.items() if k not in ("list", "tags")}
    if stored.get("list"):
        # The builder's explicit list wins over a list its segment's filters named.
        upgraded["list_id"] = stored["list"]
    tags = stored.get("tags") or []
    if tags:
        if upgraded.get("tags_any"):
            # The segment's "any" and the builder's tags both had to hold: "all" is the
            # narrowest faithful reading (it never reaches anyone the user did not aim at).
            upgraded["tags_all"] = sorted({*upgraded.get("tags_all", []), *tags})
        else:
            upgraded["tags_any"] = list(tags)
    return upgraded
