"""Meta's Resumable Upload API, as its documents describe it: how a template's media header
gets its ``example.header_handle``.

Sources: Meta, "Resumable Upload API" (developers.facebook.com/docs/graph-api/resumable-upload-api)
and "Upload a file" (developers.facebook.com/docs/graph-api/guides/upload):

1. ``POST /{version}/{app_id}/uploads?file_name=&file_length=&file_type=&access_token=`` opens a
   session and answers ``{"id": "upload:<UPLOAD_SESSION_ID>"}``. ``file_length`` is the file's
   size in bytes; ``file_type`` is one of ``application/pdf, image/jpeg, image/jpg, image/png,
   video/mp4``; the app is the token's (the app user must have a role on it).
2. ``POST /{version}/upload:<UPLOAD_SESSION_ID>`` with ``Authorization: OAuth <token>``,
   ``file_offset: 0`` and the file's bytes as the body answers ``{"h": "<UPLOADED_FILE_HANDLE>"}``.
3. An interrupted upload: ``GET /{version}/upload:<UPLOAD_SESSION_ID>`` (same header) answers
   ``{"id": "upload:<UPLOAD_SESSION_ID>", "file_offset": <bytes received>}``; the upload resumes
   with a POST whose ``file_offset`` is that value and whose body is the rest of the file.

``GET /{version}/app`` is Graph's app node for the access token: ``{"id", "name", "link"}`` (the
product asks it for the app id of step 1).

What Meta's pages do not spell out, and the sandbox therefore decides (said again where it
happens): the session id carries a signature (``upload:<id>?sig=<sig>``, the shape real sessions
have); a bad or missing token is Graph's code 190; an unknown or forged session, another app's
``/uploads`` edge, a missing or unsupported parameter, a ``file_offset`` other than the bytes
received so far, and more bytes than ``file_length`` are Graph's generic code 100 (invalid
parameter) with the reason in ``error_data.details``; a chunk that leaves the file incomplete
answers like step 3 (``{"id", "file_offset"}``) instead of a handle.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from messaging.sandbox.graph import graph_error

if TYPE_CHECKING:
    from messaging.sandbox.server import Sandbox
    from messaging.sandbox.state import Number

#: The ``file_type`` values Meta's "Upload a file" guide lists as valid.
UPLOAD_FILE_TYPES = ("application/pdf", "image/jpeg", "image/jpg", "image/png", "video/mp4")
#: The largest file the sandbox takes: a DOCUMENT header's sample (Meta's 100 MB media limit).
MAX_UPLOAD_BYTES = 100 * 1024 * 1024
SANDBOX_APP_NAME = "iSend Sandbox"


@dataclass(slots=True)
class UploadSession:
    """One resumable upload: what step 1 declared and the bytes received so far."""

    id: str  # "upload:<id>" (without the signature)
    signature: str
    app_id: str
    access_token: str
    file_name: str
    file_length: int
    file_type: str
    opened_at: float
    data: bytearray = field(default_factory=bytearray)
    handle: str = ""

    @property
    def public_id(self) -> str:
        return f"{self.id}?sig={self.signature}"

    def public(self) -> dict[str, Any]:
        return {
            "id": self.public_id,
            "app_id": self.app_id,
            "file_name": self.file_name,
            "file_length": self.file_length,
            "file_type": self.file_type,
            "file_offset": len(self.data),
            "handle": self.handle or None,
            "opened_at": self.opened_at,
        }


def app_id_for(access_token: str) -> str:
    """The app a sandbox token belongs to: a stable numeric id derived from the token, so each
    registered number's token names one app (as a system-user token names its app at Meta)."""
    digest = hashlib.sha256(f"sandbox-app:{access_token}".encode()).digest()
    return str(1_000_000_000_000_000 + int.from_bytes(digest[:6], "big"))


def _token(request: web.Request) -> str:
    """The access token of a Graph call: ``Authorization: OAuth|Bearer <token>`` or the
    ``access_token`` query parameter (Meta's examples use both)."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() in ("oauth", "bearer") and value.strip():
        return value.strip()
    return request.query.get("access_token", "").strip()


class ResumableUploads:
    """The handlers of the Resumable Upload API over the sandbox's state."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self._secret = secrets.token_bytes(32)

    def _number_for(self, token: str) -> Number | None:
        if not token:
            return None
        return next(
            (n for n in self.sandbox.state.numbers.values() if n.access_token == token), None
        )

    def _sign(self, session_id: str) -> str:
        mac = hmac.new(self._secret, session_id.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac[:18]).decode().rstrip("=")

    def handle_known(self, handle: str) -> bool:
        """Whether ``handle`` is one this sandbox issued (a finished upload)."""
        return handle in self.sandbox.state.upload_handles

    async def app_node(self, request: web.Request) -> web.Response:
        """``GET /{version}/app``: the token's app (Graph's app node)."""
        token = _token(request)
        if self._number_for(token) is None:
            return graph_error(190, "Error validating access token: Invalid OAuth access token.")
        app_id = app_id_for(token)
        return web.json_response(
            {"id": app_id, "name": SANDBOX_APP_NAME, "link": f"https://www.facebook.com/{app_id}"}
        )

    async def open_session(self, request: web.Request) -> web.Response:
        """Step 1: ``POST /{version}/{app_id}/uploads?file_name=&file_length=&file_type=``."""
        app_id = request.match_info["app_id"]
        token = _token(request)
        if self._number_for(token) is None:
            return graph_error(190, "Error validating access token: Invalid OAuth access token.")
        if app_id != app_id_for(token):
            # Meta: the app user must have a role on the app; another app's edge is not theirs.
            return graph_error(
                100,
                f"Unsupported post request. Object with ID '{app_id}' does not exist, cannot be "
                "loaded due to missing permissions, or does not support this operation.",
                subcode=33,
            )
        query = request.query
        file_name = query.get("file_name", "").strip()
        if not file_name:
            return graph_error(100, "The parameter file_name is required.")
        raw_length = query.get("file_length", "").strip()
        if not raw_length:
            return graph_error(100, "The parameter file_length is required.")
        if not raw_length.isdigit() or int(raw_length) <= 0:
            return graph_error(100, "Param file_length must be a positive integer.")
        file_length = int(raw_length)
        if file_length > MAX_UPLOAD_BYTES:
            return graph_error(100, f"Param file_length must be at most {MAX_UPLOAD_BYTES} bytes.")
        file_type = query.get("file_type", "").strip().lower()
        if not file_type:
            return graph_error(100, "The parameter file_type is required.")
        if file_type not in UPLOAD_FILE_TYPES:
            return graph_error(
                100,
                "Param file_type must be one of {"
                + ", ".join(UPLOAD_FILE_TYPES)
                + f"}}. Received '{file_type}'.",
            )
        session_id = "upload:" + base64.urlsafe_b64encode(secrets.token_bytes(24)).decode()
        session = UploadSession(
            id=session_id,
            signature=self._sign(session_id),
            app_id=app_id,
            access_token=token,
            file_name=file_name[:255],
            file_length=file_length,
            file_type=file_type,
            opened_at=time.time(),
        )
        self.sandbox.state.uploads[session_id] = session
        return web.json_response({"id": session.public_id})

    def _session(self, request: web.Request) -> tuple[UploadSession | None, web.Response | None]:
        """The session named by the path and its ``sig``, for the token that opened it."""
        session_id = request.match_info["session"]
        session = self.sandbox.state.uploads.get(session_id)
        signature = request.query.get("sig", "")
        if session is None or not hmac.compare_digest(signature, session.signature):
            method = request.method.lower()
            return None, graph_error(
                100,
                f"Unsupported {method} request. Object with ID '{session_id}' does not exist, "
                "cannot be loaded due to missing permissions, or does not support this operation.",
                subcode=33,
            )
        if (
            _token(request) != session.access_token
            or self._number_for(session.access_token) is None
        ):
            return None, graph_error(
                190, "Error validating access token: Invalid OAuth access token."
            )
        return session, None

    async def session_status(self, request: web.Request) -> web.Response:
        """Step 3: ``GET /{version}/upload:<id>`` answers ``{"id", "file_offset"}``."""
        session, refused = self._session(request)
        if refused is not None or session is None:
            return refused or graph_error(100, "Invalid parameter")
        return web.json_response({"id": session.public_id, "file_offset": len(session.data)})

    async def upload(self, request: web.Request) -> web.Response:
        """Step 2: ``POST /{version}/upload:<id>`` with ``file_offset`` and the bytes."""
        session, refused = self._session(request)
        if refused is not None or session is None:
            return refused or graph_error(100, "Invalid parameter")
        raw_offset = request.headers.get("file_offset", "").strip()
        if not raw_offset:
            return graph_error(100, "The header file_offset is required.")
        if not raw_offset.isdigit():
            return graph_error(100, "Header file_offset must be a non-negative integer.")
        offset = int(raw_offset)
        received = len(session.data)
        if session.handle:
            return graph_error(100, "This upload session is complete; open a new one.")
        if offset != received:
            return graph_error(
                100,
                f"Invalid file_offset {offset}: the session has received {received} bytes; "
                f"resume at file_offset {received}.",
            )
        chunk = await request.read()
        if not chunk:
            return graph_error(100, "The request has no file data.")
        if received + len(chunk) > session.file_length:
            return graph_error(
                100,
                f"The data ({received + len(chunk)} bytes) is longer than the file_length "
                f"declared for this session ({session.file_length} bytes).",
            )
        session.data.extend(chunk)
        if len(session.data) < session.file_length:
            # Not documented: the sandbox answers a partial chunk like the status call.
            return web.json_response({"id": session.public_id, "file_offset": len(session.data)})
        mime = base64.b64encode(session.file_type.encode()).decode()
        session.handle = f"4::{mime}:{secrets.token_urlsafe(48)}"
        self.sandbox.state.upload_handles[session.handle] = session.id
        return web.json_response({"h": session.handle})

    async def control_list(self, request: web.Request) -> web.Response:
        """Every upload session (without its bytes), oldest first."""
        return web.json_response([s.public() for s in self.sandbox.state.uploads.values()])
