"""Opt-out and opt-in keywords in English, Azerbaijani, Russian and Turkish. A reply opts out
when the whole message (case-, accent- and punctuation-insensitive) is one of them: "STOP"
opts out, "stop by the shop tomorrow?" does not."""

from __future__ import annotations

import re
import unicodedata

OPT_OUT_KEYWORDS = frozenset(
    {
        # English
        "STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPT OUT", "OPTOUT",
        # Azerbaijani
        # (the polite plural "Dayandırın" as well; ı and ə fold, so "dayandirin" matches too)
        "DAYAN", "DAYANDIR", "DAYANDIRIN", "IMTINA", "ABUNELIKDEN CIX", "ABUNELIYI DAYANDIR",
        "ABUNELIYI DAYANDIRIN",
        # Russian
        "СТОП", "ОТПИСАТЬСЯ", "ОТПИСКА", "ОТПИСАТЬ", "ХВАТИТ",
        # Turkish
        "DUR", "IPTAL", "ABONELIK IPTAL", "ABONELIKTEN CIK", "ISTEMIYORUM",
    }
)  # fmt: skip
OPT_IN_KEYWORDS = frozenset({"START", "UNSTOP", "BASLA", "СТАРТ", "ПОДПИСАТЬСЯ", "BASLAT"})

_FOLD = str.maketrans({"Ə": "E", "ə": "e", "I": "I", "ı": "i", "İ": "I"})


def normalise(text: str) -> str:
    """Upper-case, without accents (Azerbaijani ə, ı, ş, ç, ö, ü, ğ fold to Latin letters),
    punctuation dropped, spaces collapsed. Cyrillic stays Cyrillic."""
    folded = unicodedata.normalize("NFKD", text.translate(_FOLD))
    no_marks = "".join(ch for ch in folded if not unicodedata.combining(ch))
    cleaned = re.sub(r"[^\w\s]", " ", no_marks.upper(), flags=re.UNICODE)
    return " ".join(cleaned.split())


def is_opt_out(text: str) -> bool:
    return normalise(text) in OPT_OUT_KEYWORDS


def is_opt_in(text: str) -> bool:
    return normalise(text) in OPT_IN_KEYWORDS
