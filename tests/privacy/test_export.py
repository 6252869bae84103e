"""Self-service export: every category, nobody else's data, a link only for its owner that
expires after 7 days, then the file is deleted."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts import services as account_services
from accounts.models import Notification, User, Workspace
from messaging.contacts.models import Contact
from privacy import services
from privacy.models import DataExport
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

CATEGORIES = {
    "account",
    "consents",
    "login_events",
    "audit_events",
    "memberships",
    "api_keys",
    "notifications",
    "numbers",
    "contacts",
    "contact_lists",
    "contact_list_members",
    "segments",
    "contact_imports",
    "templates",
    "campaigns",
    "messages",
    "replies",
    "campaign_media",
    "orders",
    "invoices",
    "credits_ledger",
    "automation_rules",
    "automation_runs",
    "conversations",
    "conversation_notes",
    "canned_replies",
    "webhook_endpoints",
    "webhook_deliveries",
    "support_tickets",
    "support_messages",
    "support_attachments",
}


def _export_for(client: Client, django_capture_on_commit_callbacks: Any) -> DataExport:
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("privacy:centre_export"))
    assert response.status_code == 302
    return DataExport.objects.get()


def test_export_has_every_category_and_only_the_users_data(
    workspace: Workspace,
    owner: User,
    member_client: Client,
    other_workspace: Workspace,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given: the owner's data, and another user's data with a marker
    services.consent_record_signup(user=owner, ip="10.1.1.1")
    Contact.objects.create(workspace=workspace, phone="+994501234001", first_name="Leyla")
    stranger = UserFactory(email="stranger@example.net")
    account_services.workspace_create(name="Stranger Inc", owner=stranger)
    Contact.objects.create(workspace=other_workspace, phone="+994509999999", first_name="Zaur")
    account_services.audit_record(workspace=other_workspace, action="x", actor=stranger)

    # when
    export = _export_for(member_client, django_capture_on_commit_callbacks)

    # then
    export.refresh_from_db()
    assert export.status == DataExport.Status.READY
    assert export.expires_at - timezone.now() > timedelta(days=6, hours=23)
    response = member_client.get(reverse("privacy:export_download", args=[export.public_id]))
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    names = set(archive.namelist())
    assert {f"{c}.json" for c in CATEGORIES} | {f"{c}.csv" for c in CATEGORIES} <= names
    everything = "".join(archive.read(n).decode() for n in names)
    assert owner.email in everything
    assert "Leyla" in everything
    assert "stranger@example.net" not in everything
    assert "Zaur" not in everything
    assert "Stranger Inc" not in everything
    assert "credentials" not in everything
    assert "access_token" not in everything
    account = json.loads(archive.read("account.json"))
    assert account[0]["email"] == owner.email
    consents = json.loads(archive.read("consents.json"))
    assert {c["purpose"] for c in consents} == {"terms", "privacy", "age_18_plus"}
    # notified (in-app and e-mail) with the link
    assert Notification.objects.filter(user=owner, kind="privacy.export_ready").exists()
    assert any(str(export.public_id) in m.body for m in mail.outbox)


def test_another_user_gets_404_and_the_link_expires(
    owner: User, member_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    export = _export_for(member_client, django_capture_on_commit_callbacks)
    url = reverse("privacy:export_download", args=[export.public_id])
    intruder = Client()
    intruder.force_login(UserFactory())

    assert intruder.get(url).status_code == 404
    assert Client().get(url).status_code == 302  # anonymous: sign in first

    DataExport.objects.filter(pk=export.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert member_client.get(url).status_code == 404


def test_retention_deletes_expired_archives_only(
    owner: User, member_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    export = _export_for(member_client, django_capture_on_commit_callbacks)
    export.refresh_from_db()
    path = Path(settings.MEDIA_ROOT) / export.file_path
    assert path.is_file()

    assert services.exports_purge_expired(now=timezone.now() + timedelta(days=6)) == 0
    assert path.is_file()
    assert services.exports_purge_expired(now=timezone.now() + timedelta(days=7, minutes=1)) == 1

    export.refresh_from_db()
    assert not path.exists()
    assert export.status == DataExport.Status.EXPIRED


def test_a_redelivered_build_resumes_from_the_cursor(owner: User) -> None:
    export = DataExport.objects.create(user=owner)
    assert services.export_build_step(export_id=export.pk) is False
    assert services.export_build_step(export_id=export.pk) is False
    export.refresh_from_db()
    assert export.sections_done == ["account", "consents"]

    while not services.export_build_step(export_id=export.pk):
        pass

    export.refresh_from_db()
    assert export.status == DataExport.Status.READY
    assert len(export.sections_done) == len(CATEGORIES)
