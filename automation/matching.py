"""Does a message match a rule? Pure functions, no database.

Keywords and messages are compared after `messaging.engine.keywords.normalise` (case, accents,
Azerbaijani ə/ı/İ and punctuation folded, spaces collapsed), so "Qiymət" matches "qiymet" and
"QİYMƏT!", and "цена" matches "Цена?".

Patterns use the `regex` package because it can stop a search after a timeout: a pattern
with catastrophic backtracking cannot hold a worker. A pattern is checked when it is saved
(length, compiles, not slow on adversarial probes) and every search has a time budget; a
search that runs out of time counts as "no match" and is logged."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence

import regex
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from messaging.engine.keywords import normalise

log = logging.getLogger(__name__)

MAX_KEYWORDS = 50
MAX_KEYWORD_LENGTH = 100
MAX_PATTERN_LENGTH = 200
SEARCH_TIMEOUT_SECONDS = 0.05
PROBE_TIMEOUT_SECONDS = 0.05
PATTERN_FLAGS = regex.IGNORECASE | regex.UNICODE | regex.V0

# Inputs that make a backtracking pattern blow up: long runs of one character class
# followed by a character that makes the overall match fail.
_PROBES = tuple(
    run * 200 + tail
    for run in ("a", "1", " ", "aa ", "a1", "x.", "é")
    for tail in ("!", "\n", "", "\x00")
)


def _field_error(field: str, message: str, code: str) -> ValidationError:
    return ValidationError({field: ValidationError(message, code=code)})


def keywords_clean(value: str | Iterable[str] | None) -> list[str]:
    """Keywords as stored: split on commas and new lines, trimmed, distinct by their
    normalised form (first spelling kept). Raises ValidationError on bad input."""
    if value is None:
        return []
    items = re.split(r"[,\n]", value) if isinstance(value, str) else list(value)
    seen: set[str] = set()
    cleaned: list[str] = []
    for item in items:
        keyword = " ".join(str(item).split())
        if not keyword:
            continue
        if len(keyword) > MAX_KEYWORD_LENGTH:
            raise _field_error("keywords", _("At most 100 characters per keyword."), "too_long")
        folded = normalise(keyword)
        if not folded:
            message = _("“%(keyword)s” has no letters or digits.") % {"keyword": keyword}
            raise _field_error("keywords", message, "empty")
        if folded not in seen:
            seen.add(folded)
            cleaned.append(keyword)
    if len(cleaned) > MAX_KEYWORDS:
        raise _field_error("keywords", _("At most 50 keywords per rule."), "too_many")
    return cleaned


def _compile_error_message(exc: Exception) -> str:
    """A translated explanation of why a pattern does not compile. The regex module's own text
    is English ("missing ) at position 4") and read as a fragment inside an Azerbaijani or
    Russian sentence, so only its kind and position are used. Positions are counted from 1."""
    reason = getattr(exc, "msg", "") or ""
    pos = getattr(exc, "pos", None)
    if reason == "missing )":
        text = _("A parenthesis “(” is opened and never closed")
    elif reason.startswith("unbalanced parenthesis"):
        text = _("A closing parenthesis “)” has no opening one")
    elif reason.startswith("unterminated character set"):
        text = _("A character set opened with “[” is never closed with “]”")
    elif reason in ("nothing to repeat", "multiple repeat"):
        text = _("“*”, “+”, “?” or “{…}” has nothing before it to repeat")
    elif reason.startswith("bad escape"):
        text = _("A backslash “\\” is followed by something it cannot escape")
    else:
        text = _("This is not a valid pattern")
    if isinstance(pos, int):
        return _("%(reason)s (position %(position)s).") % {"reason": text, "position": pos + 1}
    return _("%(reason)s.") % {"reason": text}


def pattern_clean(pattern: str) -> str:
    """A pattern that compiles, is short, and stays fast on adversarial input."""
    pattern = pattern.strip()
    if not pattern:
        raise _field_error("pattern", _("Enter a pattern."), "required")
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise _field_error("pattern", _("At most 200 characters."), "too_long")
    try:
        compiled = regex.compile(pattern, PATTERN_FLAGS)
    except (regex.error, ValueError, OverflowError) as exc:
        raise _field_error("pattern", _compile_error_message(exc), "invalid") from exc
    slow = _field_error(
        "pattern",
        _(
            "This pattern could take too long on some messages (for example a repeated "
            "group that itself repeats, such as (a|aa)+). Simplify it."
        ),
        "slow",
    )
    for probe in _PROBES:
        try:
            compiled.search(probe, timeout=PROBE_TIMEOUT_SECONDS)
        except TimeoutError as exc:
            raise slow from exc
    if compiled.search("") is not None and compiled.search("\x00") is not None:
        message = _("This pattern matches an empty message, so it matches everything.")
        raise _field_error("pattern", message, "matches_everything")
    return pattern


def _search(pattern: str, text: str) -> bool:
    try:
        compiled = regex.compile(pattern, PATTERN_FLAGS)
        return compiled.search(text, timeout=SEARCH_TIMEOUT_SECONDS) is not None
    except TimeoutError:
        log.warning("automation pattern timed out: %r", pattern)
        return False
    except regex.error:
        log.warning("automation pattern does not compile: %r", pattern)
        return False


def text_matches(*, match_kind: str, keywords: Sequence[str], pattern: str, text: str) -> bool:
    """Whether `text` matches. `exact`: the whole message is one of the keywords; `contains`:
    a keyword appears as a whole word or phrase; `regex`: the pattern is found (ignoring case)
    in the message as written or in its normalised form."""
    if not text or not text.strip():
        return False
    if match_kind == "regex":
        return bool(pattern) and (_search(pattern, text) or _search(pattern, normalise(text)))
    folded = normalise(text)
    if not folded:
        return False
    wanted = [normalise(k) for k in keywords]
    if match_kind == "exact":
        return folded in wanted
    if match_kind == "contains":
        padded = f" {folded} "
        return any(k and f" {k} " in padded for k in wanted)
    return False
