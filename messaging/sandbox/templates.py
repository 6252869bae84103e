"""Meta's message templates as the sandbox models them: creation rules and send-time checks.

Every rule here comes from Meta's documents, not from what iSend sends (the sandbox models
WhatsApp, not our code):

* creation (``POST /{waba_id}/message_templates``): Meta ``templates/overview`` ("names ...
  maximum of 512 characters, lowercase alphanumeric characters and underscores"; categories
  AUTHENTICATION/MARKETING/UTILITY; ``parameter_format`` POSITIONAL or NAMED, positional by
  default; "you must include an example value for each parameter") and Meta ``template
  components`` (one text header of at most 60 characters with at most 1 parameter, or a media
  header with an ``example.header_handle``; a body of at most 1024 characters, the only required
  component; a footer of at most 60 characters; at most 10 buttons: up to 10 quick replies, 2
  URL buttons, 1 phone number button, 1 copy code button, quick replies grouped together; a URL
  button has at most one variable, at the end of the URL, with an example);
* review (``message_template_status_update``, research §1.6): adjacent parameters such as
  ``{{1}}{{2}}`` are rejected with ``INVALID_FORMAT`` and Meta's ``rejection_info``;
* sending (research §1.1 and the §1.4 error table): 132001 when the name/language does not exist
  or is not approved, 132000 when a component's parameter count does not match, 132012 when a
  parameter's format does not (e.g. a text where the header expects an image), 132015 paused,
  132016 disabled.

Where Meta's documents are silent the sandbox's choices are marked "(sandbox choice)".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

NAME_PATTERN = re.compile(r"^[a-z0-9_]{1,512}$")
#: Meta's language codes look like ``en``, ``en_US``, ``az``, ``pt_BR``, ``zh_HK`` (sandbox
#: choice: any 2-3 letter code with an optional region/script).
LANGUAGE_PATTERN = re.compile(r"^[a-z]{2,3}(?:_[A-Z]{2}|_[A-Za-z]{4})?$")
CATEGORIES = ("MARKETING", "UTILITY", "AUTHENTICATION")
PARAMETER_FORMATS = ("POSITIONAL", "NAMED")
STATUSES = ("PENDING", "APPROVED", "REJECTED", "PAUSED", "DISABLED")
QUALITY_SCORES = ("GREEN", "YELLOW", "RED", "UNKNOWN")
#: Rejection reasons of ``message_template_status_update`` (Meta webhook reference).
REJECTION_REASONS = (
    "ABUSIVE_CONTENT",
    "INCORRECT_CATEGORY",
    "INVALID_FORMAT",
    "PROMOTIONAL",
    "SCAM",
    "TAG_CONTENT_MISMATCH",
)
MEDIA_FORMATS = ("IMAGE", "VIDEO", "DOCUMENT")
HEADER_FORMATS = ("TEXT", *MEDIA_FORMATS, "LOCATION")
MAX_HEADER_TEXT = 60
MAX_BODY_TEXT = 1024
MAX_FOOTER_TEXT = 60
MAX_BUTTON_TEXT = 25
MAX_URL = 2000
MAX_PHONE = 20
MAX_COPY_CODE_EXAMPLE = 15
MAX_BUTTONS = 10
BUTTON_LIMITS = {"QUICK_REPLY": 10, "URL": 2, "PHONE_NUMBER": 1, "COPY_CODE": 1}

_VARIABLE = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
_POSITIONAL_NAME = re.compile(r"^[1-9][0-9]*$")
_NAMED_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
_ADJACENT = re.compile(r"\}\}\s*\{\{")
#: Meta: "Param text cannot have new-line/tab characters or more than 4 consecutive spaces".
_BAD_PARAMETER_TEXT = re.compile(r"[\n\t]| {5,}")


class TemplateError(ValueError):
    """A creation payload Meta would refuse: Graph code 100 with a user title and message."""

    def __init__(
        self, message: str, *, title: str = "Invalid parameter", subcode: int | None = None
    ):
        super().__init__(message)
        self.title = title
        self.subcode = subcode


class SendError(ValueError):
    """A template send Meta would refuse: ``(code, details)``."""

    def __init__(self, code: int, details: str):
        super().__init__(details)
        self.code = code
        self.details = details


@dataclass(frozen=True, slots=True)
class ButtonSpec:
    """What a send must supply for one button (by its index in the BUTTONS component)."""

    index: int
    kind: str  # QUICK_REPLY, URL, PHONE_NUMBER, COPY_CODE
    needs_parameter: bool


@dataclass(frozen=True, slots=True)
class SendSpec:
    """The parameters a template expects when sent, derived from its components."""

    header_format: str | None  # TEXT, IMAGE, VIDEO, DOCUMENT, LOCATION or None
    header_variables: tuple[str, ...]
    body_variables: tuple[str, ...]
    buttons: tuple[ButtonSpec, ...]


@dataclass(slots=True)
class Template:
    """One template in one language of one WABA (Meta: names are unique per language)."""

    id: str
    waba_id: str
    name: str
    language: str
    category: str
    parameter_format: str
    components: list[dict[str, Any]]
    spec: SendSpec
    status: str = "PENDING"
    rejected_reason: str = "NONE"
    rejection_info: dict[str, str] | None = None
    quality_score: str = "UNKNOWN"
    quality_updated_at: int = 0
    previous_category: str | None = None
    pause_count: int = 0
    created_at: float = 0.0
    #: Bumped by every scheduled review or unpause, so a stale timer does nothing.
    review_generation: int = 0
    sent: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def graph(self, fields: tuple[str, ...] | None = None) -> dict[str, Any]:
        """The template node as ``GET message_templates`` shows it (``id`` always included)."""
        full: dict[str, Any] = {
            "name": self.name,
            "parameter_format": self.parameter_format,
            "components": self.components,
            "language": self.language,
            "status": self.status,
            "category": self.category,
            "id": self.id,
        }
        if fields is None:
            return full
        extra = {
            "rejected_reason": self.rejected_reason,
            "quality_score": {"score": self.quality_score, "date": self.quality_updated_at},
            "previous_category": self.previous_category,
        }
        everything = {**full, **extra}
        return {name: everything[name] for name in fields if name in everything} | {"id": self.id}

    def control(self) -> dict[str, Any]:
        """What the sandbox's control API shows (everything, for tests and the page)."""
        return {
            **self.graph(),
            "waba_id": self.waba_id,
            "rejected_reason": self.rejected_reason,
            "rejection_info": self.rejection_info,
            "quality_score": self.quality_score,
            "previous_category": self.previous_category,
            "pause_count": self.pause_count,
            "sent": self.sent,
        }


GRAPH_FIELDS = (
    "name",
    "parameter_format",
    "components",
    "language",
    "status",
    "category",
    "id",
    "rejected_reason",
    "quality_score",
    "previous_category",
)


# Creation ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Definition:
    """A validated creation payload."""

    name: str
    language: str
    category: str
    parameter_format: str
    components: list[dict[str, Any]]
    spec: SendSpec


def parse_definition(body: Any) -> Definition:
    """Check a ``message_templates`` creation payload the way Meta does; raise TemplateError."""
    if not isinstance(body, dict):
        raise TemplateError("The request body must be a JSON object.")
    name = body.get("name")
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise TemplateError(
            "Param name must be at most 512 characters of lowercase letters, digits and "
            "underscores.",
            title="Invalid template name",
        )
    language = body.get("language")
    if not isinstance(language, str) or not LANGUAGE_PATTERN.match(language):
        raise TemplateError(f"Param language is not a valid language code: {language!r}.")
    category = str(body.get("category") or "").upper()
    if category not in CATEGORIES:
        raise TemplateError("Param category must be one of {MARKETING, UTILITY, AUTHENTICATION}.")
    parameter_format = str(body.get("parameter_format") or "POSITIONAL").upper()
    if parameter_format not in PARAMETER_FORMATS:
        raise TemplateError("Param parameter_format must be one of {POSITIONAL, NAMED}.")
    raw_components = body.get("components")
    if not isinstance(raw_components, list) or not raw_components:
        raise TemplateError("Param components must be a non-empty list.")
    components: list[dict[str, Any]] = []
    seen: set[str] = set()
    header_format: str | None = None
    header_variables: tuple[str, ...] = ()
    body_variables: tuple[str, ...] | None = None
    buttons: tuple[ButtonSpec, ...] = ()
    for raw in raw_components:
        if not isinstance(raw, dict):
            raise TemplateError("Each component must be an object.")
        kind = str(raw.get("type") or "").upper()
        if kind not in ("HEADER", "BODY", "FOOTER", "BUTTONS"):
            raise TemplateError(f"Component type {raw.get('type')!r} is not supported.")
        if kind in seen:
            raise TemplateError(f"A template may have only one {kind} component.")
        seen.add(kind)
        component = {**raw, "type": kind}
        if kind == "HEADER":
            header_format, header_variables = _check_header(component, parameter_format, category)
        elif kind == "BODY":
            body_variables = _check_body(component, parameter_format)
        elif kind == "FOOTER":
            _check_footer(component)
        else:
            buttons = _check_buttons(component)
        components.append(component)
    if body_variables is None:
        raise TemplateError("A template needs a BODY component.", title="Missing body")
    return Definition(
        name=name,
        language=language,
        category=category,
        parameter_format=parameter_format,
        components=components,
        spec=SendSpec(header_format, header_variables, body_variables, buttons),
    )


def variables_of(text: str, parameter_format: str, where: str) -> tuple[str, ...]:
    """The ``{{...}}`` variables of a text, checked for the template's parameter format."""
    names = tuple(match.group(1) for match in _VARIABLE.finditer(text))
    if parameter_format == "POSITIONAL":
        if any(not _POSITIONAL_NAME.match(n) for n in names):
            raise TemplateError(
                f"{where}: positional parameters must be whole numbers in double curly "
                "brackets, for example {{1}}.",
                title="Invalid parameter format",
            )
        if list(names) != [str(n) for n in range(1, len(names) + 1)]:
            raise TemplateError(
                f"{where}: positional parameters must be sequential, starting at {{{{1}}}}.",
                title="Invalid parameter format",
            )
    else:
        if any(not _NAMED_NAME.match(n) for n in names):
            raise TemplateError(
                f"{where}: named parameters must be lowercase letters, digits and underscores, "
                "for example {{first_name}}.",
                title="Invalid parameter format",
            )
        if len(set(names)) != len(names):
            raise TemplateError(f"{where}: named parameters must be unique.")
    return names


def _examples(
    component: dict[str, Any], names: tuple[str, ...], parameter_format: str, key: str, where: str
) -> None:
    """Meta requires an example value for each parameter (``<key>`` / ``<key>_named_params``)."""
    if not names:
        return
    example = component.get("example")
    if not isinstance(example, dict):
        raise TemplateError(
            f"{where} has parameters, so it needs an example value for each of them.",
            title="Missing examples",
        )
    if parameter_format == "NAMED":
        given = example.get(f"{key}_named_params")
        if not isinstance(given, list) or {
            str(item.get("param_name"))
            for item in given
            if isinstance(item, dict) and item.get("example")
        } != set(names):
            raise TemplateError(
                f"{where}: {key}_named_params must give a param_name and an example for each "
                f"of {', '.join(names)}.",
                title="Missing examples",
            )
        return
    given = example.get(key)
    values = given[0] if key == "body_text" and isinstance(given, list) and given else given
    if (
        not isinstance(values, list)
        or len(values) != len(names)
        or not all(isinstance(v, str) and v for v in values)
    ):
        raise TemplateError(
            f"{where}: example.{key} must give {len(names)} example value(s).",
            title="Missing examples",
        )


def _check_header(
    component: dict[str, Any], parameter_format: str, category: str
) -> tuple[str, tuple[str, ...]]:
    header_format = str(component.get("format") or "").upper()
    if header_format not in HEADER_FORMATS:
        raise TemplateError("HEADER format must be TEXT, IMAGE, VIDEO, DOCUMENT or LOCATION.")
    component["format"] = header_format
    if header_format == "TEXT":
        text = component.get("text")
        if not isinstance(text, str) or not text:
            raise TemplateError("A TEXT header needs its text.")
        if len(text) > MAX_HEADER_TEXT:
            raise TemplateError(f"Header text is limited to {MAX_HEADER_TEXT} characters.")
        names = variables_of(text, parameter_format, "HEADER")
        if len(names) > 1:
            raise TemplateError("A text header supports 1 parameter.", title="Too many parameters")
        _examples(component, names, parameter_format, "header_text", "HEADER")
        return header_format, names
    if header_format == "LOCATION":
        if category == "AUTHENTICATION":
            raise TemplateError("Location headers are for UTILITY or MARKETING templates.")
        return header_format, ()
    example = component.get("example")
    handles = example.get("header_handle") if isinstance(example, dict) else None
    if (
        not isinstance(handles, list)
        or not handles
        or not all(isinstance(h, str) and h for h in handles)
    ):
        raise TemplateError(
            f"A {header_format} header needs an example.header_handle (an uploaded sample).",
            title="Missing examples",
        )
    return header_format, ()


def _check_body(component: dict[str, Any], parameter_format: str) -> tuple[str, ...]:
    text = component.get("text")
    if not isinstance(text, str) or not text.strip():
        raise TemplateError("The BODY needs its text.", title="Missing body")
    if len(text) > MAX_BODY_TEXT:
        raise TemplateError(f"Body text is limited to {MAX_BODY_TEXT} characters.")
    names = variables_of(text, parameter_format, "BODY")
    stripped = text.strip()
    if names and (stripped.startswith("{{") or stripped.endswith("}}")):
        raise TemplateError(
            "Variables can't be at the start or end of the template.",
            title="Variables can't be at the start or end of the template",
            subcode=2388299,
        )
    _examples(component, names, parameter_format, "body_text", "BODY")
    return names


def _check_footer(component: dict[str, Any]) -> None:
    text = component.get("text")
    if not isinstance(text, str) or not text:
        raise TemplateError("The FOOTER needs its text.")
    if len(text) > MAX_FOOTER_TEXT:
        raise TemplateError(f"Footer text is limited to {MAX_FOOTER_TEXT} characters.")
    if _VARIABLE.search(text):
        raise TemplateError("A footer cannot have parameters.")


def _check_buttons(component: dict[str, Any]) -> tuple[ButtonSpec, ...]:
    raw_buttons = component.get("buttons")
    if not isinstance(raw_buttons, list) or not raw_buttons:
        raise TemplateError("A BUTTONS component needs a non-empty buttons list.")
    if len(raw_buttons) > MAX_BUTTONS:
        raise TemplateError(f"A template can have at most {MAX_BUTTONS} buttons.")
    counts: dict[str, int] = {}
    specs: list[ButtonSpec] = []
    kinds: list[str] = []
    buttons: list[dict[str, Any]] = []
    for index, raw in enumerate(raw_buttons):
        if not isinstance(raw, dict):
            raise TemplateError("Each button must be an object.")
        kind = str(raw.get("type") or "").upper()
        if kind not in BUTTON_LIMITS:
            raise TemplateError(
                f"Button type {raw.get('type')!r} is not supported "
                "(QUICK_REPLY, URL, PHONE_NUMBER, COPY_CODE)."
            )
        counts[kind] = counts.get(kind, 0) + 1
        if counts[kind] > BUTTON_LIMITS[kind]:
            raise TemplateError(
                f"A template can have at most {BUTTON_LIMITS[kind]} {kind} button(s).",
                title="Too many buttons",
            )
        button = {**raw, "type": kind}
        needs_parameter = False
        if kind != "COPY_CODE":
            text = button.get("text")
            if not isinstance(text, str) or not text or len(text) > MAX_BUTTON_TEXT:
                raise TemplateError(
                    f"Button text is required, at most {MAX_BUTTON_TEXT} characters."
                )
        if kind == "URL":
            needs_parameter = _check_url_button(button)
        elif kind == "PHONE_NUMBER":
            phone = button.get("phone_number")
            if not isinstance(phone, str) or not phone or len(phone) > MAX_PHONE:
                raise TemplateError(f"A PHONE_NUMBER button needs a phone_number (≤ {MAX_PHONE}).")
        elif kind == "COPY_CODE":
            example = button.get("example")
            if not isinstance(example, str) or not example or len(example) > MAX_COPY_CODE_EXAMPLE:
                raise TemplateError(
                    f"A COPY_CODE button needs an example code (≤ {MAX_COPY_CODE_EXAMPLE})."
                )
            needs_parameter = True
        specs.append(ButtonSpec(index, kind, needs_parameter))
        kinds.append(kind)
        buttons.append(button)
    groups = [k == "QUICK_REPLY" for k in kinds]
    if sum(1 for a, b in zip(groups, groups[1:], strict=False) if a != b) > 1:
        raise TemplateError(
            "Quick reply buttons must be grouped together, apart from the other buttons.",
            title="Buttons not grouped",
        )
    component["buttons"] = buttons
    return tuple(specs)


def _check_url_button(button: dict[str, Any]) -> bool:
    url = button.get("url")
    if not isinstance(url, str) or not re.match(r"^https?://", url) or len(url) > MAX_URL:
        raise TemplateError(f"A URL button needs an http(s) url (≤ {MAX_URL} characters).")
    names = [m.group(1) for m in _VARIABLE.finditer(url)]
    if not names:
        return False
    if len(names) > 1 or not url.endswith("}}"):
        raise TemplateError(
            "A URL button supports one variable, at the end of the URL.",
            title="Invalid URL variable",
        )
    example = button.get("example")
    if not isinstance(example, list) or not example or not isinstance(example[0], str):
        raise TemplateError("A URL button with a variable needs an example URL.")
    return True


def review_outcome(template: Template) -> tuple[str, str, dict[str, str] | None]:
    """Automatic review: ``(status, reason, rejection_info)``.

    Meta rejects "parameters placed next to each other (like {{1}}{{2}}) without text or
    punctuation between them" with INVALID_FORMAT (the rejection example in Meta's
    ``message_template_status_update`` reference); anything else passes (sandbox choice).
    """
    for component in template.components:
        text = component.get("text")
        if (
            component["type"] in ("HEADER", "BODY")
            and isinstance(text, str)
            and _ADJACENT.search(text)
        ):
            return (
                "REJECTED",
                "INVALID_FORMAT",
                {
                    "reason": "Your template has parameters placed next to each other (like "
                    "{{1}}{{2}}) without text or punctuation between them.",
                    "recommendation": "Separate parameters with descriptive text and ensure "
                    "each parameter is clearly contextualized.",
                },
            )
    return "APPROVED", "NONE", None


# Sending -------------------------------------------------------------------------------------

#: Status -> the send error Meta answers with (research §1.4): only APPROVED may be sent.
STATUS_ERRORS = {
    "PAUSED": (132015, "Template is paused due to low quality so it cannot be sent."),
    "DISABLED": (
        132016,
        "Template has been paused too many times due to low quality and is now "
        "permanently disabled.",
    ),
}


def check_send(template: Template, components: Any, *, media_known: Any) -> None:
    """Check a send's ``template.components`` against the template; raise SendError.

    ``media_known(media_id) -> bool`` says whether an uploaded media id exists (unexpired).
    """
    if components is None:
        components = []
    if not isinstance(components, list) or not all(isinstance(c, dict) for c in components):
        raise SendError(100, "Param template['components'] must be a list of objects.")
    spec = template.spec
    header: dict[str, Any] | None = None
    body: dict[str, Any] | None = None
    buttons: dict[int, dict[str, Any]] = {}
    for component in components:
        kind = str(component.get("type", "")).lower()
        if kind == "header":
            header = component
        elif kind == "body":
            body = component
        elif kind == "button":
            try:
                index = int(component.get("index", -1))
            except (TypeError, ValueError):
                raise SendError(
                    100, "Param template['components'][]['index'] must be a number."
                ) from None
            buttons[index] = component
        else:
            raise SendError(100, f"Component type {component.get('type')!r} is not valid.")
    _check_header_parameters(spec, header, template.parameter_format, media_known)
    _check_text_parameters("body", spec.body_variables, body, template.parameter_format)
    _check_button_parameters(spec, buttons)


def _parameters(component: dict[str, Any] | None) -> list[dict[str, Any]]:
    if component is None:
        return []
    parameters = component.get("parameters", [])
    if not isinstance(parameters, list) or not all(isinstance(p, dict) for p in parameters):
        raise SendError(100, "Param parameters must be a list of objects.")
    return parameters


def _count_mismatch(where: str, got: int, expected: int) -> SendError:
    return SendError(
        132000,
        f"{where}: number of localizable_params ({got}) does not match the expected number "
        f"of params ({expected})",
    )


def _check_text_parameters(
    where: str,
    variables: tuple[str, ...],
    component: dict[str, Any] | None,
    parameter_format: str,
) -> None:
    parameters = _parameters(component)
    if len(parameters) != len(variables):
        raise _count_mismatch(where, len(parameters), len(variables))
    for parameter in parameters:
        kind = parameter.get("type")
        if kind not in ("text", "currency", "date_time"):
            raise SendError(
                132012,
                f"{where}: Format mismatch, expected TEXT, received {str(kind).upper()}",
            )
        if kind == "text":
            text = parameter.get("text")
            if not isinstance(text, str) or not text:
                raise SendError(131008, f"{where}: Parameter 'text' is required.")
            if _BAD_PARAMETER_TEXT.search(text):
                raise SendError(
                    132018,
                    "Param text cannot have new-line/tab characters or more than 4 consecutive "
                    "spaces",
                )
    if parameter_format == "NAMED" and parameters:
        names = [p.get("parameter_name") for p in parameters]
        if any(not isinstance(n, str) or not n for n in names):
            raise SendError(
                132012, f"{where}: Format mismatch, the template expects named parameters"
            )
        if set(names) != set(variables):
            missing = sorted(set(variables) - set(names))
            raise SendError(
                132000,
                f"{where}: parameter names do not match the template's (missing: "
                f"{', '.join(missing) or '-'})",
            )


def _check_header_parameters(
    spec: SendSpec,
    header: dict[str, Any] | None,
    parameter_format: str,
    media_known: Any,
) -> None:
    if spec.header_format in (None, "TEXT", "LOCATION"):
        if spec.header_format == "LOCATION":
            return
        _check_text_parameters("header", spec.header_variables, header, parameter_format)
        return
    expected = spec.header_format.lower()
    parameters = _parameters(header)
    received = str(parameters[0].get("type", "unknown")).upper() if parameters else "UNKNOWN"
    if len(parameters) != 1 or parameters[0].get("type") != expected:
        raise SendError(
            132012, f"header: Format mismatch, expected {spec.header_format}, received {received}"
        )
    check_media_object(parameters[0].get(expected), f"{expected}", media_known)


def check_media_object(media: Any, kind: str, media_known: Any) -> None:
    """A media object must carry an uploaded ``id`` or an http(s) ``link`` (Meta ``messages``)."""
    if not isinstance(media, dict) or not (media.get("id") or media.get("link")):
        raise SendError(131008, f"Param {kind} must have an 'id' or a 'link'.")
    if media.get("id"):
        if not media_known(str(media["id"])):
            raise SendError(
                131009,
                f"Param {kind}['id'] is not a valid whatsapp business account media attachment ID",
            )
    elif not re.match(r"^https?://", str(media["link"])):
        raise SendError(131009, f"Param {kind}['link'] must be an http(s) URL.")


def _check_button_parameters(spec: SendSpec, given: dict[int, dict[str, Any]]) -> None:
    by_index = {button.index: button for button in spec.buttons}
    for index in given:
        if index not in by_index:
            raise SendError(132000, f"button at index {index}: the template has no such button")
    for button in spec.buttons:
        component = given.get(button.index)
        parameters = _parameters(component)
        where = f"button at index {button.index}"
        if button.kind == "QUICK_REPLY":
            if len(parameters) > 1:
                raise _count_mismatch(where, len(parameters), 1)
            if parameters and parameters[0].get("type") not in ("payload", "text"):
                raise SendError(132012, f"{where}: Format mismatch, expected PAYLOAD")
            continue
        if not button.needs_parameter:
            if parameters:
                raise _count_mismatch(where, len(parameters), 0)
            continue
        if len(parameters) != 1:
            raise _count_mismatch(where, len(parameters), 1)
        parameter = parameters[0]
        if button.kind == "URL":
            if parameter.get("type") != "text" or not parameter.get("text"):
                raise SendError(132012, f"{where}: Format mismatch, expected TEXT")
        elif parameter.get("type") != "coupon_code" or not parameter.get("coupon_code"):
            raise SendError(132012, f"{where}: Format mismatch, expected COUPON_CODE")
