"""What a column header means, in English, Azerbaijani, Russian (and the Turkish people paste
in), and how a full name splits into first and last name. Pure functions, no ORM: the file
reader (is the first row a header?), the mapping guess and the parse loop share them.

Headers are compared after `header_key`: case-folded, punctuation (`_ - / . , :`) read as a
space, runs of spaces collapsed, so "FULL_NAME", " Full  name " and "full-name" are one key."""

from __future__ import annotations

import re
from collections.abc import Sequence

_PUNCTUATION = re.compile(r"[\s_\-/\\.,:;()]+")


def header_key(name: object) -> str:
    """The comparable form of a header cell (see the module docstring)."""
    text = str(name or "").casefold().replace("i\u0307", "i")  # "İ".casefold() keeps a dot
    return _PUNCTUATION.sub(" ", text).strip()


def _keys(*names: str) -> frozenset[str]:
    return frozenset(header_key(name) for name in names)


PHONE = _keys("phone", "phone number", "mobile", "mobile phone", "msisdn", "number", "tel",
              "telephone", "whatsapp", "whatsapp number", "telefon", "telefon nömrəsi", "nömrə",
              "nomre", "mobil", "mobil nömrə", "телефон", "номер", "номер телефона", "мобильный",
              "cep", "cep telefonu", "gsm")  # fmt: skip
FIRST_NAME = _keys("first name", "firstname", "given name", "forename", "ad", "adı", "adi",
                   "имя", "isim")  # fmt: skip
LAST_NAME = _keys("last name", "lastname", "surname", "family name", "soyad", "soyadı", "soyadi",
                  "фамилия", "soyisim")  # fmt: skip
#: A whole name, the given name first ("Şəhla Əliyeva"). "Name" alone is here: in the exports
#: people bring it holds whole names more often than given names, and a one-word value
#: splits to a first name only, as if the column had been mapped to "First name".
FULL_NAME = _keys("full name", "fullname", "name", "contact name", "customer name",
                  "client name", "ad soyad", "ad və soyad", "adı soyadı", "adı və soyadı",
                  "ad soyadı", "tam ad", "müştəri adı", "имя фамилия", "имя и фамилия",
                  "полное имя", "имя клиента", "isim soyisim")  # fmt: skip
#: A whole name, the surname first: Russian "ФИО" (Фамилия Имя Отчество) and its spellings.
FULL_NAME_SURNAME_FIRST = _keys("фио", "ф.и.о.", "фамилия имя", "фамилия и имя",
                                "фамилия имя отчество", "soyad ad", "soyadı adı",
                                "soyad ad ata adı", "soyadı adı atasının adı")  # fmt: skip
LANGUAGE = _keys("language", "lang", "dil", "язык")
TAGS = _keys("tags", "tag", "etiket", "etiketlər", "teqlər", "teq", "теги", "тег", "метки")
OPTED_OUT = _keys("opted out", "opt out", "optout", "unsubscribed", "do not contact", "dnc",
                  "imtina", "abunəlikdən çıxıb", "отписан", "отписался",
                  "abonelikten çıktı")  # fmt: skip

#: Header → the role the mapping guesses for it (the mapping page lets the user change it).
ROLE_BY_HEADER: dict[str, str] = {
    **dict.fromkeys(PHONE, "phone"),
    **dict.fromkeys(FIRST_NAME, "first_name"),
    **dict.fromkeys(LAST_NAME, "last_name"),
    **dict.fromkeys(FULL_NAME, "full_name"),
    **dict.fromkeys(FULL_NAME_SURNAME_FIRST, "full_name_surname_first"),
    **dict.fromkeys(LANGUAGE, "language"),
    **dict.fromkeys(TAGS, "tags"),
    **dict.fromkeys(OPTED_OUT, "opted_out"),
}

#: Other words a header row is made of (they become attributes). Only used to recognise a
#: header row, so that `Name,City` above `Aysel,Bakı` is read as a header.
OTHER_HEADER_WORDS = _keys(
    "city", "şəhər", "seher", "город", "şehir", "email", "e mail", "e-poçt", "почта",
    "электронная почта", "company", "şirkət", "компания", "организация", "note", "notes",
    "qeyd", "примечание", "комментарий", "comment", "address", "ünvan", "адрес", "country",
    "ölkə", "страна", "region", "rayon", "регион", "birthday", "date of birth",
    "doğum tarixi", "дата рождения", "gender", "cins", "пол", "age", "yaş", "возраст",
    "position", "vəzifə", "должность", "group", "qrup", "группа", "source", "mənbə",
    "источник", "id", "status", "статус",
)  # fmt: skip

#: Common attribute columns by the names people give them: one template variable in English,
#: whatever the file's language ("Şəhər" and "Город" are `{{city}}`, not `{{seher}}` and
#: `{{gorod}}`, which nobody would guess while writing `{{city|Bakı}}`).
_COMMON_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "city": ("city", "şəhər", "seher", "город", "şehir", "town"),
    "email": ("email", "e mail", "e-mail", "e-poçt", "e poçt", "email address", "почта",
              "электронная почта", "эл почта", "e-posta"),
    "company": ("company", "şirkət", "компания", "организация", "şirket", "organization",
                "organisation"),
    "note": ("note", "notes", "qeyd", "qeydlər", "примечание", "комментарий", "comment", "not"),
    "address": ("address", "ünvan", "адрес", "adres"),
    "region": ("region", "rayon", "регион", "район", "bölgə"),
    "birthday": ("birthday", "date of birth", "doğum tarixi", "doğum günü", "дата рождения",
                 "день рождения", "doğum tarihi"),
    "gender": ("gender", "cins", "cinsi", "пол", "cinsiyet"),
    "age": ("age", "yaş", "возраст"),
    "position": ("position", "vəzifə", "должность", "pozisyon"),
    "group": ("group", "qrup", "группа", "grup"),
    "source": ("source", "mənbə", "источник", "kaynak"),
}  # fmt: skip
ATTRIBUTE_BY_HEADER: dict[str, str] = {
    key: attribute for attribute, names in _COMMON_ATTRIBUTES.items() for key in _keys(*names)
}


def attribute_for_header(name: object) -> str | None:
    """The English template variable a common attribute column becomes, or None."""
    return ATTRIBUTE_BY_HEADER.get(header_key(name))


FULL_NAME_ROLES = ("full_name", "full_name_surname_first")
#: The roles a column can have besides "attribute" (each names at most one column).
FIELD_ROLES = ("phone", "first_name", "last_name", *FULL_NAME_ROLES, "language", "tags",
               "opted_out")  # fmt: skip


def role_for_header(name: object) -> str | None:
    """The role a header names (`phone`, `first_name`, `full_name`...), or None."""
    return ROLE_BY_HEADER.get(header_key(name))


def is_header_word(name: object) -> bool:
    """Whether a cell reads as a column title we know (a role's, or a common attribute's)."""
    key = header_key(name)
    return bool(key) and (
        key in ROLE_BY_HEADER or key in OTHER_HEADER_WORDS or key in ATTRIBUTE_BY_HEADER
    )


def title_cells(cells: Sequence[object]) -> list[str] | None:
    """The row's cells when every non-empty one is text without digits (as titles are), with
    one at the least; else None."""
    texts = []
    for cell in cells:
        if cell is None or (isinstance(cell, str) and not cell.strip()):
            texts.append("")
            continue
        if not isinstance(cell, str) or any(ch.isdigit() for ch in cell):
            return None
        texts.append(cell.strip())
    return texts if any(texts) else None


def looks_like_header_row(cells: Sequence[object]) -> bool:
    """A row of titles (`title_cells`) at least half of which (one at the least) are words
    we know: "Name, City" is a header; "Aysel, Bakı" is not."""
    texts = title_cells(cells)
    if texts is None:
        return False
    filled = [text for text in texts if text]
    known = sum(1 for text in filled if is_header_word(text))
    return known >= 1 and known * 2 >= len(filled)


def split_full_name(value: str, *, surname_first: bool = False) -> tuple[str, str]:
    """(first name, last name) from a whole name, split on whitespace.

    - Given name first ("Full name", "Ad Soyad", "Имя Фамилия", "Name"): the first word is the
      first name and the rest the last name: "Şəhla Əliyeva" -> ("Şəhla", "Əliyeva"),
      "Anna Maria Smith" -> ("Anna", "Maria Smith").
    - Surname first (Russian "ФИО": Фамилия Имя Отчество): the first word is the last name and
      the rest the first name, patronymic included, because "Иван Петрович" is how a Russian
      (or "Vüqar Mübariz oğlu" how an Azerbaijani) is addressed politely:
      "Иванов Иван Петрович" -> ("Иван Петрович", "Иванов").
    - One word is a first name either way ("Aysel" -> ("Aysel", "")): a lone word is far more
      often a given name than a surname."""
    parts = value.split()
    if not parts:
        return "", ""
    if len(parts) == 1:
        return parts[0], ""
    if surname_first:
        return " ".join(parts[1:]), parts[0]
    return parts[0], " ".join(parts[1:])
