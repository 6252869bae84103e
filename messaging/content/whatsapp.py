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

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

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


# --- Meta's authoring rules ------------------------------------------------------------------

BUTTON_LIMITS = {"QUICK_REPLY": 10, "URL": MAX_URL_BUTTONS, "PHONE_NUMBER": MAX_PHONE_BUTTONS}
BUTTON_LIMITS["COPY_CODE"] = MAX_COPY_CODE_BUTTONS
BUTTON_TYPES = ("QUICK_REPLY", "URL", "PHONE_NUMBER", "COPY_CODE")
_ADJACENT = re.compile(r"\}\}\s*\{\{")
_PHONE = re.compile(r"^\+?[0-9]{4,19}$")


@dataclass
class _Errors:
    errors: dict[str, list[str]] = field(default_factory=dict)

    def add(self, key: str, message: str) -> None:
        self.errors.setdefault(key, []).append(message)


def template_validate(
    *,
    name: str,
    language: str,
    category: str,
    parameter_format: str,
    components: Sequence[Mapping[str, Any]],
) -> dict[str, list[str]]:
    """Meta's rules for a new template, checked before it is submitted; {} when it passes.

    Errors are keyed by part: "name", "language", "category", "parameter_format", "header",
    "body", "footer", "buttons" (each a list of sentences a person can act on). The rules are
    Meta's (`templates/overview`, `templates/components`): a name of lowercase letters, digits
    and underscores; a body of at most 1024 characters whose variables are not at its start or
    end, never side by side, numbered 1, 2, 3... in positional format, each with an example; a
    text header of at most 60 characters with at most one variable; a media header with an
    example handle; a footer of at most 60 characters without variables; at most 10 buttons
    (2 URL, 1 phone, 1 copy code), quick replies grouped together, button text at most 25
    characters, a URL variable only at the end of the URL and with an example."""
    out = _Errors()
    if not NAME_RE.match(name or "") or len(name) > MAX_NAME_CHARS:
        out.add(
            "name",
            _(
                "Use only lowercase letters, digits and underscores (e.g. order_update), at most "
                "512 characters."
            ),
        )
    if not LANGUAGE_RE.match(language or ""):
        out.add("language", _("Choose a language code such as en, az or en_US."))
    if category not in ("MARKETING", "UTILITY", "AUTHENTICATION"):
        out.add("category", _("Choose Marketing, Utility or Authentication."))
    if parameter_format not in (POSITIONAL, NAMED):
        out.add("parameter_format", _("Choose positional ({{1}}) or named ({{name}}) variables."))
        parameter_format = POSITIONAL
    kinds = [str(c.get("type", "")).upper() for c in components if isinstance(c, Mapping)]
    for kind in set(kinds):
        if kinds.count(kind) > 1:
            out.add(kind.lower(), _("A template has at most one %(part)s.") % {"part": kind})
    header = _component(components, "HEADER")
    body = _component(components, "BODY")
    footer = _component(components, "FOOTER")
    buttons = _component(components, "BUTTONS")
    if header is not None:
        _header_check(header, parameter_format, out)
    if body is None or not str(body.get("text", "")).strip():
        out.add("body", _("The body is required."))
    else:
        _body_check(body, parameter_format, out)
    if footer is not None:
        text = str(footer.get("text", ""))
        if len(text) > MAX_FOOTER_CHARS:
            out.add("footer", _too_long(MAX_FOOTER_CHARS, len(text)))
        if variables_in(text):
            out.add("footer", _("The footer cannot contain variables."))
    if buttons is not None:
        _buttons_check(list(buttons.get("buttons") or []), out)
    return out.errors


def _too_long(limit: int, length: int) -> str:
    return _("At most %(limit)d characters (this has %(length)d).") % {
        "limit": limit,
        "length": length,
    }


def _variables_check(
    text: str, parameter_format: str, where: str, out: _Errors
) -> list[str] | None:
    """The distinct variables of `text` in order, or None when their names break the format."""
    names = list(dict.fromkeys(variables_in(text)))
    if parameter_format == POSITIONAL:
        if any(not v.isdigit() for v in names):
            out.add(where, _("Positional variables are numbers: {{1}}, {{2}}, ..."))
            return None
        numbers = sorted(int(v) for v in names)
        if numbers != list(range(1, len(numbers) + 1)):
            out.add(
                where,
                _("Number the variables in order without gaps: {{1}}, {{2}}, {{3}}, ..."),
            )
            return None
    else:
        bad = [v for v in names if not NAMED_PARAM_RE.match(v)]
        if bad:
            out.add(
                where,
                _(
                    "Named variables use lowercase letters, digits and underscores and start "
                    "with a letter: %(names)s"
                )
                % {"names": ", ".join("{{" + v + "}}" for v in bad)},
            )
            return None
    return names


def _examples_of(
    component: Mapping[str, Any],
    parameter_format: str,
    names: list[str],
    positional_key: str,
    named_key: str,
) -> list[str]:
    """The example for each variable, in `names` order ("" where missing)."""
    positional, named = _text_examples(
        component, positional_key=positional_key, named_key=named_key
    )
    if parameter_format == NAMED:
        return [named.get(n, "") for n in names]
    return [
        positional[int(n) - 1] if int(n) - 1 < len(positional) else ""
        for n in sorted(names, key=int)
    ]


def _header_check(header: Mapping[str, Any], parameter_format: str, out: _Errors) -> None:
    fmt = str(header.get("format", "TEXT")).upper()
    if fmt not in HEADER_FORMATS:
        out.add("header", _("A header is text, an image, a video, a document or a location."))
        return
    if fmt in MEDIA_FORMATS:
        handles = (header.get("example") or {}).get("header_handle") or []
        if not handles or not str(handles[0]).strip():
            out.add(
                "header",
                _("A %(kind)s header needs an example: upload a sample file or give its handle.")
                % {"kind": fmt.lower()},
            )
        return
    if fmt != "TEXT":
        return
    text = str(header.get("text", ""))
    if not text.strip():
        out.add("header", _("Write the header text, or choose no header."))
        return
    if len(text) > MAX_HEADER_TEXT_CHARS:
        out.add("header", _too_long(MAX_HEADER_TEXT_CHARS, len(text)))
    names = _variables_check(text, parameter_format, "header", out)
    if names is None:
        return
    if len(names) > 1:
        out.add("header", _("A text header can have at most one variable."))
        return
    examples = _examples_of(
        header, parameter_format, names, "header_text", "header_text_named_params"
    )
    if any(not e.strip() for e in examples):
        out.add("header", _("Give an example value for the header's variable."))


def _body_check(body: Mapping[str, Any], parameter_format: str, out: _Errors) -> None:
    text = str(body.get("text", ""))
    if len(text) > MAX_BODY_CHARS:
        out.add("body", _too_long(MAX_BODY_CHARS, len(text)))
    names = _variables_check(text, parameter_format, "body", out)
    if names is None or not names:
        return
    stripped = text.strip()
    if VARIABLE.match(stripped):
        out.add("body", _("The body cannot start with a variable: put some words before it."))
    if re.search(r"\{\{\s*[A-Za-z0-9_]+\s*\}\}$", stripped):
        out.add("body", _("The body cannot end with a variable: put some words after it."))
    if _ADJACENT.search(text):
        out.add("body", _("Two variables cannot be side by side: put words between them."))
    examples = _examples_of(body, parameter_format, names, "body_text", "body_text_named_params")
    missing = [
        "{{" + n + "}}"
        for n, e in zip(
            names if parameter_format == NAMED else sorted(names, key=int), examples, strict=True
        )
        if not e.strip()
    ]
    if missing:
        out.add(
            "body",
            _("Give an example value for each variable: %(names)s") % {"names": ", ".join(missing)},
        )


def _buttons_check(buttons: list[Any], out: _Errors) -> None:
    if len(buttons) > MAX_BUTTONS:
        out.add("buttons", _("At most %(n)d buttons.") % {"n": MAX_BUTTONS})
    kinds = [str(b.get("type", "")).upper() if isinstance(b, Mapping) else "" for b in buttons]
    for kind, limit in BUTTON_LIMITS.items():
        if kinds.count(kind) > limit:
            out.add(
                "buttons",
                ngettext("At most %(n)d %(kind)s button.", "At most %(n)d %(kind)s buttons.", limit)
                % {"n": limit, "kind": kind},
            )
    # Quick replies and the other buttons form two groups, never interleaved.
    groups = [k == "QUICK_REPLY" for k in kinds]
    switches = sum(1 for a, b in zip(groups, groups[1:], strict=False) if a != b)
    if switches > 1:
        out.add("buttons", _("Keep the quick reply buttons together, before or after the others."))
    for index, (kind, button) in enumerate(zip(kinds, buttons, strict=True), start=1):
        if kind not in BUTTON_TYPES:
            out.add("buttons", _("Button %(i)d: unknown type.") % {"i": index})
            continue
        text = str(button.get("text", ""))
        if kind != "COPY_CODE":
            if not text.strip():
                out.add("buttons", _("Button %(i)d: write its text.") % {"i": index})
            elif len(text) > MAX_BUTTON_TEXT_CHARS:
                out.add(
                    "buttons",
                    _("Button %(i)d: text of at most %(n)d characters.")
                    % {"i": index, "n": MAX_BUTTON_TEXT_CHARS},
                )
        if kind == "URL":
            _url_button_check(index, button, out)
        elif kind == "PHONE_NUMBER":
            phone = str(button.get("phone_number", "")).replace(" ", "")
            if not _PHONE.match(phone) or len(phone) > MAX_PHONE_CHARS:
                out.add(
                    "buttons",
                    _("Button %(i)d: a phone number with its country code, e.g. +994501234567.")
                    % {"i": index},
                )
        elif kind == "COPY_CODE":
            example = button.get("example")
            code = str(example[0] if isinstance(example, list) and example else example or "")
            if not code.strip() or len(code) > MAX_COPY_CODE_CHARS:
                out.add(
                    "buttons",
                    _("Button %(i)d: an example code of 1 to %(n)d characters.")
                    % {"i": index, "n": MAX_COPY_CODE_CHARS},
                )


def _url_button_check(index: int, button: Mapping[str, Any], out: _Errors) -> None:
    url = str(button.get("url", ""))
    if not re.match(r"^https?://[^\s/]+\.[^\s]+", url) or len(url) > MAX_URL_CHARS:
        out.add(
            "buttons",
            _("Button %(i)d: a web address starting with https://.") % {"i": index},
        )
        return
    names = variables_in(url)
    if not names:
        return
    if len(names) > 1 or not re.search(r"\{\{\s*1\s*\}\}$", url):
        out.add(
            "buttons",
            _("Button %(i)d: the address can have one variable, {{1}}, at its very end.")
            % {"i": index},
        )
        return
    example = button.get("example")
    first = str(example[0]) if isinstance(example, list) and example else ""
    if not first.strip():
        out.add(
            "buttons",
            _("Button %(i)d: give an example of the address's dynamic part.") % {"i": index},
        )


# --- building components from the editor's fields --------------------------------------------


def template_components_build(
    *,
    parameter_format: str,
    header_format: str = "",
    header_text: str = "",
    header_example: str = "",
    header_handle: str = "",
    body: str,
    body_examples: Sequence[str] = (),
    footer: str = "",
    buttons: Sequence[Mapping[str, Any]] = (),
) -> list[dict[str, Any]]:
    """Meta's components from the editor's fields. `body_examples` has one value per distinct
    variable in order of first appearance (named) or numeric order (positional); `buttons` are
    dicts with "type", "text", "url", "url_example", "phone_number", "code"."""
    components: list[dict[str, Any]] = []
    header_format = (header_format or "").upper()
    if header_format == "TEXT" and header_text:
        header: dict[str, Any] = {"type": "HEADER", "format": "TEXT", "text": header_text}
        names = list(dict.fromkeys(variables_in(header_text)))
        if names:
            if parameter_format == NAMED:
                header["example"] = {
                    "header_text_named_params": [
                        {"param_name": names[0], "example": header_example}
                    ]
                }
            else:
                header["example"] = {"header_text": [header_example]}
        components.append(header)
    elif header_format in MEDIA_FORMATS or header_format == "LOCATION":
        header = {"type": "HEADER", "format": header_format}
        if header_format in MEDIA_FORMATS:
            header["example"] = {"header_handle": [header_handle] if header_handle else []}
        components.append(header)
    body_component: dict[str, Any] = {"type": "BODY", "text": body}
    names = list(dict.fromkeys(variables_in(body)))
    if names:
        values = [str(v) for v in body_examples] + [""] * max(0, len(names) - len(body_examples))
        if parameter_format == NAMED:
            body_component["example"] = {
                "body_text_named_params": [
                    {"param_name": n, "example": values[i]} for i, n in enumerate(names)
                ]
            }
        else:
            body_component["example"] = {"body_text": [values[: len(names)]]}
    components.append(body_component)
    if footer:
        components.append({"type": "FOOTER", "text": footer})
    built: list[dict[str, Any]] = []
    for button in buttons:
        kind = str(button.get("type", "")).upper()
        if kind == "QUICK_REPLY":
            built.append({"type": kind, "text": button.get("text", "")})
        elif kind == "URL":
            item: dict[str, Any] = {
                "type": kind,
                "text": button.get("text", ""),
                "url": button.get("url", ""),
            }
            if variables_in(str(button.get("url", ""))):
                item["example"] = [button.get("url_example", "")]
            built.append(item)
        elif kind == "PHONE_NUMBER":
            built.append(
                {
                    "type": kind,
                    "text": button.get("text", ""),
                    "phone_number": button.get("phone_number", ""),
                }
            )
        elif kind == "COPY_CODE":
            built.append({"type": kind, "example": button.get("code", "")})
    if built:
        components.append({"type": "BUTTONS", "buttons": built})
    return components
