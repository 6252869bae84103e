"""Template components and media on the wire: Meta's template payload (header text or media,
positional or named body parameters, URL-button suffixes), free-form media, the `/media`
upload, and WAHA's sendImage / sendFile. Pure payloads, then a stub over real HTTP."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from messaging.gateways.base import (
    ButtonParameter,
    CloudApiCredentials,
    MediaAttachment,
    OutboundMessage,
    OutcomeKind,
    TemplateParameter,
)
from messaging.gateways.cloud_api import CloudApiAdapter, MediaUpload, build_message_payload
from messaging.gateways.web_gateway import send_request

CREDENTIALS = CloudApiCredentials(phone_number_id="106540352242922", access_token="EAAG-token")


def test_a_template_with_an_image_header_positional_body_and_a_url_button() -> None:
    message = OutboundMessage(
        public_id="m-1",
        to="+994501234567",
        template_name="spring_sale",
        template_language="az",
        header_media=MediaAttachment(kind="image", media_id="4490709327384033"),
        body_parameters=("Aysel", "20%"),
        button_parameters=(ButtonParameter(index=0, text="aysel-42"),),
    )
    assert build_message_payload(message)["template"] == {
        "name": "spring_sale",
        "language": {"code": "az"},
        "components": [
            {
                "type": "header",
                "parameters": [{"type": "image", "image": {"id": "4490709327384033"}}],
            },
            {
                "type": "body",
                "parameters": [{"type": "text", "text": "Aysel"}, {"type": "text", "text": "20%"}],
            },
            {
                "type": "button",
                "sub_type": "url",
                "index": "0",
                "parameters": [{"type": "text", "text": "aysel-42"}],
            },
        ],
    }


def test_named_parameters_carry_parameter_name_and_a_text_header() -> None:
    message = OutboundMessage(
        public_id="m-1",
        to="994501234567",
        template_name="order_ready",
        template_language="en_US",
        header_parameters=(TemplateParameter("#1042", name="order"),),
        body_parameters=(TemplateParameter("Aysel", name="first_name"),),
    )
    components = build_message_payload(message)["template"]["components"]
    assert components == [
        {
            "type": "header",
            "parameters": [{"type": "text", "text": "#1042", "parameter_name": "order"}],
        },
        {
            "type": "body",
            "parameters": [{"type": "text", "text": "Aysel", "parameter_name": "first_name"}],
        },
    ]


def test_a_document_header_by_link_keeps_its_file_name() -> None:
    message = OutboundMessage(
        public_id="m-1",
        to="994501234567",
        template_name="invoice",
        template_language="ru",
        header_media=MediaAttachment(
            kind="document", link="https://example.com/i.pdf", filename="invoice.pdf"
        ),
    )
    header = build_message_payload(message)["template"]["components"][0]
    assert header["parameters"] == [
        {
            "type": "document",
            "document": {"link": "https://example.com/i.pdf", "filename": "invoice.pdf"},
        }
    ]


def test_a_free_form_image_takes_the_text_as_its_caption() -> None:
    message = OutboundMessage(
        public_id="m-1",
        to="994501234567",
        text="Salam Aysel",
        media=MediaAttachment(kind="image", link="https://example.com/a.jpg"),
    )
    payload = build_message_payload(message)
    assert payload["type"] == "image"
    assert payload["image"] == {"link": "https://example.com/a.jpg", "caption": "Salam Aysel"}
    assert "text" not in payload


@pytest.mark.parametrize(
    "kwargs",
    [
        {"text": "hi", "body_parameters": ("x",)},  # components without a template
        {
            "template_name": "t",
            "template_language": "az",
            "media": MediaAttachment(kind="image", link="https://e/x.jpg"),
        },
        {
            "template_name": "t",
            "template_language": "az",
            "header_parameters": (TemplateParameter("x"),),
            "header_media": MediaAttachment(kind="image", link="https://e/x.jpg"),
        },
    ],
)
def test_inconsistent_messages_are_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="template"):
        OutboundMessage(public_id="m", to="1", **kwargs)


def test_media_needs_exactly_one_source_and_a_known_kind() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        MediaAttachment(kind="image")
    with pytest.raises(ValueError, match="exactly one"):
        MediaAttachment(kind="image", link="https://e/x.jpg", media_id="1")
    with pytest.raises(ValueError, match="media kind"):
        MediaAttachment(kind="sticker", link="https://e/x.webp")
    assert "data" in repr(MediaAttachment(kind="image", data=b"\xff" * 10))


def test_waha_sends_an_image_by_send_image_and_a_file_by_send_file() -> None:
    image = OutboundMessage(
        public_id="m-1",
        to="+994501234567",
        text="Salam Aysel",
        media=MediaAttachment(kind="image", data=b"\xff\xd8jpeg", mime_type="image/jpeg"),
    )
    path, payload = send_request("s1", "994501234567@c.us", image)
    assert path == "/api/sendImage"
    assert payload["caption"] == "Salam Aysel"
    assert payload["file"] == {
        "mimetype": "image/jpeg",
        "data": base64.b64encode(b"\xff\xd8jpeg").decode(),
    }
    document = OutboundMessage(
        public_id="m-2",
        to="+994501234567",
        text="Your invoice",
        media=MediaAttachment(kind="document", link="https://example.com/i.pdf", filename="i.pdf"),
    )
    path, payload = send_request("s1", "994501234567@c.us", document)
    assert path == "/api/sendFile"
    assert payload["file"] == {
        "mimetype": "application/pdf",
        "filename": "i.pdf",
        "url": "https://example.com/i.pdf",
    }
    text = OutboundMessage(public_id="m-3", to="+994501234567", text="Salam")
    assert send_request("s1", "994501234567@c.us", text)[0] == "/api/sendText"


def _upload_stub(answers: list[tuple[int, dict[str, Any]]], seen: list[dict[str, Any]]) -> Any:
    async def handler(request: web.Request) -> web.Response:
        form = await request.post()
        upload = form["file"]
        seen.append(
            {
                "path": request.path,
                "auth": request.headers.get("Authorization"),
                "messaging_product": form.get("messaging_product"),
                "type": form.get("type"),
                "bytes": upload.file.read(),  # type: ignore[union-attr]
                "filename": upload.filename,  # type: ignore[union-attr]
            }
        )
        status, body = answers.pop(0)
        return web.json_response(body, status=status)

    return handler


def test_upload_media_posts_multipart_and_returns_the_id() -> None:
    seen: list[dict[str, Any]] = []
    answers = [
        (200, {"id": "1037543291543636"}),
        (
            400,
            {
                "error": {
                    "message": "(#131053) Media upload error",
                    "type": "OAuthException",
                    "code": 131053,
                    "fbtrace_id": "x",
                }
            },
        ),
    ]

    async def scenario() -> tuple[MediaUpload, MediaUpload]:
        app = web.Application()
        app.router.add_post("/{version}/{phone}/media", _upload_stub(answers, seen))
        async with TestServer(app, host="127.0.0.1") as server:
            base = str(server.make_url("")).rstrip("/")
            async with CloudApiAdapter(CREDENTIALS, base_url=base) as adapter:
                first = await adapter.upload_media(
                    data=b"\x89PNG-bytes", mime_type="image/png", filename="sale.png"
                )
                second = await adapter.upload_media(
                    data=b"\x89PNG-bytes", mime_type="image/png", filename="sale.png"
                )
        return first, second

    first, second = asyncio.run(scenario())
    assert (first.ok, first.media_id) == (True, "1037543291543636")
    assert seen[0]["path"].endswith("/106540352242922/media")
    assert seen[0]["auth"] == "Bearer EAAG-token"
    assert (seen[0]["messaging_product"], seen[0]["type"]) == ("whatsapp", "image/png")
    assert (seen[0]["bytes"], seen[0]["filename"]) == (b"\x89PNG-bytes", "sale.png")
    assert not second.ok
    assert second.kind is OutcomeKind.FIX_REQUEST
    assert second.error is not None
    assert second.error.code == 131053
