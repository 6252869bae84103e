"""Display text that cannot disguise itself: names shown in lists to a whole team."""

from __future__ import annotations

import re

#: Unicode's bidirectional embedding, override and isolate controls (U+202A-U+202E,
#: U+2066-U+2069), zero-width space (U+200B) and the byte-order mark (U+FEFF). In a name they
#: only ever hide something: "\u202egnp.exe" shows as "exe.png", an empty-looking name is not
#: empty. The zero-width joiners (U+200C, U+200D) stay: emoji and some scripts need them.
_HIDING = re.compile("[\u202a-\u202e\u2066-\u2069\u200b\ufeff]")


def name_clean(value: str) -> str:
    """A name as it will be shown: the hiding characters removed, the spaces at its ends too."""
    return _HIDING.sub("", value).strip()
