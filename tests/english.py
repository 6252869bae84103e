"""Is any English left on a page read in Azerbaijani or Russian? (issue 19's journey)

A sentence or a label left untranslated shows itself by the small words every English
sentence has ("the", "your", "with") and by the product's own vocabulary ("Save", "Campaigns").
Those words are not Azerbaijani or Russian words (Azerbaijani words that look like English
ones, such as "on" (ten) or "at" (horse), are not on the list). Product names and codes are
allowed wherever they appear."""

from __future__ import annotations

import re


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


COMMON_ENGLISH = _words(
    """
    the and your you with this that from have has are was were will not for of to is it by or
    an be can please here there which when what how more our they their than then into been
    would should could must these those only also each any in no yes if do does done
    new save send sent delete cancel edit add back next sign settings contacts contact
    campaign campaigns template templates numbers number billing profile password notifications
    workspace credits messages message home analytics team privacy terms cookies language help
    name phone company first last read delivered failed queued completed running paused draft
    launch review recipients import export upload list lists segments replies inbox log
    """
)
#: Names and codes that stay as they are in every language.
ALLOWED = _words(
    """
    iSend WhatsApp Meta Cloud API Stripe CSV XLSX PDF ZIP SMS JSON URL IBAN SWIFT VOEN AZN USD
    EUR English WAHA QR OK ID UTC GMT
    """
)
# Whole words in any script (a word with "ç" or "ş" is not cut into English-looking pieces:
# "keçin" is not "in"); only words written wholly in ASCII letters can be English.
_WORD = re.compile(r"[^\W\d_]+")
_ASCII = re.compile(r"^[A-Za-z]+$")
_ADDRESS = re.compile(r"\S+://\S+|\S+@\S+")


def english_left(text: str, *, allowed: frozenset[str] = frozenset()) -> list[str]:
    """The lines of ``text`` (a page's visible text) that still read as English."""
    found = []
    for line in text.splitlines():
        words = [
            w
            for w in _WORD.findall(_ADDRESS.sub(" ", line))
            if _ASCII.match(w) and w not in ALLOWED and w not in allowed
        ]
        if any(w.lower() in COMMON_ENGLISH for w in words):
            found.append(line.strip())
    return found
