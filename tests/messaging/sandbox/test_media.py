"""Media over Meta's endpoints: upload, read, download, delete; ids used in sends; expiry."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from ..conftest import HttpAnswer, SandboxClient, http
from .helpers import (
    AUTH,
    PHONE_ID,
    TOKEN,
    VERSION,
    error_code,
    graph,
    register,
    send_template,
    text_parameters,
)

JPEG = b"\xff\xd8\xff\xe0" + b"\x00\x10JFIF" + bytes(range(256)) * 4


def upload(
    sandbox: SandboxClient,
    data: bytes,
    mime_type: str = "image/jpeg",
    *,
    filename: str = "spring.jpg",
    fields: dict[str, str] | None = None,
    token: str = TOKEN,
) -> HttpAnswer:
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in (fields or {"messaging_product": "whatsapp", "type": mime_type}).items():
        disposition = f'Content-Disposition: form-data; name="{name}"'
        parts.append(f"--{boundary}\r\n{disposition}\r\n\r\n{value}\r\n".encode())
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"'
        f"\r\nContent-Type: {mime_type}\r\n\r\n".encode()
        + data
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return http(
        "POST",
        f"{sandbox.base_url}/{VERSION}/{PHONE_ID}/media",
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        },
        data=b"".join(parts),
    )


def _image_template(sandbox: SandboxClient) -> None:
    sandbox.add_template(
        PHONE_ID,
        name="picture_offer",
        body="Salam {{1}}, see our new arrivals.",
        examples=["Aysel"],
        components=[
            {"type": "HEADER", "format": "IMAGE", "example": {"header_handle": ["4::aW1n"]}}
        ],
    )


def _image_components(image: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"type": "header", "parameters": [{"type": "image", "image": image}]},
        {"type": "body", "parameters": text_parameters("Aysel")},
    ]


def test_upload_read_download_and_delete(sandbox: SandboxClient) -> None:
    register(sandbox)
    answer = upload(sandbox, JPEG)
    assert answer.status == 200, answer.raw
    media_id = answer.body["id"]
    assert set(answer.body) == {"id"}
    assert media_id.isdigit()
    node = graph(sandbox, "GET", media_id).body
    assert node == {
        "messaging_product": "whatsapp",
        "url": node["url"],
        "mime_type": "image/jpeg",
        "sha256": hashlib.sha256(JPEG).hexdigest(),
        "file_size": str(len(JPEG)),
        "id": media_id,
    }
    assert http("GET", node["url"], headers=AUTH).raw == JPEG
    assert http("GET", node["url"]).status == 404  # the URL needs the token
    other = graph(sandbox, "GET", f"{media_id}?phone_number_id=999")
    assert error_code(other) == 100
    assert sandbox.number_stats(PHONE_ID)["media_uploads"] == 1
    deleted = graph(sandbox, "DELETE", media_id)
    assert (deleted.status, deleted.body) == (200, {"success": True})
    assert error_code(graph(sandbox, "GET", media_id)) == 100


def test_uploads_are_refused_as_meta_refuses_them(sandbox: SandboxClient) -> None:
    register(sandbox)
    wrong_type = upload(sandbox, b"GIF89a....", "image/gif", filename="x.gif")
    assert (wrong_type.status, error_code(wrong_type)) == (400, 100)
    assert "image/jpeg" in wrong_type.body["error"]["error_data"]["details"]
    not_a_png = upload(sandbox, JPEG, "image/png", filename="x.png")
    assert (not_a_png.status, error_code(not_a_png)) == (400, 131053)
    too_big = upload(sandbox, JPEG[:4] + b"\x00" * (5 * 1024 * 1024), "image/jpeg")
    assert error_code(too_big) == 131053
    no_product = upload(sandbox, JPEG, fields={"type": "image/jpeg"})
    assert error_code(no_product) == 100
    bad_token = upload(sandbox, JPEG, token="nope")
    assert (bad_token.status, error_code(bad_token)) == (401, 190)
    assert sandbox.number_stats(PHONE_ID)["media_uploads"] == 0
    assert sandbox.call("GET", "/_sandbox/media").body == []


def test_media_ids_in_template_headers_and_media_messages(sandbox: SandboxClient) -> None:
    register(sandbox)
    _image_template(sandbox)
    media_id = upload(sandbox, JPEG).body["id"]
    for n in range(3):  # one upload, reused by id for every recipient
        answer = send_template(
            sandbox,
            "picture_offer",
            "en",
            _image_components({"id": media_id}),
            to=f"99450111000{n}",
        )
        assert answer.status == 200, answer.raw
    by_link = send_template(
        sandbox, "picture_offer", "en", _image_components({"link": "https://cdn.example/a.jpg"})
    )
    assert by_link.status == 200
    message = graph(
        sandbox,
        "POST",
        f"{PHONE_ID}/messages",
        {
            "messaging_product": "whatsapp",
            "to": "994501110009",
            "type": "image",
            "image": {"id": media_id, "caption": "New arrivals"},
        },
    )
    assert message.status == 200, message.raw
    unknown = graph(
        sandbox,
        "POST",
        f"{PHONE_ID}/messages",
        {"messaging_product": "whatsapp", "to": "994501110009", "type": "document",
         "document": {"id": "1234"}},
    )  # fmt: skip
    assert (unknown.status, error_code(unknown)) == (400, 131009)
    stats = sandbox.number_stats(PHONE_ID)
    assert (stats["accepted"], stats["media_uploads"]) == (5, 1)
    log = sandbox.call("GET", f"/_sandbox/numbers/{PHONE_ID}/messages").body["data"]
    headers = [
        e["template"]["components"][0]["parameters"][0]["image"]
        for e in log
        if e["type"] == "template"
    ]
    assert headers.count({"id": media_id}) == 3
    (listed,) = sandbox.call("GET", f"/_sandbox/media?phone_number_id={PHONE_ID}").body
    assert (listed["id"], listed["expired"]) == (media_id, False)


def test_an_expired_media_id_is_refused_until_uploaded_again(sandbox: SandboxClient) -> None:
    register(sandbox)
    _image_template(sandbox)
    media_id = upload(sandbox, JPEG).body["id"]
    assert sandbox.call("POST", f"/_sandbox/media/{media_id}/expire").status == 200
    expired = send_template(sandbox, "picture_offer", "en", _image_components({"id": media_id}))
    assert (expired.status, error_code(expired)) == (400, 131009)
    assert error_code(graph(sandbox, "GET", media_id)) == 100
    fresh = upload(sandbox, JPEG).body["id"]
    assert fresh != media_id
    again = send_template(sandbox, "picture_offer", "en", _image_components({"id": fresh}))
    assert again.status == 200
    assert sandbox.number_stats(PHONE_ID)["media_uploads"] == 2
