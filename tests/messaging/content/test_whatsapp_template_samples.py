"""A media header's sample file, uploaded with Meta's Resumable Upload API to the sandbox: the
gateway's ``upload_example`` gets a handle, the product's upload service hands it to a template
that Meta (the sandbox) then holds PENDING, and Meta's refusal is a clear field error."""

from __future__ import annotations

import asyncio

import pytest
from django.core.exceptions import ValidationError

from messaging.content import services
from messaging.content.models import WhatsAppTemplate
from messaging.engine.adapters import cloud_adapter
from messaging.gateways.cloud_api import GraphRequestError
from tests.messaging.sandbox.test_uploads import PNG

pytestmark = pytest.mark.django_db

BODY = {
    "type": "BODY",
    "text": "Salam {{1}}, the spring sale starts today!",
    "example": {"body_text": [["Aysel"]]},
}


def _uploads(sandbox) -> list[dict]:
    return sandbox.call("GET", "/_sandbox/uploads").body


def test_upload_example_gets_a_handle_from_the_sandbox(connect_number, tpl_sandbox) -> None:
    number = connect_number()

    async def upload() -> str:
        async with cloud_adapter(number) as adapter:
            return await adapter.upload_example(PNG, mime_type="image/png", file_name="offer.png")

    handle = asyncio.run(upload())

    assert handle.startswith("4::")
    (session,) = _uploads(tpl_sandbox)
    assert (session["file_name"], session["file_type"], session["file_length"]) == (
        "offer.png",
        "image/png",
        len(PNG),
    )
    assert (session["file_offset"], session["handle"]) == (len(PNG), handle)


def test_upload_example_raises_metas_refusal(connect_number, tpl_sandbox) -> None:
    number = connect_number()
    # the number is gone at Meta: its token no longer names an app
    tpl_sandbox.call("DELETE", f"/_sandbox/numbers/{number.phone_number_id}")

    async def upload() -> str:
        async with cloud_adapter(number) as adapter:
            return await adapter.upload_example(PNG, mime_type="image/png", file_name="offer.png")

    with pytest.raises(GraphRequestError) as refused:
        asyncio.run(upload())
    assert refused.value.error.code == 190


def test_a_sandbox_number_uploads_the_sample_and_the_template_uses_its_handle(
    workspace, owner, connect_number, tpl_sandbox
) -> None:
    number = connect_number()

    handle = services.whatsapp_template_example_upload(
        workspace=workspace, sender=number, header_format="IMAGE", data=PNG, file_name="offer.png"
    )
    template = services.whatsapp_template_create(
        workspace=workspace,
        sender=number,
        name="spring_picture",
        language="az",
        category="MARKETING",
        components=[
            {"type": "HEADER", "format": "IMAGE", "example": {"header_handle": [handle]}},
            BODY,
        ],
        actor=owner,
    )

    assert template.status == WhatsAppTemplate.Status.PENDING
    (at_meta,) = tpl_sandbox.call(
        "GET", f"/_sandbox/templates?waba_id={number.waba_id}&name=spring_picture"
    ).body
    assert at_meta["components"][0]["example"] == {"header_handle": [handle]}
    assert [u["handle"] for u in _uploads(tpl_sandbox)] == [handle]


def test_metas_refusal_of_the_upload_is_a_field_error_without_a_paste_hint(
    workspace, connect_number, tpl_sandbox
) -> None:
    number = connect_number()
    tpl_sandbox.call("DELETE", f"/_sandbox/numbers/{number.phone_number_id}")

    with pytest.raises(ValidationError) as refused:
        services.whatsapp_template_example_upload(
            workspace=workspace,
            sender=number,
            header_format="IMAGE",
            data=PNG,
            file_name="offer.png",
        )

    (message,) = refused.value.message_dict["header_file"]
    assert message.startswith("Meta refused the request (#190)")
    assert "paste" not in message
    assert _uploads(tpl_sandbox) == []


def test_the_editor_shows_metas_refusal_of_the_sample_and_keeps_nothing(
    workspace, member_client, connect_number, tpl_sandbox
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse

    number = connect_number()
    tpl_sandbox.call("DELETE", f"/_sandbox/numbers/{number.phone_number_id}")

    answer = member_client.post(
        reverse("messaging:whatsapp_template_create", args=[workspace.slug]),
        {
            "number": str(number.public_id),
            "name": "spring_picture",
            "language": "az",
            "category": "MARKETING",
            "parameter_format": "POSITIONAL",
            "header_format": "IMAGE",
            "header_file": SimpleUploadedFile("offer.png", PNG, content_type="image/png"),
            "body": "Salam {{1}}, the spring sale starts today!",
            "body_examples": "Aysel",
        },
    )

    assert answer.status_code == 200
    page = answer.content.decode()
    assert "Meta refused the request (#190)" in page
    assert not WhatsAppTemplate.objects.filter(workspace=workspace, name="spring_picture").exists()
    assert tpl_sandbox.call("GET", "/_sandbox/templates?name=spring_picture").body == []
