"""Free-form message content other than text, as plain data: media by link (image, document)
and interactive messages (reply buttons, lists), with Meta's documented limits.

These go out only inside the 24-hour customer-service window (the product checks it before
sending). The Cloud API adapter turns them into Graph payloads (`cloud_api.build_message_payload`);
`to_json`/`from_json` keep them on a queued message row. No Django here: the limits are enforced
by the API's validation (with translated messages) and asserted again here as a safety net.

Limits (Meta, "Sending interactive messages" and the message object reference):
reply buttons: 1-3 buttons, title <= 20 characters and unique, id <= 256 and unique, body <= 1024;
lists: button label <= 20, 1-10 sections, at most 10 rows in all, section title <= 24 (required
with more than one section), row title <= 24, row id <= 200 and unique, description <= 72,
body <= 4096; header text and footer <= 60; media caption <= 1024.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias

MEDIA_KINDS = ("image", "document")
MAX_CAPTION = 1024
MAX_FILENAME = 240
MAX_HEADER_TEXT = 60
MAX_FOOTER = 60
MAX_BUTTONS = 3
MAX_BUTTON_TITLE = 20
MAX_BUTTON_ID = 256
MAX_BUTTONS_BODY = 1024
MAX_LIST_BODY = 4096
MAX_LIST_BUTTON = 20
MAX_SECTIONS = 10
MAX_ROWS = 10
MAX_SECTION_TITLE = 24
MAX_ROW_TITLE = 24
MAX_ROW_ID = 200
MAX_ROW_DESCRIPTION = 72


class ContentError(ValueError):
    """Content that Meta would refuse (a bug in the caller's validation)."""


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise ContentError(message)


@dataclass(frozen=True, slots=True)
class Media:
    """An image or a document by public https link, with an optional caption."""

    kind: str  # "image" | "document"
    link: str
    caption: str = ""
    filename: str = ""  # documents: the name shown to the recipient

    def __post_init__(self) -> None:
        _check(self.kind in MEDIA_KINDS, f"media kind must be one of {MEDIA_KINDS}")
        _check(self.link.startswith(("https://", "http://")), "media link must be an http(s) URL")
        _check(len(self.caption) <= MAX_CAPTION, "caption too long")
        _check(len(self.filename) <= MAX_FILENAME, "filename too long")
        _check(not (self.filename and self.kind != "document"), "only documents have a filename")


@dataclass(frozen=True, slots=True)
class ReplyButton:
    id: str
    title: str


@dataclass(frozen=True, slots=True)
class ReplyButtons:
    """Up to three reply buttons under a body text."""

    body: str
    buttons: tuple[ReplyButton, ...]
    header: str = ""
    footer: str = ""

    def __post_init__(self) -> None:
        _check(0 < len(self.body) <= MAX_BUTTONS_BODY, "body must be 1-1024 characters")
        _check(1 <= len(self.buttons) <= MAX_BUTTONS, "1 to 3 buttons")
        for button in self.buttons:
            _check(0 < len(button.title) <= MAX_BUTTON_TITLE, "button title 1-20 characters")
            _check(0 < len(button.id) <= MAX_BUTTON_ID, "button id 1-256 characters")
        _check(len({b.title for b in self.buttons}) == len(self.buttons), "titles must differ")
        _check(len({b.id for b in self.buttons}) == len(self.buttons), "ids must differ")
        _check(len(self.header) <= MAX_HEADER_TEXT, "header too long")
        _check(len(self.footer) <= MAX_FOOTER, "footer too long")


@dataclass(frozen=True, slots=True)
class ListRow:
    id: str
    title: str
    description: str = ""


@dataclass(frozen=True, slots=True)
class ListSection:
    title: str
    rows: tuple[ListRow, ...]


@dataclass(frozen=True, slots=True)
class ListMessage:
    """A menu: a button that opens sections of rows (at most ten rows in all)."""

    body: str
    button: str
    sections: tuple[ListSection, ...]
    header: str = ""
    footer: str = ""

    def __post_init__(self) -> None:
        _check(0 < len(self.body) <= MAX_LIST_BODY, "body must be 1-4096 characters")
        _check(0 < len(self.button) <= MAX_LIST_BUTTON, "button label 1-20 characters")
        _check(1 <= len(self.sections) <= MAX_SECTIONS, "1 to 10 sections")
        rows = [row for section in self.sections for row in section.rows]
        _check(1 <= len(rows) <= MAX_ROWS, "1 to 10 rows in all")
        _check(all(s.rows for s in self.sections), "every section needs a row")
        for section in self.sections:
            _check(len(section.title) <= MAX_SECTION_TITLE, "section title too long")
            _check(bool(section.title) or len(self.sections) == 1, "sections need titles")
        for row in rows:
            _check(0 < len(row.title) <= MAX_ROW_TITLE, "row title 1-24 characters")
            _check(0 < len(row.id) <= MAX_ROW_ID, "row id 1-200 characters")
            _check(len(row.description) <= MAX_ROW_DESCRIPTION, "row description too long")
        _check(len({r.id for r in rows}) == len(rows), "row ids must differ")
        _check(len(self.header) <= MAX_HEADER_TEXT, "header too long")
        _check(len(self.footer) <= MAX_FOOTER, "footer too long")


FreeFormContent: TypeAlias = Media | ReplyButtons | ListMessage


def to_json(content: FreeFormContent) -> dict[str, Any]:
    """The content as JSON (kept on the queued message)."""
    if isinstance(content, Media):
        return {
            "type": content.kind,
            "link": content.link,
            "caption": content.caption,
            "filename": content.filename,
        }
    if isinstance(content, ReplyButtons):
        return {
            "type": "buttons",
            "body": content.body,
            "header": content.header,
            "footer": content.footer,
            "buttons": [{"id": b.id, "title": b.title} for b in content.buttons],
        }
    return {
        "type": "list",
        "body": content.body,
        "header": content.header,
        "footer": content.footer,
        "button": content.button,
        "sections": [
            {
                "title": s.title,
                "rows": [
                    {"id": r.id, "title": r.title, "description": r.description} for r in s.rows
                ],
            }
            for s in content.sections
        ],
    }


def from_json(data: Mapping[str, Any]) -> FreeFormContent:
    """The content back from :func:`to_json` (raises :class:`ContentError` when invalid)."""
    kind = data.get("type")
    try:
        if kind in MEDIA_KINDS:
            return Media(
                kind=str(kind),
                link=str(data["link"]),
                caption=str(data.get("caption") or ""),
                filename=str(data.get("filename") or ""),
            )
        if kind == "buttons":
            return ReplyButtons(
                body=str(data["body"]),
                header=str(data.get("header") or ""),
                footer=str(data.get("footer") or ""),
                buttons=tuple(
                    ReplyButton(id=str(b["id"]), title=str(b["title"])) for b in data["buttons"]
                ),
            )
        if kind == "list":
            return ListMessage(
                body=str(data["body"]),
                button=str(data["button"]),
                header=str(data.get("header") or ""),
                footer=str(data.get("footer") or ""),
                sections=tuple(
                    ListSection(
                        title=str(s.get("title") or ""),
                        rows=tuple(
                            ListRow(
                                id=str(r["id"]),
                                title=str(r["title"]),
                                description=str(r.get("description") or ""),
                            )
                            for r in s["rows"]
                        ),
                    )
                    for s in data["sections"]
                ),
            )
    except (KeyError, TypeError) as exc:
        raise ContentError(f"incomplete {kind} content: {exc}") from exc
    raise ContentError(f"unknown content type {kind!r}")
