"""Meta's Resumable Upload API over HTTP: the app node, opening a session, sending the bytes
(whole or resumed), the session's status, each refusal, and the handle used in a template."""

from __future__ import annotations

import struct
import zlib
from urllib.parse import urlencode

from ..conftest import HttpAnswer, SandboxClient, http
from .helpers import (
    TOKEN,
    VERSION,
    body_component,
    create,
    definition,
    error_code,
    graph,
    register,
)


def png_bytes() -> bytes:
    """A valid 1x1 PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


PNG = png_bytes()


def app_id(sandbox: SandboxClient, token: str = TOKEN) -> str:
    answer = graph(sandbox, "GET", "app", token=token)
    assert answer.status == 200, answer.raw
    return str(answer.body["id"])


def open_session(
    sandbox: SandboxClient,
    *,
    app: str | None = None,
    token: str = TOKEN,
    **params: object,
) -> HttpAnswer:
    query = {"file_name": "offer.png", "file_length": len(PNG), "file_type": "image/png"}
    query.update(params)  # type: ignore[arg-type]
    query = {k: v for k, v in query.items() if v is not None}
    return graph(
        sandbox, "POST", f"{app or app_id(sandbox)}/uploads?{urlencode(query)}", token=token
    )


def send(
    sandbox: SandboxClient,
    session_id: str,
    data: bytes,
    *,
    offset: str | None = "0",
    token: str = TOKEN,
    scheme: str = "OAuth",
) -> HttpAnswer:
    headers = {"Authorization": f"{scheme} {token}"}
    if offset is not None:
        headers["file_offset"] = offset
    return http("POST", f"{sandbox.base_url}/{VERSION}/{session_id}", headers=headers, data=data)


def status(sandbox: SandboxClient, session_id: str, *, token: str = TOKEN) -> HttpAnswer:
    return http(
        "GET",
        f"{sandbox.base_url}/{VERSION}/{session_id}",
        headers={"Authorization": f"OAuth {token}"},
    )


def image_template(name: str, handle: str) -> dict[str, object]:
    return definition(
        name,
        components=[
            {"type": "HEADER", "format": "IMAGE", "example": {"header_handle": [handle]}},
            body_component("Salam {{1}}, our spring sale starts today!", "Aysel"),
        ],
    )


def test_upload_gives_a_handle_that_a_template_accepts(sandbox: SandboxClient) -> None:
    register(sandbox)
    app = graph(sandbox, "GET", "app")
    assert app.status == 200
    assert app.body["id"].isdigit()
    assert app.body["name"]

    opened = open_session(sandbox, app=app.body["id"])
    assert opened.status == 200, opened.raw
    session_id = opened.body["id"]
    assert session_id.startswith("upload:")
    assert "?sig=" in session_id

    before = status(sandbox, session_id)
    assert before.status == 200
    assert before.body == {"id": session_id, "file_offset": 0}

    sent = send(sandbox, session_id, PNG)
    assert sent.status == 200, sent.raw
    handle = sent.body["h"]
    assert handle.startswith("4::")

    assert status(sandbox, session_id).body["file_offset"] == len(PNG)
    listed = http("GET", f"{sandbox.base_url}/_sandbox/uploads").body
    assert [(u["file_name"], u["file_type"], u["handle"]) for u in listed] == [
        ("offer.png", "image/png", handle)
    ]

    created = create(sandbox, image_template("picture_offer", handle))
    assert created.status == 200, created.raw
    assert created.body["status"] == "PENDING"


def test_an_interrupted_upload_resumes_at_the_offset_the_session_reports(
    sandbox: SandboxClient,
) -> None:
    register(sandbox)
    session_id = open_session(sandbox).body["id"]
    first = send(sandbox, session_id, PNG[:20])
    assert first.status == 200, first.raw
    assert "h" not in first.body
    offset = status(sandbox, session_id).body["file_offset"]
    assert offset == 20
    rest = send(sandbox, session_id, PNG[offset:], offset=str(offset))
    assert rest.status == 200, rest.raw
    assert rest.body["h"].startswith("4::")


def test_the_access_token_query_parameter_and_bearer_also_authenticate(
    sandbox: SandboxClient,
) -> None:
    register(sandbox)
    app = app_id(sandbox)
    query = urlencode(
        {
            "file_name": "a.pdf",
            "file_length": 5,
            "file_type": "application/pdf",
            "access_token": TOKEN,
        }
    )
    opened = http("POST", f"{sandbox.base_url}/{VERSION}/{app}/uploads?{query}")
    assert opened.status == 200, opened.raw
    sent = send(sandbox, opened.body["id"], b"%PDF-", scheme="Bearer")
    assert sent.status == 200, sent.raw
    assert "h" in sent.body


def test_a_bad_token_is_refused_at_every_step(sandbox: SandboxClient) -> None:
    register(sandbox)
    app = graph(sandbox, "GET", "app", token="forged")
    assert (app.status, error_code(app)) == (401, 190)
    opened = open_session(sandbox, app=app_id(sandbox), token="forged")
    assert (opened.status, error_code(opened)) == (401, 190)

    session_id = open_session(sandbox).body["id"]
    refused = send(sandbox, session_id, PNG, token="forged")
    assert (refused.status, error_code(refused)) == (401, 190)
    assert error_code(status(sandbox, session_id, token="forged")) == 190
    assert status(sandbox, session_id).body["file_offset"] == 0  # nothing was taken


def test_another_apps_uploads_edge_is_refused(sandbox: SandboxClient) -> None:
    register(sandbox)
    sandbox.register("2002", waba_id="WABA-2002", access_token="other-token")
    other_app = app_id(sandbox, token="other-token")
    assert other_app != app_id(sandbox)
    refused = open_session(sandbox, app=other_app)
    assert error_code(refused) == 100
    assert refused.body["error"]["error_subcode"] == 33


def test_missing_and_unsupported_parameters_are_refused(sandbox: SandboxClient) -> None:
    register(sandbox)
    cases = [
        ({"file_type": "image/gif"}, "file_type"),
        ({"file_type": "audio/ogg"}, "file_type"),
        ({"file_type": None}, "file_type"),
        ({"file_length": None}, "file_length"),
        ({"file_length": "0"}, "file_length"),
        ({"file_length": "ten"}, "file_length"),
        ({"file_name": None}, "file_name"),
    ]
    for params, named in cases:
        answer = open_session(sandbox, **params)
        assert answer.status == 400, (params, answer.raw)
        assert error_code(answer) == 100
        assert named in answer.body["error"]["error_data"]["details"], params
    assert http("GET", f"{sandbox.base_url}/_sandbox/uploads").body == []


def test_a_wrong_file_offset_is_refused_and_loses_nothing(sandbox: SandboxClient) -> None:
    register(sandbox)
    session_id = open_session(sandbox).body["id"]
    ahead = send(sandbox, session_id, PNG, offset="10")
    assert (ahead.status, error_code(ahead)) == (400, 100)
    assert "file_offset" in ahead.body["error"]["error_data"]["details"]
    missing = send(sandbox, session_id, PNG, offset=None)
    assert error_code(missing) == 100
    assert status(sandbox, session_id).body["file_offset"] == 0

    send(sandbox, session_id, PNG[:10])
    replayed = send(sandbox, session_id, PNG, offset="0")  # the start again
    assert error_code(replayed) == 100
    assert status(sandbox, session_id).body["file_offset"] == 10


def test_more_bytes_than_the_declared_file_length_are_refused(sandbox: SandboxClient) -> None:
    register(sandbox)
    session_id = open_session(sandbox, file_length=10).body["id"]
    refused = send(sandbox, session_id, PNG)
    assert (refused.status, error_code(refused)) == (400, 100)
    assert "file_length" in refused.body["error"]["error_data"]["details"]
    assert status(sandbox, session_id).body["file_offset"] == 0


def test_a_forged_or_unknown_session_is_refused(sandbox: SandboxClient) -> None:
    register(sandbox)
    session_id = open_session(sandbox).body["id"]
    bare, _, _sig = session_id.partition("?sig=")
    for forged in (f"{bare}?sig=forged", bare, "upload:nothing?sig=x"):
        answer = send(sandbox, forged, PNG)
        assert error_code(answer) == 100, forged
        assert answer.body["error"]["error_subcode"] == 33
        assert error_code(status(sandbox, forged)) == 100
    assert status(sandbox, session_id).body["file_offset"] == 0


def test_a_finished_session_takes_no_more_bytes(sandbox: SandboxClient) -> None:
    register(sandbox)
    session_id = open_session(sandbox).body["id"]
    assert "h" in send(sandbox, session_id, PNG).body
    again = send(sandbox, session_id, PNG, offset=str(len(PNG)))
    assert error_code(again) == 100


def test_a_template_needs_a_non_empty_handle_but_not_an_issued_one(
    sandbox: SandboxClient,
) -> None:
    """Meta documents no answer for a handle it did not issue, so the sandbox takes any."""
    register(sandbox)
    refused = create(sandbox, image_template("no_sample", ""))
    assert error_code(refused) == 100
    elsewhere = create(sandbox, image_template("made_in_meta_tools", "4::aW1hZ2UvcG5n:ARaX"))
    assert elsewhere.status == 200, elsewhere.raw
