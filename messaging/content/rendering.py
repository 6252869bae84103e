"""Message template language and renderer. Pure: no ORM, no I/O, deterministic.

Syntax
- `{{first_name}}`, `{{last_name}}`, `{{full_name}}`, `{{phone}}`, `{{country}}`,
  `{{language}}`: the contact's fields.
- `{{attr.city}}` or `{{city}}`: a custom attribute.
- `{{first_name|friend}}`: a fallback used when the value is missing or empty.
- `{Hi|Hello|Salam}`: inline alternatives; one is chosen per recipient.
- Several variants per template: one is chosen per recipient (`choose_variant`).

Choices are deterministic (a hash of a seed such as the contact's id), so a preview shows what
that contact will get, and a retried send renders the same text.

Validation names the offending variable: a variable that is neither a contact field nor a known
attribute is an error, with or without a fallback (a typo such as `{{frist_name}}` should never
silently send the fallback to everyone)."""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Protocol

from django.utils.translation import gettext as _

MAX_BODY_CHARS = 4096  # WhatsApp's text message limit
MAX_FOOTER_CHARS = 60  # WhatsApp's footer limit
CONTACT_FIELDS = frozenset({"first_name", "last_name", "full_name", "phone", "country", "language"})
_NAME = re.compile(r"^(attr\.)?[a-z][a-z0-9_]*$")


class TemplateError(ValueError):
    """A problem in a template's text. `variable` names the variable when one is at fault."""

    def __init__(self, message: str, *, variable: str = "", position: int = -1) -> None:
        super().__init__(message)
        self.message = message
        self.variable = variable
        self.position = position


@dataclass(frozen=True, slots=True)
class Var:
    key: str  # "first_name" or "attr.city"
    fallback: str | None
    source: str  # as written, for messages

    @property
    def attribute(self) -> str | None:
        return self.key[5:] if self.key.startswith("attr.") else None


@dataclass(frozen=True, slots=True)
class Alt:
    options: tuple[tuple[Node, ...], ...]


Node = str | Var | Alt


def _parse_var(inner: str, position: int) -> Var:
    name, sep, fallback = inner.partition("|")
    name = name.strip().lower()
    if not name:
        raise TemplateError(_("Empty variable “{{}}”: write a name inside."), position=position)
    if not _NAME.match(name):
        raise TemplateError(
            _("“{{%(name)s}}” is not a valid variable name.") % {"name": inner.strip()},
            variable=inner.strip(),
            position=position,
        )
    key = name if name in CONTACT_FIELDS or name.startswith("attr.") else f"attr.{name}"
    if key.startswith("attr.") and key[5:] in CONTACT_FIELDS:
        key = key[5:]
    return Var(key=key, fallback=fallback.strip() if sep else None, source=inner.strip())


def _parse_seq(text: str, pos: int, *, in_alt: bool) -> tuple[list[Node], int]:
    nodes: list[Node] = []
    buffer: list[str] = []

    def flush() -> None:
        if buffer:
            nodes.append("".join(buffer))
            buffer.clear()

    while pos < len(text):
        if text.startswith("{{", pos):
            end = text.find("}}", pos + 2)
            if end == -1:
                raise TemplateError(
                    _("A “{{” at character %(pos)d is never closed with “}}”.") % {"pos": pos + 1},
                    position=pos,
                )
            flush()
            nodes.append(_parse_var(text[pos + 2 : end], pos))
            pos = end + 2
            continue
        char = text[pos]
        if char == "{":
            alternative = _try_alternatives(text, pos)
            if alternative is not None:
                flush()
                nodes.append(alternative[0])
                pos = alternative[1]
                continue
        elif in_alt and char in "|}":
            break
        buffer.append(char)
        pos += 1
    flush()
    return nodes, pos


def _try_alternatives(text: str, pos: int) -> tuple[Alt, int] | None:
    """`{a|b|c}` -> Alt; a brace group without `|` (or unclosed) stays literal text."""
    options: list[tuple[Node, ...]] = []
    cursor = pos + 1
    while True:
        seq, cursor = _parse_seq(text, cursor, in_alt=True)
        if cursor >= len(text):
            return None
        options.append(tuple(seq))
        if text[cursor] == "|":
            cursor += 1
            continue
        cursor += 1  # the closing "}"
        break
    if len(options) < 2:
        return None
    return Alt(tuple(options)), cursor


@lru_cache(maxsize=512)
def parse(text: str) -> tuple[Node, ...]:
    """Parse template text; raises TemplateError for malformed variables. Cached: the nodes
    are immutable and a campaign renders the same few texts thousands of times."""
    nodes, _end = _parse_seq(text, 0, in_alt=False)
    return tuple(nodes)


def variables_of(nodes: Iterable[Node]) -> list[Var]:
    found: list[Var] = []
    for node in nodes:
        if isinstance(node, Var):
            found.append(node)
        elif isinstance(node, Alt):
            for option in node.options:
                found.extend(variables_of(option))
    return found


def validate(
    text: str,
    *,
    known_attributes: Iterable[str] | None = None,
    max_chars: int = MAX_BODY_CHARS,
) -> list[TemplateError]:
    """Every problem in `text` (empty list when it is fine). With `known_attributes` given,
    a variable that is neither a contact field nor one of them is reported by name, unless it
    has a fallback (`{{city|Bakı}}`): a new workspace writes its templates before importing
    the contacts that carry the attribute, and the fallback covers those who lack it."""
    problems: list[TemplateError] = []
    if not text.strip():
        problems.append(TemplateError(_("The message is empty.")))
        return problems
    if len(text) > max_chars:
        problems.append(
            TemplateError(
                _("The message is %(n)d characters; the limit is %(max)d.")
                % {"n": len(text), "max": max_chars}
            )
        )
    try:
        nodes = parse(text)
    except TemplateError as exc:
        problems.append(exc)
        return problems
    if known_attributes is not None:
        known = set(known_attributes)
        reported: set[str] = set()
        for var in variables_of(nodes):
            attribute = var.attribute
            if attribute is None or attribute in known or var.key in reported:
                continue
            near = difflib.get_close_matches(attribute, [*CONTACT_FIELDS, *known], n=1, cutoff=0.8)
            if var.fallback is not None and not near:
                continue  # a new attribute with its fallback: fine (see the docstring)
            reported.add(var.key)
            if near:
                problems.append(
                    TemplateError(
                        _("Unknown variable “{{%(name)s}}”: did you mean “{{%(near)s}}”?")
                        % {"name": var.source, "near": near[0]},
                        variable=var.source.partition("|")[0].strip(),
                    )
                )
            else:
                problems.append(
                    TemplateError(
                        _(
                            "Unknown variable “{{%(name)s}}”: it is not a contact field and no "
                            "contact has an attribute “%(attr)s”. Give it a fallback, as in "
                            "“{{%(attr)s|…}}”, if contacts will have it later."
                        )
                        % {"name": var.source, "attr": attribute},
                        variable=var.source.partition("|")[0].strip(),
                    )
                )
    return problems


def contact_values(
    *,
    first_name: str = "",
    last_name: str = "",
    phone: str = "",
    country: str = "",
    language: str = "",
    attributes: Mapping[str, object] | None = None,
) -> dict[str, str]:
    """The values a template can use, keyed like `Var.key`."""
    values = {
        "first_name": first_name,
        "last_name": last_name,
        "full_name": f"{first_name} {last_name}".strip(),
        "phone": phone,
        "country": country,
        "language": language,
    }
    for key, value in (attributes or {}).items():
        values[f"attr.{key}"] = "" if value is None else str(value)
    return values


class ContactLike(Protocol):
    """What rendering reads of a contact (the model, or anything shaped like it)."""

    first_name: str
    last_name: str
    phone: str
    country: str
    language: str
    attributes: Any


def contact_values_of(contact: ContactLike) -> dict[str, str]:
    """`contact_values` for one contact: the campaign's text, its WhatsApp template's
    parameters, previews and pre-flight samples all read a contact the same way."""
    return contact_values(
        first_name=contact.first_name,
        last_name=contact.last_name,
        phone=contact.phone,
        country=contact.country,
        language=contact.language,
        attributes=contact.attributes,
    )


def _pick(seed: str, salt: str, count: int) -> int:
    digest = hashlib.blake2b(f"{seed}:{salt}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % count


def choose_variant(count: int, *, seed: str) -> int:
    """Which of `count` variants a recipient gets: stable for the seed, spread evenly."""
    return 0 if count <= 1 else _pick(seed, "variant", count)


@dataclass
class Rendered:
    text: str
    variant: int = 0
    missing: list[str] = field(default_factory=list)  # variables with no value and no fallback
    footer: str = ""

    @property
    def length(self) -> int:
        return len(self.text)

    @property
    def too_long(self) -> bool:
        return self.length > MAX_BODY_CHARS


def render_nodes(nodes: Sequence[Node], *, values: Mapping[str, str], seed: str) -> Rendered:
    out: list[str] = []
    missing: list[str] = []
    counter = [0]

    def walk(seq: Sequence[Node]) -> None:
        for node in seq:
            if isinstance(node, str):
                out.append(node)
            elif isinstance(node, Var):
                value = values.get(node.key, "")
                if value == "" and node.fallback is not None:
                    value = node.fallback
                elif value == "":
                    missing.append(node.source)
                out.append(value)
            else:
                counter[0] += 1
                walk(node.options[_pick(seed, f"alt{counter[0]}", len(node.options))])

    walk(nodes)
    return Rendered(text="".join(out), missing=missing)


def render(text: str, *, values: Mapping[str, str], seed: str) -> Rendered:
    """Render one text (raises TemplateError if it does not parse)."""
    return render_nodes(parse(text), values=values, seed=seed)


def render_message(
    *, variants: Sequence[str], values: Mapping[str, str], seed: str, footer: str = ""
) -> Rendered:
    """Pick the recipient's variant and render it; `footer` is rendered too but kept apart
    by the caller's transport (WhatsApp shows it under the body)."""
    if not variants:
        raise TemplateError(_("The template has no text."))
    index = choose_variant(len(variants), seed=seed)
    rendered = render(variants[index], values=values, seed=seed)
    rendered.variant = index
    return rendered


def render_parameters(expressions: Sequence[str], *, values: Mapping[str, str]) -> list[str]:
    """Positional parameters ({{1}}, {{2}}, ...) of an approved Cloud API template, from our
    variable expressions such as "first_name|friend"."""
    result: list[str] = []
    for position, expression in enumerate(expressions):
        var = _parse_var(expression, position)
        value = values.get(var.key, "")
        result.append(value or (var.fallback or ""))
    return result
