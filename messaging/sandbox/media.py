"""Uploaded media, as Meta's ``media`` document describes it (research §1.1; Meta ``media``).

``POST /{phone_number_id}/media`` (multipart: ``file``, ``type``, ``messaging_product``) answers
``{"id"}``; ``GET /{media_id}`` answers ``messaging_product, url, mime_type, sha256, file_size,
id``; ``DELETE /{media_id}`` answers ``{"success": true}``. Ids expire after 30 days
(``media_ttl_seconds``). The supported types and sizes are Meta's table; "mismatched MIME type
(131053) is a common error", so the sandbox checks the content of the types whose signature it
knows (JPEG, PNG, PDF, WebP).
"""

from __future__ import annotations

import hashlib
import time
from typing import TYPE_CHECKING, Any

from aiohttp import web

from messaging.sandbox.graph import graph_error, not_found
from messaging.sandbox.state import Media

if TYPE_CHECKING:
    from messaging.sandbox.server import Sandbox

MB = 1024 * 1024
#: Meta's supported media types and their size limits.
SUPPORTED_TYPES: dict[str, int] = {
    "audio/aac": 16 * MB,
    "audio/amr": 16 * MB,
    "audio/mpeg": 16 * MB,
    "audio/mp4": 16 * MB,
    "audio/ogg": 16 * MB,
    "text/plain": 100 * MB,
    "application/vnd.ms-excel": 100 * MB,
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": 100 * MB,
    "application/msword": 100 * MB,
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": 100 * MB,
    "application/vnd.ms-powerpoint": 100 * MB,
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": 100 * MB,
    "application/pdf": 100 * MB,
    "image/jpeg": 5 * MB,
    "image/png": 5 * MB,
    "image/webp": 500 * 1024,
    "video/3gpp": 16 * MB,
    "video/mp4": 16 * MB,
}
#: The request size the sandbox accepts (the largest media plus the multipart envelope).
MAX_REQUEST_BYTES = 101 * MB
_SIGNATURES = {
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "application/pdf": (b"%PDF",),
}


def _content_matches(mime_type: str, data: bytes) -> bool:
    if mime_type == "image/webp":
        return data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    signatures = _SIGNATURES.get(mime_type)
    return signatures is None or data.startswith(signatures)


class MediaStore:
    """The media handlers over the sandbox's state."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    async def upload(self, request: web.Request) -> web.Response:
        phone_number_id = request.match_info["phone_number_id"]
        number = self.sandbox.state.numbers.get(phone_number_id)
        if number is None:
            return graph_error(
                100,
                f"Unsupported post request. Object with ID '{phone_number_id}' does not exist.",
                subcode=33,
            )
        if request.headers.get("Authorization") != f"Bearer {number.access_token}":
            return graph_error(190, "Error validating access token.")
        if not request.content_type.startswith("multipart/"):
            return graph_error(100, "The media upload must be multipart/form-data.")
        form = await request.post()
        if form.get("messaging_product") != "whatsapp":
            return graph_error(100, "The parameter messaging_product is required.")
        upload = form.get("file")
        if not isinstance(upload, web.FileField):
            return graph_error(100, "The parameter file is required.")
        data = upload.file.read()
        declared = form.get("type")
        mime_type = (declared if isinstance(declared, str) and declared else "") or (
            upload.content_type or ""
        )
        mime_type = mime_type.split(";")[0].strip().lower()
        if mime_type not in SUPPORTED_TYPES:
            return graph_error(
                100,
                "Param file must be a file with one of the following types: "
                + ", ".join(SUPPORTED_TYPES)
                + f". Received file of type '{mime_type}'.",
            )
        if not data:
            return graph_error(131053, "The uploaded file is empty.")
        if len(data) > SUPPORTED_TYPES[mime_type]:
            return graph_error(
                131053,
                f"Media file size too big: {mime_type} is limited to "
                f"{SUPPORTED_TYPES[mime_type]} bytes.",
            )
        if not _content_matches(mime_type, data):
            return graph_error(
                131053, f"Media upload error: the file's content is not {mime_type}."
            )
        media = Media(
            id=self.sandbox.state.new_graph_id(),
            phone_number_id=phone_number_id,
            mime_type=mime_type,
            sha256=hashlib.sha256(data).hexdigest(),
            data=data,
            filename=upload.filename or "",
            uploaded_at=time.time(),
        )
        self.sandbox.state.media[media.id] = media
        number.stats.media_uploads += 1
        return web.json_response({"id": media.id})

    async def delete(self, request: web.Request) -> web.Response:
        """``DELETE /{media_id}`` with the uploading number's token."""
        media = self.sandbox.state.media.get(request.match_info["node_id"])
        if media is None or not self.sandbox.media_known(media.id):
            return graph_error(
                100,
                f"Unsupported delete request. Object with ID '{request.match_info['node_id']}' "
                "does not exist.",
                subcode=33,
            )
        number = self.sandbox.state.numbers.get(media.phone_number_id)
        if number is None or request.headers.get("Authorization") != (
            f"Bearer {number.access_token}"
        ):
            return graph_error(190, "Error validating access token.")
        del self.sandbox.state.media[media.id]
        return web.json_response({"success": True})

    async def download(self, request: web.Request) -> web.Response:
        """The media URL: the bytes, for the uploading number's token (404 otherwise, as Meta)."""
        media = self.sandbox.state.media.get(request.match_info["id"])
        number = self.sandbox.state.numbers.get(media.phone_number_id) if media else None
        if (
            media is None
            or number is None
            or not self.sandbox.media_known(media.id)
            or request.headers.get("Authorization") != f"Bearer {number.access_token}"
        ):
            return not_found("media not found")
        return web.Response(body=media.data, content_type=media.mime_type)

    async def control_list(self, request: web.Request) -> web.Response:
        """Every uploaded media (without its bytes), oldest first; ``?phone_number_id=``."""
        wanted = request.query.get("phone_number_id")
        found: list[dict[str, Any]] = [
            {**m.public(), "expired": not self.sandbox.media_known(m.id)}
            for m in self.sandbox.state.media.values()
            if wanted is None or m.phone_number_id == wanted
        ]
        return web.json_response(found)

    async def control_expire(self, request: web.Request) -> web.Response:
        """Age a media id past its 30 days, so the next use of it fails as Meta's would."""
        media = self.sandbox.state.media.get(request.match_info["id"])
        if media is None:
            return not_found("unknown media id")
        media.uploaded_at -= self.sandbox.config.media_ttl_seconds + 1
        return web.json_response({**media.public(), "expired": True})
