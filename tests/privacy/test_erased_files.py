"""Erasing a workspace erases its files too: the uploaded import spreadsheets and the campaign
header media, not only the rows that point at them (the policy's deletion promise covers
everything a customer gave us)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.base import ContentFile

from messaging.campaigns.models import Campaign
from messaging.imports.models import ContactImport
from privacy.services.erasure import workspace_erase
from tests.factories import WorkspaceFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _stored(instance: Campaign | ContactImport, field: str, name: str, data: bytes) -> Path:
    getattr(instance, field).save(name, ContentFile(data), save=True)
    return Path(getattr(instance, field).path)


@pytest.mark.usefixtures("_media_root")
def test_erasing_a_workspace_deletes_its_import_files_and_campaign_media() -> None:
    workspace = WorkspaceFactory()
    other = WorkspaceFactory()
    campaign = Campaign.objects.create(workspace=workspace, name="Spring sale")
    header = _stored(campaign, "header_media_file", "banner.png", b"\x89PNG\r\n\x1a\nimage")
    upload = _stored(
        ContactImport(workspace=workspace, file_format="csv"),
        "file",
        "customers.csv",
        b"phone,first_name\n+994501234567,Aysel\n",
    )
    kept = _stored(
        Campaign.objects.create(workspace=other, name="Other's"),
        "header_media_file",
        "theirs.png",
        b"\x89PNG\r\n\x1a\nother",
    )
    assert header.exists()
    assert upload.exists()
    assert kept.exists()

    workspace_erase(workspace=workspace)

    assert not header.exists()
    assert not upload.exists()
    assert kept.exists()  # another workspace's file is untouched
