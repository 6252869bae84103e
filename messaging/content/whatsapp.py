"""Meta WhatsApp templates, read and checked. Pure: no ORM, no I/O.

`components` is always Meta's own component list, exactly as `GET /{waba_id}/message_templates`
returns it and `POST` there takes it:

    [{"type": "HEADER", "format": "TEXT", "text": "Hi {{1}}",
      "example": {"header_text": ["Aysel"]}},
     {"type": "HEADER", "format": "IMAGE", "example": {"header_handle": ["4::aW..."]}},
     {"type": "BODY", "text": "Order {{1}} ships on {{2}}",
      "example": {"body_text": [["#1042", "Monday"]]}},
     {"type": "FOOTER", "text": "Reply STOP to opt out"},
     {"type": "BUTTONS", "buttons": [
        {"type": "QUICK_REPLY", "text": "Stop"},
        {"type": "URL", "text": "Track", "url": "https://x.az/t/{{1}}", "example": ["abc"]},
        {"type": "PHONE_NUMBER", "text": "Call", "phone_number": "+994501234567"},
        {"type": "COPY_CODE", "example": "SAVE10"}]}]

Named parameters (`parameter_format` NAMED) write `{{first_name}}` and give examples as
`{"body_text_named_params": [{"param_name": "first_name", "example": "Aysel"}]}` (and
`header_text_named_params`).

`template_slots` lists what a send must fill; `template_validate` applies Meta's authoring
rules before a template is submitted; `template_components_build` turns the editor's fields into
Meta's components."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

POSITIONAL = "POSITIONAL"
NAMED = "NAMED"

# Meta's authoring limits (Meta docs `templates/components`, `templates/overview`).
MAX_NAME_CHARS = 512
MAX_HEADER_TEXT_CHARS = 60
MAX_BODY_CHARS = 1024
MAX_FOOTER_CHARS = 60
MAX_BUTTON_TEXT_CHARS = 25
MAX_URL_CHARS = 2000
MAX_PHONE_CHARS = 20
MAX_COPY_CODE_CHARS = 15
MAX_BUTTONS = 10
MAX_URL_BUTTONS = 2
MAX_PHONE_BUTTONS = 1
MAX_COPY_CODE_BUTTONS = 1
MEDIA_FORMATS = ("IMAGE", "VIDEO", "DOCUMENT")
HEADER_FORMATS = ("TEXT", *MEDIA_FORMATS, "LOCATION")

VARIABLE = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")
NAME_RE = re.compile(r"^[a-z0-9_]+$")
NAMED_PARAM_RE = re.compile(r"^[a-z][a-z0-9_]*$")
LANGUAGE_RE = re.compile(r"^[a-z]{2,3}(_[A-Za-z]{2,4})?$")

SlotComponent = Literal["header", "body", "button"]


@dataclass(frozen=True, slots=True)
class TemplateSlot:
    """One value a send must supply, in the words of Meta's send payload.

    - `component`: "header", "body" or "button" (the send's `components[].type`).
    - `key`: unique within the template, stable, for mappings: "header.1", "header.media",
      "body.1", "body.first_name", "button.0" (the button's index).
    - `position`: the positional number (1-based) or None; `name`: the named parameter or None.
      A send puts positional parameters in `position` order and named ones with
      `"parameter_name": name`.
    - `button_index` and `sub_type` ("url", "copy_code") for buttons; the send's
      `{"type": "button", "sub_type": sub_type, "index": str(button_index)}`.
    - `parameter_type`: the send parameter's `type`: "text", "image", "video", "document",
      "location" or "coupon_code".
    - `media_format`: "image", "video", "document" or "location" for a media header, else None.
    - `example`: Meta's example value for the slot ("" if none; a header handle for media).
    """

    component: SlotComponent
    key: str
    parameter_type: str
    example: str = ""
    position: int | None = None
    name: str | None = None
    button_index: int | None = None
    sub_type: str | None = None
    media_format: str | None = None

    @property
    def label(self) -> str:
        """How the editor and pre-flight name the slot, e.g. "body {{1}}", "button 2 (url)"."""
        if self.component == "button":
            return f"button {(self.button_index or 0) + 1} ({self.sub_type})"
        if self.media_format:
            return f"header ({self.media_format})"
        return f"{self.component} {{{{{self.name or self.position}}}}}"


def variables_in(text: str) -> list[str]:
    """The variables written in `text`, in order, as written ("1", "first_name")."""
    return [match.group(1) for match in VARIABLE.finditer(text or "")]


def _component(components: Sequence[Mapping[str, Any]], kind: str) -> Mapping[str, Any] | None:
    for component in components or ():
        if isinstance(component, Mapping) and str(component.get("type", "")).upper() == kind:
            return component
    return None


def _text_examples(
    component: Mapping[str, Any], *, positional_key: str, named_key: str
) -> tuple[list[str], dict[str, str]]:
    example = component.get("example") or {}
    if not isinstance(example, Mapping):
        return [], {}
    positional = example.get(positional_key) or []
    # body_text is a list of lists (one per example set); header_text a flat list.
    if positional and isinstance(positional[0], list):
        positional = positional[0]
    named = {
        str(item.get("param_name")): str(item.get("example", ""))
        for item in example.get(named_key) or []
        if isinstance(item, Mapping)
    }
    return [str(value) for value in positional], named


def _text_slots(
    component: Mapping[str, Any],
    *,
    which: SlotComponent,
    parameter_format: str,
    positional_key: str,
    named_key: str,
) -> list[TemplateSlot]:
    positional, named = _text_examples(
        component, positional_key=positional_key, named_key=named_key
    )
    slots: list[TemplateSlot] = []
    seen: set[str] = set()
    for variable in variables_in(str(component.get("text", ""))):
        if variable in seen:
            continue
        seen.add(variable)
        if parameter_format == NAMED and not variable.isdigit():
            slots.append(
                TemplateSlot(
                    component=which,
                    key=f"{which}.{variable}",
                    parameter_type="text",
                    name=variable,
                    example=named.get(variable, ""),
                )
            )
        elif variable.isdigit():
            position = int(variable)
            slots.append(
                TemplateSlot(
                    component=which,
                    key=f"{which}.{position}",
                    parameter_type="text",
                    position=position,
                    example=positional[position - 1] if 0 < position <= len(positional) else "",
                )
            )
    if parameter_format != NAMED:
        slots.sort(key=lambda slot: slot.position or 0)
    return slots


def template_slots(
    components: Sequence[Mapping[str, Any]], parameter_format: str = POSITIONAL
) -> list[TemplateSlot]:
    """Every value a send of this template must fill, in send order: header, body, buttons.

    Positional slots come in numeric order (the order Meta expects the parameters in); named
    slots in the order they first appear. A media header is one slot (`header.media`); a LOCATION
    header too. Buttons: a URL button whose `url` has a variable (its dynamic suffix), a
    COPY_CODE button (the coupon code) and an OTP button (the code, sent as a url parameter)
    each have one; quick replies, phone and static URL buttons have none."""
    slots: list[TemplateSlot] = []
    header = _component(components, "HEADER")
    if header is not None:
        header_format = str(header.get("format", "TEXT")).upper()
        if header_format in MEDIA_FORMATS or header_format == "LOCATION":
            handles = (header.get("example") or {}).get("header_handle") or [""]
            slots.append(
                TemplateSlot(
                    component="header",
                    key="header.media",
                    parameter_type=header_format.lower(),
                    media_format=header_format.lower(),
                    example=str(handles[0]) if header_format != "LOCATION" else "",
                )
            )
        else:
            slots.extend(
                _text_slots(
                    header,
                    which="header",
                    parameter_format=parameter_format,
                    positional_key="header_text",
                    named_key="header_text_named_params",
                )
            )
    body = _component(components, "BODY")
    if body is not None:
        slots.extend(
            _text_slots(
                body,
                which="body",
                parameter_format=parameter_format,
                positional_key="body_text",
                named_key="body_text_named_params",
            )
        )
    buttons_component = _component(components, "BUTTONS")
    buttons = (buttons_component or {}).get("buttons") or []
    for index, button in enumerate(buttons):
        if not isinstance(button, Mapping):
            continue
        kind = str(button.get("type", "")).upper()
        example = button.get("example")
        first_example = str(example[0]) if isinstance(example, list) and example else ""
        if kind == "URL" and variables_in(str(button.get("url", ""))):
            slots.append(
                TemplateSlot(
                    component="button",
                    key=f"button.{index}",
                    parameter_type="text",
                    button_index=index,
                    sub_type="url",
                    example=first_example,
                )
            )
        elif kind == "COPY_CODE":
            slots.append(
                TemplateSlot(
                    component="button",
                    key=f"button.{index}",
                    parameter_type="coupon_code",
                    button_index=index,
                    sub_type="copy_code",
                    example=str(example) if isinstance(example, str) else first_example,
                )
            )
        elif kind == "OTP":
            slots.append(
                TemplateSlot(
                    component="button",
                    key=f"button.{index}",
                    parameter_type="text",
                    button_index=index,
                    sub_type="url",
                )
            )
    return slots


def header_format(components: Sequence[Mapping[str, Any]]) -> str:
    """ "" when the template has no header, else "TEXT", "IMAGE", "VIDEO", "DOCUMENT" or
    "LOCATION"."""
    header = _component(components, "HEADER")
    return "" if header is None else str(header.get("format", "TEXT")).upper()


def body_text(components: Sequence[Mapping[str, Any]]) -> str:
    body = _component(components, "BODY")
    return "" if body is None else str(body.get("text", ""))


@dataclass
class TemplateErrors:
    """Field errors from `template_validate`, keyed by the editor's field names ("name",
    "header_text", "body", "body_examples", "footer", "buttons", "buttons.0.text" ...)."""

    errors: dict[str, list[str]] = field(default_factory=dict)

    def add(self, key: str, message: str) -> None:
        self.errors.setdefault(key, []).append(message)

    def __bool__(self) -> bool:
        return bool(self.errors)
