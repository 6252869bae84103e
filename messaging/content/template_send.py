"""Filling a Meta WhatsApp template for one contact. Pure: no ORM, no I/O.

A campaign maps each slot of its template (`messaging.content.whatsapp.template_slots`) to a
source: a contact field (``first_name``), an attribute (``attributes.city``) or a fixed text,
with a fallback used when the contact lacks the value. The stored, canonical mapping is

    {"body.1": {"field": "first_name", "fallback": "friend"},
     "body.2": {"field": "attributes.city", "fallback": ""},
     "button.0": {"text": "spring"}}

and the API also takes the short forms ``{"1": "first_name"}`` (a body slot by its number or
name, the value a field) and ``{"header.1": {"text": "SALE"}}``. The media header is not a
variable: the campaign gives its file or link.

`template_render` returns the send's parameters (gateway dataclasses) and the text a person
reads (header, body and footer with the values in), which WhatsApp-Web numbers send and the
messages log shows. `language_pick` chooses a contact's language among a template's
translations."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from messaging.content.whatsapp import (
    NAMED,
    VARIABLE,
    TemplateSlot,
    header_format,
    template_slots,
)
from messaging.gateways.base import ButtonParameter, TemplateParameter

#: The contact fields a variable can take (besides ``attributes.<key>``).
CONTACT_FIELDS = ("first_name", "last_name", "full_name", "phone", "country", "language")
ATTRIBUTE_PREFIX = "attributes."
#: A parameter's text may not exceed what Meta accepts for a body variable.
MAX_PARAMETER_CHARS = 1024
#: When a contact has no language: the usual language of its country (Meta's codes).
COUNTRY_LANGUAGES = {
    "AZ": "az",
    "RU": "ru",
    "BY": "ru",
    "KZ": "kk",
    "TR": "tr",
    "GE": "ka",
    "UA": "uk",
    "US": "en_US",
    "GB": "en_GB",
    "DE": "de",
    "FR": "fr",
}


@dataclass(frozen=True, slots=True)
class VariableSource:
    """Where one slot's value comes from: a field (with a fallback) or a fixed text."""

    field: str = ""
    text: str = ""
    fallback: str = ""

    def as_json(self) -> dict[str, str]:
        if self.field:
            return {"field": self.field, "fallback": self.fallback}
        return {"text": self.text}


def is_known_field(name: str) -> bool:
    if name in CONTACT_FIELDS:
        return True
    return name.startswith(ATTRIBUTE_PREFIX) and len(name) > len(ATTRIBUTE_PREFIX)


def _slot_for_key(key: str, slots: Sequence[TemplateSlot]) -> TemplateSlot | None:
    by_key = {slot.key: slot for slot in slots}
    if key in by_key:
        return by_key[key]
    # The short form: "1" or "first_name" names a body slot.
    return by_key.get(f"body.{key}")


def _source_from(value: Any) -> tuple[VariableSource | None, str]:
    """A source from the API's or the form's value, or why it is not one."""
    if isinstance(value, str):
        value = {"field": value}
    if not isinstance(value, Mapping):
        return None, "give a field name, or an object with field/fallback or text"
    unknown = set(value) - {"field", "fallback", "text"}
    if unknown:
        return None, f"unknown keys: {', '.join(sorted(unknown))}"
    name = str(value.get("field") or "").strip()
    text = value.get("text")
    fallback = str(value.get("fallback") or "")
    if name and text is not None:
        return None, "give a field or a text, not both"
    if name:
        if not is_known_field(name):
            return None, (
                f"unknown field {name!r}: use one of {', '.join(CONTACT_FIELDS)} or "
                "attributes.<key>, or {'text': ...} for a fixed text"
            )
        if len(fallback) > MAX_PARAMETER_CHARS:
            return None, "the fallback is too long"
        return VariableSource(field=name, fallback=fallback), ""
    if text is None or not str(text).strip():
        return None, "give a field, or a non-empty text"
    if len(str(text)) > MAX_PARAMETER_CHARS:
        return None, "the text is too long"
    return VariableSource(text=str(text)), ""


def variables_clean(
    raw: Mapping[str, Any] | None, slots: Sequence[TemplateSlot]
) -> tuple[dict[str, dict[str, str]], dict[str, list[str]]]:
    """The canonical mapping (keyed by slot key) and the errors, keyed as the caller wrote
    the slot (or by the missing slot's key). Every text slot must be mapped; the media header
    is not a variable."""
    mapping: dict[str, dict[str, str]] = {}
    errors: dict[str, list[str]] = {}
    for key, value in (raw or {}).items():
        slot = _slot_for_key(str(key), slots)
        if slot is None or slot.media_format:
            known = ", ".join(s.key for s in slots if not s.media_format) or "none"
            errors.setdefault(str(key), []).append(
                f"the template has no variable {key!r} (its variables: {known})"
            )
            continue
        source, why = _source_from(value)
        if source is None:
            errors.setdefault(str(key), []).append(why)
            continue
        mapping[slot.key] = source.as_json()
    for slot in slots:
        if slot.media_format or slot.key in mapping:
            continue
        if not any(str(k) in (slot.key, slot.key.split(".", 1)[1]) for k in errors):
            errors.setdefault(slot.key, []).append(f"map {slot.label} to a contact field or a text")
    return mapping, errors


def source_of(mapping: Mapping[str, Any], key: str) -> VariableSource | None:
    value = mapping.get(key)
    if not isinstance(value, Mapping):
        return None
    if value.get("field"):
        return VariableSource(field=str(value["field"]), fallback=str(value.get("fallback") or ""))
    if value.get("text") is not None:
        return VariableSource(text=str(value["text"]))
    return None


def value_of(source: VariableSource, values: Mapping[str, str]) -> tuple[str, bool]:
    """The slot's value for a contact and whether the contact lacked it (fallback or empty).
    `values` are `messaging.content.rendering.contact_values` (attributes as ``attr.<key>``)."""
    if not source.field:
        return source.text, False
    key = source.field
    if key.startswith(ATTRIBUTE_PREFIX):
        key = "attr." + key[len(ATTRIBUTE_PREFIX) :]
    value = str(values.get(key) or "").strip()
    if value:
        return value[:MAX_PARAMETER_CHARS], False
    return source.fallback, True


@dataclass
class RenderedTemplate:
    """One contact's fill of a template: the send's parameters and the readable text.

    `lacking`: slots whose field the contact has no value for (the fallback, if any, is used);
    `empty`: slots left with no value at all (no fallback): Meta refuses empty parameters, so
    such a message cannot be sent."""

    language: str
    header_parameters: tuple[TemplateParameter, ...] = ()
    body_parameters: tuple[TemplateParameter, ...] = ()
    button_parameters: tuple[ButtonParameter, ...] = ()
    text: str = ""
    media_format: str = ""
    lacking: list[str] = field(default_factory=list)
    empty: list[str] = field(default_factory=list)


def _component_text(components: Sequence[Mapping[str, Any]], kind: str) -> str:
    for component in components or ():
        if isinstance(component, Mapping) and str(component.get("type", "")).upper() == kind:
            if kind == "HEADER" and str(component.get("format", "TEXT")).upper() != "TEXT":
                return ""
            return str(component.get("text", ""))
    return ""


def _substitute(text: str, filled: Mapping[str, str]) -> str:
    return VARIABLE.sub(lambda match: filled.get(match.group(1), match.group(0)), text)


@dataclass(frozen=True)
class TemplateShape:
    """What filling needs of one language version, read once (not per contact)."""

    slots: tuple[TemplateSlot, ...]
    named: bool
    media_format: str
    header_text: str
    body_text: str
    footer_text: str


def template_shape(components: Sequence[Mapping[str, Any]], parameter_format: str) -> TemplateShape:
    return TemplateShape(
        slots=tuple(template_slots(components, parameter_format)),
        named=parameter_format == NAMED,
        media_format=header_format(components).lower(),
        header_text=_component_text(components, "HEADER"),
        body_text=_component_text(components, "BODY"),
        footer_text=_component_text(components, "FOOTER"),
    )


def template_render(
    *,
    components: Sequence[Mapping[str, Any]],
    parameter_format: str,
    language: str,
    mapping: Mapping[str, Any],
    values: Mapping[str, str],
    shape: TemplateShape | None = None,
) -> RenderedTemplate:
    """Fill every slot of one language version of a template for one contact (`shape`: the
    version read once by the caller, for batches)."""
    shape = shape or template_shape(components, parameter_format)
    slots = shape.slots
    named = shape.named
    result = RenderedTemplate(language=language, media_format=shape.media_format)
    header_filled: dict[str, str] = {}
    body_filled: dict[str, str] = {}
    header: list[TemplateParameter] = []
    body: list[TemplateParameter] = []
    buttons: list[ButtonParameter] = []
    for slot in slots:
        if slot.media_format:
            continue
        source = source_of(mapping, slot.key)
        value, lacking = value_of(source, values) if source else ("", True)
        if lacking:
            result.lacking.append(slot.key)
        if not value.strip():
            result.empty.append(slot.key)
        variable = slot.name if slot.name else str(slot.position)
        parameter = TemplateParameter(value, name=slot.name if named else None)
        if slot.component == "header":
            header.append(parameter)
            header_filled[variable] = value
        elif slot.component == "body":
            body.append(parameter)
            body_filled[variable] = value
        else:
            buttons.append(
                ButtonParameter(
                    index=slot.button_index or 0, text=value, sub_type=slot.sub_type or "url"
                )
            )
    result.header_parameters = tuple(header)
    result.body_parameters = tuple(body)
    result.button_parameters = tuple(buttons)
    parts = [
        _substitute(shape.header_text, header_filled),
        _substitute(shape.body_text, body_filled),
        shape.footer_text,
    ]
    result.text = "\n\n".join(part for part in parts if part.strip())
    return result


def _norm(code: str) -> str:
    return code.strip().replace("-", "_").lower()


def language_pick(
    *, contact_language: str, contact_country: str, available: Iterable[str], default: str
) -> str:
    """The translation a contact gets: its language (exactly, else the same base language,
    e.g. "en" -> "en_US"), else its country's usual language, else the campaign's default."""
    codes = list(available)
    by_norm = {_norm(code): code for code in codes}
    wanted = [contact_language] if contact_language else []
    country_language = COUNTRY_LANGUAGES.get((contact_country or "").upper())
    if country_language:
        wanted.append(country_language)
    for code in wanted:
        norm = _norm(code)
        if norm in by_norm:
            return by_norm[norm]
        base = norm.split("_", 1)[0]
        if base in by_norm:
            return by_norm[base]
        same_base = sorted(c for n, c in by_norm.items() if n.split("_", 1)[0] == base)
        if same_base:
            return same_base[0]
    return default


#: The `type` of a queued single message that is a filled WhatsApp template (a campaign's test
#: send): its parameters are kept on the row, its header media is the campaign's.
TEMPLATE_CONTENT_TYPE = "template"


@dataclass(frozen=True)
class TemplateContent:
    """A filled template kept on a queued single message (`Message.content`): the name and
    language, the parameters as rendered when it was queued, and the campaign whose header
    media (its file, uploaded once per number and reused by id, or its link) it carries."""

    name: str
    language: str
    campaign_id: int | None = None
    header_parameters: tuple[TemplateParameter, ...] = ()
    body_parameters: tuple[TemplateParameter, ...] = ()
    button_parameters: tuple[ButtonParameter, ...] = ()

    @classmethod
    def of(
        cls, rendered: RenderedTemplate, *, name: str, campaign_id: int | None
    ) -> TemplateContent:
        return cls(
            name=name,
            language=rendered.language,
            campaign_id=campaign_id,
            header_parameters=rendered.header_parameters,
            body_parameters=rendered.body_parameters,
            button_parameters=rendered.button_parameters,
        )

    def to_json(self) -> dict[str, Any]:
        def parameters(items: Sequence[TemplateParameter]) -> list[dict[str, str | None]]:
            return [{"text": p.text, "name": p.name} for p in items]

        return {
            "type": TEMPLATE_CONTENT_TYPE,
            "name": self.name,
            "language": self.language,
            "campaign": self.campaign_id,
            "header": parameters(self.header_parameters),
            "body": parameters(self.body_parameters),
            "buttons": [
                {"index": b.index, "text": b.text, "sub_type": b.sub_type}
                for b in self.button_parameters
            ],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TemplateContent:
        def parameters(items: Any) -> tuple[TemplateParameter, ...]:
            return tuple(
                TemplateParameter(str(p["text"]), name=p.get("name") or None) for p in items or ()
            )

        return cls(
            name=str(data["name"]),
            language=str(data["language"]),
            campaign_id=int(data["campaign"]) if data.get("campaign") is not None else None,
            header_parameters=parameters(data.get("header")),
            body_parameters=parameters(data.get("body")),
            button_parameters=tuple(
                ButtonParameter(
                    index=int(b["index"]), text=str(b["text"]), sub_type=str(b["sub_type"])
                )
                for b in data.get("buttons") or ()
            ),
        )


def is_template_content(data: Any) -> bool:
    return isinstance(data, Mapping) and data.get("type") == TEMPLATE_CONTENT_TYPE
