"""The export carries the messages the privacy centre counts (sent, with their campaign,
recipient, status, times and text while kept), the replies received, and the campaigns'
header files with a row describing each; nothing of another workspace."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import User, Workspace
from messaging import privacy as messaging_door
from messaging.campaigns.models import Campaign, CampaignMedia, InboundMessage, Message
from privacy import selectors
from privacy.models import DataExport
from tests.privacy.test_erasure_proof import _sender

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n-our-banner-bytes"


def _fill(ws: Workspace, *, marker: str, number: str) -> dict[str, Any]:
    sender = _sender(ws, number)
    campaign = Campaign.objects.create(workspace=ws, name=f"{marker} sale")
    campaign.header_media_file.save(f"{marker}.png", ContentFile(PNG + marker.encode()), save=False)
    campaign.header_media_type = "image/png"
    campaign.save()
    CampaignMedia.objects.create(campaign=campaign, sender=sender, media_id=f"{marker}-media-id")
    now = timezone.now()
    delivered = Message.objects.create(
        workspace=ws,
        campaign=campaign,
        sender=sender,
        phone="+994501110001",
        body=f"Hello from {marker}",
        status=Message.Status.DELIVERED,
        accepted_at=now,
        delivered_at=now,
    )
    single = Message.objects.create(
        workspace=ws, sender=sender, phone="+994501110002", body=f"Single {marker}"
    )
    purged = Message.objects.create(
        workspace=ws,
        campaign=campaign,
        sender=sender,
        phone="+994501110003",
        body="",  # its text is past the retention period
        status=Message.Status.READ,
        created_at=now - timedelta(days=200),
    )
    reply = InboundMessage.objects.create(
        workspace=ws,
        sender=sender,
        campaign=campaign,
        phone="+994501110001",
        provider_message_id=f"wamid.{marker}",
        kind="text",
        text=f"Reply to {marker}",
    )
    return {"campaign": campaign, "messages": [delivered, single, purged], "reply": reply}


def _export(client: Client, capture: Any) -> zipfile.ZipFile:
    with capture(execute=True):
        assert client.post(reverse("privacy:centre_export")).status_code == 302
    export = DataExport.objects.get()
    export.refresh_from_db()
    assert export.status == DataExport.Status.READY
    response = client.get(reverse("privacy:export_download", args=[export.public_id]))
    assert response.status_code == 200
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


def test_the_export_holds_the_workspaces_messages_replies_and_header_files(
    workspace: Workspace,
    other_workspace: Workspace,
    owner: User,
    member_client: Client,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given: messages, a reply and a header file here, and others in another workspace
    ours = _fill(workspace, marker="alpha", number="+994550000021")
    _fill(other_workspace, marker="zulu", number="+994550000022")

    # when
    archive = _export(member_client, django_capture_on_commit_callbacks)

    # then: the messages file matches the privacy centre's count
    counts = {r["category"]: r["count"] for r in selectors.privacy_centre_summary(user=owner)}
    messages = json.loads(archive.read("messages.json"))
    assert len(messages) == counts["messages"] == 3
    by_id = {m["public_id"]: m for m in messages}
    delivered, single, purged = ours["messages"]
    row = by_id[str(delivered.public_id)]
    assert row["campaign_name"] == "alpha sale"
    assert row["number"] == "+994550000021"
    assert (row["phone"], row["status"], row["body"]) == (
        "+994501110001",
        "delivered",
        "Hello from alpha",
    )
    assert row["accepted_at"]
    assert row["delivered_at"]
    assert row["created_at"]
    assert by_id[str(single.public_id)]["campaign_name"] is None
    assert by_id[str(single.public_id)]["body"] == "Single alpha"
    assert (by_id[str(purged.public_id)]["status"], by_id[str(purged.public_id)]["body"]) == (
        "read",
        "",
    )
    assert archive.read("messages.csv").decode().count("\n") == 1 + 3

    # the replies
    replies = json.loads(archive.read("replies.json"))
    assert len(replies) == counts["replies"] == 1
    assert replies[0]["text"] == "Reply to alpha"
    assert replies[0]["campaign_name"] == "alpha sale"

    # the header file, and a row describing it
    media = json.loads(archive.read("campaign_media.json"))
    assert len(media) == 1
    assert media[0]["campaign_id"] == str(ours["campaign"].public_id)
    assert media[0]["media_type"] == "image/png"
    assert media[0]["uploaded_to_numbers"] == 1
    assert media[0]["size_bytes"] == len(PNG) + len("alpha")
    assert archive.read(media[0]["file"]) == PNG + b"alpha"

    # nothing of the other workspace, in any file
    for name in archive.namelist():
        content = archive.read(name)
        assert b"zulu" not in content, name
        assert b"+994550000022" not in content, name


def test_large_sections_are_streamed_not_loaded(workspace: Workspace) -> None:
    sections = {
        name: rows
        for name, rows, _fields in messaging_door.export_for_workspaces(
            workspace_ids=[workspace.pk]
        )
    }

    for name in ("messages", "replies", "campaign_media"):
        assert isinstance(sections[name](), Iterator), name
