"""The export archive as its owner opens it: every workspace category (contacts, lists,
segments, imports, templates, campaigns, orders, invoices, the credits ledger, automatic
replies) in CSV files Excel reads in Azerbaijani and Cyrillic (UTF-8 with a byte order mark),
structured columns as JSON, amounts, dates and VAT on orders and invoices, public identifiers
instead of internal keys, a README and a manifest describing every file and column, and
nothing of another tenant."""

from __future__ import annotations

import codecs
import csv
import io
import json
import uuid
import zipfile
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Notification, User, Workspace
from accounts.services import api_key_create
from automation.models import AutomationRule, AutomationRun, RunOutcome
from billing import services as billing
from billing.models import Order, Package
from integrations.models import WebhookDelivery, WebhookEndpoint
from integrations.services import _secrets_store
from messaging.campaigns.models import Campaign, InboundMessage
from messaging.contacts.models import Contact, ContactList, ContactListMembership, Segment
from messaging.content.models import MessageTemplate
from messaging.imports.models import ContactImport
from messaging.inbox.models import CannedReply, Conversation, ConversationNote
from privacy import services
from privacy.models import DataExport
from privacy.services.export_sections import export_sections
from tests.factories import UserFactory
from tests.privacy.test_erasure_proof import _sender

pytestmark = pytest.mark.django_db

WORKSPACE_FILES = {
    "contacts",
    "contact_lists",
    "contact_list_members",
    "segments",
    "contact_imports",
    "templates",
    "campaigns",
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
}


def _fill(
    ws: Workspace, *, marker: str, number: str, staff: User, sender: Any = None, first: int = 1
) -> dict[str, Any]:
    """A workspace as a business uses it; `marker` is in every name, so a leak is findable."""
    sender = sender or _sender(ws, number)
    sehla = Contact.objects.create(
        workspace=ws,
        phone=f"+99450123{first:04d}",
        first_name="Şəhla",
        last_name=f"Əliyeva {marker}",
        attributes={"city": "Bakı", "şirkət": marker},
        tags=["vip", "müştəri"],
    )
    Contact.objects.create(
        workspace=ws,
        phone=f"+99450123{first + 1:04d}",
        first_name="Анна",
        last_name=f"Иванова {marker}",
        attributes={"город": "Гянджа"},
        tags=["новый"],
    )
    vip_list = ContactList.objects.create(workspace=ws, name=f"VIP {marker}")
    ContactListMembership.objects.create(workspace=ws, contact_list=vip_list, contact=sehla)
    segment = Segment.objects.create(
        workspace=ws, name=f"Bakı {marker}", filters={"attributes": {"city": "Bakı"}}
    )
    template = MessageTemplate.objects.create(
        workspace=ws, name=f"Novruz {marker}", variants=["Salam, {{first_name}}!"]
    )
    campaign = Campaign.objects.create(
        workspace=ws,
        name=f"Novruz endirimi {marker}",
        template=template,
        audience={"tags_any": ["vip"], "list_id": str(vip_list.public_id)},
        recipients=2,
        count_delivered=1,
    )
    campaign.senders.add(sender)
    contact_import = ContactImport.objects.create(
        workspace=ws,
        file=f"imports/{marker}.csv",
        original_name=f"müştərilər {marker}.csv",
        file_format=ContactImport.Format.CSV,
        status=ContactImport.Status.COMPLETED,
        columns=["Telefon", "Ad"],
        mapping={"Telefon": "phone", "Ad": "first_name"},
        total_rows=2,
        created_count=2,
        contact_list=vip_list,
    )
    rule = AutomationRule.objects.create(
        workspace=ws,
        name=f"Qiymət {marker}",
        sender=sender,
        keywords=["qiymət", "цена"],
        reply_template=template,
        tags=["maraqlı"],
        contact_list=vip_list,
    )
    package = Package.objects.create(
        name=f"Start {marker}", credits=1000, validity_days=30, price=Decimal("59.00")
    )
    order = billing.order_create(
        workspace=ws,
        package=package,
        method=Order.Method.BANK_TRANSFER,
        actor=staff,
        buyer_company=f"Gəncə Ticarət {marker}",
        buyer_address="Bakı, Nizami küç. 1",
    )
    billing.order_confirm_bank_transfer(order=order, actor=staff)
    order.refresh_from_db()
    inbound = InboundMessage.objects.create(
        workspace=ws,
        sender=sender,
        contact=sehla,
        phone=sehla.phone,
        provider_message_id=f"wamid.{marker}.{first}",
        kind="text",
        text=f"Qiymət? {marker}",
    )
    run = AutomationRun.objects.create(
        workspace=ws,
        rule=rule,
        inbound=inbound,
        contact=sehla,
        outcome=RunOutcome.FIRED,
        actions={"tags": ["maraqlı"]},
    )
    conversation = Conversation.objects.create(
        workspace=ws, sender=sender, phone=sehla.phone, contact=sehla, labels=[f"lead {marker}"]
    )
    note = ConversationNote.objects.create(
        workspace=ws, conversation=conversation, author=staff, text=f"Zəng edin {marker}"
    )
    canned = CannedReply.objects.create(
        workspace=ws, name=f"Salam {marker}", text=f"Salam! {marker} komandası"
    )
    signing_secret = f"whsec_{marker}{uuid.uuid4().hex}"
    endpoint = WebhookEndpoint.objects.create(
        workspace=ws,
        url=f"https://hooks.example.com/{marker}",
        description=f"CRM {marker}",
        secret_encrypted=_secrets_store(signing_secret),
        event_types=["message.delivered"],
    )
    delivery = WebhookDelivery.objects.create(
        workspace=ws,
        endpoint=endpoint,
        event_id=f"msg_{uuid.uuid4().hex}",
        event_type="message.delivered",
        payload={"type": "message.delivered", "data": {"to": sehla.phone, "tag": marker}},
        status=WebhookDelivery.Status.SUCCEEDED,
        attempts=1,
        last_status_code=200,
    )
    key, api_secret = api_key_create(
        workspace=ws, actor=staff, name=f"Sayt {marker}", scopes=["contacts:read"]
    )
    return {
        "sehla": sehla,
        "list": vip_list,
        "segment": segment,
        "campaign": campaign,
        "import": contact_import,
        "rule": rule,
        "order": order,
        "invoice": order.invoice,
        "sender": sender,
        "run": run,
        "conversation": conversation,
        "note": note,
        "canned": canned,
        "endpoint": endpoint,
        "delivery": delivery,
        "signing_secret": signing_secret,
        "key": key,
        "api_secret": api_secret,
    }


def _export(client: Client, capture: Any) -> zipfile.ZipFile:
    """What the privacy page does: "Prepare my data", then the download link."""
    with capture(execute=True):
        assert client.post(reverse("privacy:centre_export")).status_code == 302
    export = DataExport.objects.order_by("-pk").first()
    assert export is not None
    export.refresh_from_db()
    assert export.status == DataExport.Status.READY
    response = client.get(reverse("privacy:export_download", args=[export.public_id]))
    assert response.status_code == 200
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


def _csv(archive: zipfile.ZipFile, name: str) -> list[dict[str, str]]:
    raw = archive.read(f"{name}.csv")
    assert raw.startswith(codecs.BOM_UTF8), name
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))


@pytest.fixture
def staff(db: None) -> User:
    return UserFactory(is_staff=True, is_superuser=True, email="staff@isend.test")


@pytest.fixture
def filled(
    workspace: Workspace, other_workspace: Workspace, owner: User, staff: User
) -> dict[str, Any]:
    ours = _fill(workspace, marker="Alpha", number="+994550000031", staff=staff)
    _fill(other_workspace, marker="Zulu", number="+994550000032", staff=staff)
    return ours


def test_every_csv_has_the_bom_parses_and_shows_azerbaijani_and_cyrillic_names(
    filled: dict[str, Any],
    workspace: Workspace,
    member_client: Client,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # when
    archive = _export(member_client, django_capture_on_commit_callbacks)

    # then: every category, every CSV with the UTF-8 BOM (Excel reads the letters right)
    names = set(archive.namelist())
    assert {f"{n}.csv" for n in WORKSPACE_FILES} <= names
    assert {f"{n}.json" for n in WORKSPACE_FILES} <= names
    for name in sorted(n for n in names if n.endswith(".csv")):
        _csv(archive, name.removesuffix(".csv"))
    for name in sorted(n for n in names if n.endswith(".json")):
        assert not archive.read(name).startswith(codecs.BOM_UTF8), name  # JSON never has one
        json.loads(archive.read(name))

    # phone cells start with "'", the spreadsheet-formula mark (core.spreadsheets)
    contacts = {r["phone"].lstrip("'"): r for r in _csv(archive, "contacts")}
    sehla, anna = contacts["+994501230001"], contacts["+994501230002"]
    assert (sehla["first_name"], sehla["last_name"]) == ("Şəhla", "Əliyeva Alpha")
    assert (anna["first_name"], anna["last_name"]) == ("Анна", "Иванова Alpha")
    # structured columns are JSON, not Python reprs
    assert json.loads(sehla["attributes"]) == {"city": "Bakı", "şirkət": "Alpha"}
    assert json.loads(sehla["tags"]) == ["vip", "müştəri"]
    assert json.loads(anna["attributes"]) == {"город": "Гянджа"}
    assert sehla["public_id"] == str(filled["sehla"].public_id)
    assert sehla["workspace_slug"] == workspace.slug
    contacts_json = {c["phone"]: c for c in json.loads(archive.read("contacts.json"))}
    assert contacts_json["+994501230001"]["tags"] == ["vip", "müştəri"]


def test_orders_invoices_and_the_ledger_carry_amounts_dates_and_vat(
    filled: dict[str, Any],
    member_client: Client,
    django_capture_on_commit_callbacks: Any,
) -> None:
    archive = _export(member_client, django_capture_on_commit_callbacks)
    order, invoice = filled["order"], filled["invoice"]

    [order_row] = _csv(archive, "orders")
    assert order_row["payment_reference"] == order.payment_reference
    assert order_row["package_name"] == "Start Alpha"
    assert (order_row["credits"], order_row["validity_days"]) == ("1000", "30")
    assert (order_row["amount"], order_row["currency"]) == ("59.00", "AZN")
    assert order_row["status"] == "paid"
    assert order_row["buyer_company"] == "Gəncə Ticarət Alpha"
    assert datetime.fromisoformat(order_row["created_at"]).tzinfo is not None
    assert datetime.fromisoformat(order_row["confirmed_at"]).tzinfo is not None

    [invoice_row] = _csv(archive, "invoices")
    assert invoice_row["number"] == invoice.number
    assert invoice_row["order_payment_reference"] == order.payment_reference
    assert datetime.fromisoformat(invoice_row["issued_at"]) == invoice.issued_at
    assert invoice_row["buyer_name"] == "Gəncə Ticarət Alpha"
    net, vat, total = (Decimal(invoice_row[k]) for k in ("net", "vat", "total"))
    assert (net, vat, total) == (invoice.net, invoice.vat, invoice.total)
    assert net + vat == total == Decimal("59.00")
    assert Decimal(invoice_row["vat_rate"]) == invoice.vat_rate
    assert json.loads(invoice_row["lines"])[0]["net"] == str(invoice.net)
    [invoice_json] = json.loads(archive.read("invoices.json"))
    assert (invoice_json["total"], invoice_json["currency"]) == ("59.00", "AZN")

    ledger = _csv(archive, "credits_ledger")
    purchase = [r for r in ledger if r["kind"] == "purchase"]
    assert [(r["amount"], r["order"]) for r in purchase] == [("1000", order.payment_reference)]
    assert all(datetime.fromisoformat(r["created_at"]) for r in ledger)


def test_campaigns_segments_imports_lists_and_rules_are_in_the_archive(
    filled: dict[str, Any],
    member_client: Client,
    django_capture_on_commit_callbacks: Any,
) -> None:
    archive = _export(member_client, django_capture_on_commit_callbacks)

    [campaign] = _csv(archive, "campaigns")
    assert campaign["public_id"] == str(filled["campaign"].public_id)
    assert (campaign["name"], campaign["template_name"]) == (
        "Novruz endirimi Alpha",
        "Novruz Alpha",
    )
    assert json.loads(campaign["audience"]) == {
        "tags_any": ["vip"],
        "list_id": str(filled["list"].public_id),
    }
    assert json.loads(campaign["numbers"]) == ["+994550000031"]
    assert (campaign["recipients"], campaign["count_delivered"]) == ("2", "1")

    [segment] = _csv(archive, "segments")
    assert segment["name"] == "Bakı Alpha"
    assert json.loads(segment["filters"]) == {"attributes": {"city": "Bakı"}}

    [contact_import] = _csv(archive, "contact_imports")
    assert contact_import["original_name"] == "müştərilər Alpha.csv"
    assert json.loads(contact_import["columns"]) == ["Telefon", "Ad"]
    assert json.loads(contact_import["mapping"]) == {"Telefon": "phone", "Ad": "first_name"}
    assert (contact_import["created_count"], contact_import["contact_list_name"]) == (
        "2",
        "VIP Alpha",
    )

    [member] = _csv(archive, "contact_list_members")
    assert member["list_public_id"] == str(filled["list"].public_id)
    assert member["contact_public_id"] == str(filled["sehla"].public_id)

    [rule] = _csv(archive, "automation_rules")
    assert rule["name"] == "Qiymət Alpha"
    assert json.loads(rule["keywords"]) == ["qiymət", "цена"]
    assert json.loads(rule["tags"]) == ["maraqlı"]
    # a cell starting with "+" is marked as text (core.spreadsheets), as in every CSV we write
    assert (rule["number"], rule["reply_template_name"], rule["contact_list_name"]) == (
        "'+994550000031",
        "Novruz Alpha",
        "VIP Alpha",
    )


def test_nothing_of_another_tenant_and_no_internal_ids(
    filled: dict[str, Any],
    workspace: Workspace,
    other_workspace: Workspace,
    member_client: Client,
    django_capture_on_commit_callbacks: Any,
) -> None:
    theirs = Order.objects.get(workspace=other_workspace)
    their_campaign = Campaign.objects.get(workspace=other_workspace)

    archive = _export(member_client, django_capture_on_commit_callbacks)

    for name in archive.namelist():
        content = archive.read(name).decode("utf-8-sig")
        for leak in ("Zulu", other_workspace.slug, theirs.payment_reference):
            assert leak not in content, (name, leak)
        assert str(their_campaign.public_id) not in content, name

    # no internal integer keys: no "…_id" column holds anything but a public (UUID) id
    for name in sorted(n for n in archive.namelist() if n.endswith(".csv")):
        rows = _csv(archive, name.removesuffix(".csv"))
        header = archive.read(name).decode("utf-8-sig").splitlines()[0].split(",")
        assert "workspace_id" not in header, name
        assert "id" not in header, name
        for column in (c for c in header if c.endswith("_id")):
            for row in rows:
                if row[column] and column not in ("buyer_tax_id", "seller_tax_id"):
                    uuid.UUID(row[column])  # raises on an integer key
        for row in rows:
            if "workspace_slug" in row:
                assert row["workspace_slug"] == workspace.slug, name


def test_the_readme_and_manifest_describe_every_file_and_column(
    filled: dict[str, Any],
    member_client: Client,
    django_capture_on_commit_callbacks: Any,
) -> None:
    archive = _export(member_client, django_capture_on_commit_callbacks)

    readme = archive.read("README.txt").decode()
    manifest = json.loads(archive.read("manifest.json"))["files"]
    described = {entry["files"][0].removesuffix(".csv"): entry for entry in manifest}
    csv_files = {n.removesuffix(".csv") for n in archive.namelist() if n.endswith(".csv")}
    assert set(described) == csv_files
    for name in sorted(csv_files):
        entry = described[name]
        header = next(csv.reader(io.StringIO(archive.read(f"{name}.csv").decode("utf-8-sig"))))
        assert [c["name"] for c in entry["columns"]] == header, name
        assert entry["description"], name
        assert all(c["description"] for c in entry["columns"]), (name, entry["columns"])
        assert f"{name}.csv" in readme
        for column in entry["columns"]:
            assert f"- {column['name']}: {column['description']}" in readme


def test_every_section_streams_and_the_queries_do_not_grow_with_the_rows(
    workspace: Workspace, owner: User, staff: User
) -> None:
    def build() -> int:
        export = DataExport.objects.create(user=owner)
        with CaptureQueriesContext(connection) as queries:
            while not services.export_build_step(export_id=export.pk):
                pass
        export.refresh_from_db()
        assert export.status == DataExport.Status.READY
        DataExport.objects.filter(pk=export.pk).update(status=DataExport.Status.EXPIRED)
        return len(queries)

    first = _fill(workspace, marker="One", number="+994550000041", staff=staff)
    few = build()
    for i in range(5):
        _fill(
            workspace,
            marker=f"More{i}",
            number="",
            staff=staff,
            sender=first["sender"],
            first=10 + 2 * i,
        )
    many = build()

    assert many == few
    for name, rows, _fields in export_sections(owner):
        result = rows()
        assert not isinstance(result, list | tuple), name  # an iterator: rows read in chunks


def test_inbox_webhooks_api_keys_runs_and_notifications_are_there_without_secrets(
    filled: dict[str, Any],
    workspace: Workspace,
    other_workspace: Workspace,
    owner: User,
    member_client: Client,
    django_capture_on_commit_callbacks: Any,
) -> None:
    Notification.objects.create(
        user=owner, workspace=workspace, kind="campaign.finished", text="Kampaniya bitdi"
    )
    Notification.objects.create(user=None, workspace=workspace, kind="x", text="Hamıya")
    Notification.objects.create(user=None, workspace=other_workspace, kind="x", text="Zulu")
    key = filled["key"]
    key_secret = filled["api_secret"]

    archive = _export(member_client, django_capture_on_commit_callbacks)

    [conversation] = _csv(archive, "conversations")
    assert conversation["public_id"] == str(filled["conversation"].public_id)
    assert conversation["phone"].lstrip("'") == "+994501230001"
    assert conversation["number"].lstrip("'") == "+994550000031"
    assert json.loads(conversation["labels"]) == ["lead Alpha"]
    [note] = _csv(archive, "conversation_notes")
    assert (note["conversation_public_id"], note["text"], note["author_email"]) == (
        str(filled["conversation"].public_id),
        "Zəng edin Alpha",
        "staff@isend.test",
    )
    [canned] = _csv(archive, "canned_replies")
    assert (canned["name"], canned["text"]) == ("Salam Alpha", "Salam! Alpha komandası")

    [endpoint] = _csv(archive, "webhook_endpoints")
    assert endpoint["url"] == "https://hooks.example.com/Alpha"
    assert endpoint["description"] == "CRM Alpha"
    assert json.loads(endpoint["event_types"]) == ["message.delivered"]
    assert not any("secret" in column for column in endpoint)
    [delivery] = _csv(archive, "webhook_deliveries")
    assert delivery["endpoint_public_id"] == str(filled["endpoint"].public_id)
    assert delivery["event"] == filled["delivery"].event_id
    assert (delivery["status"], delivery["last_status_code"]) == ("succeeded", "200")
    assert json.loads(delivery["payload"])["data"]["tag"] == "Alpha"

    [run] = _csv(archive, "automation_runs")
    assert (run["rule_name"], run["outcome"]) == ("Qiymət Alpha", "fired")
    assert run["rule_public_id"] == str(filled["rule"].public_id)
    assert run["phone"].lstrip("'") == "+994501230001"

    [api_key] = _csv(archive, "api_keys")
    assert (api_key["name"], api_key["prefix"]) == ("Sayt Alpha", key.prefix)
    assert json.loads(api_key["scopes"]) == ["contacts:read"]
    assert api_key["created_at"]
    assert api_key["last_used_at"] == ""
    assert api_key["revoked_at"] == ""
    assert set(api_key) == {
        "workspace_slug",
        "public_id",
        "name",
        "prefix",
        "scopes",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
    }

    notifications = {(n["recipient"], n["kind"], n["text"]) for n in _csv(archive, "notifications")}
    assert ("you", "campaign.finished", "Kampaniya bitdi") in notifications
    assert ("workspace", "x", "Hamıya") in notifications
    assert not {n for n in notifications if "Zulu" in n[2]}

    # no secret anywhere: not the API key, nor its hash, nor the endpoint's signing secret
    # (plain or encrypted), in any file of the archive
    secrets = [
        key_secret,
        key_secret.split("_")[-1],
        key.key_hash,
        filled["signing_secret"],
        filled["endpoint"].secret_encrypted,
    ]
    for name in archive.namelist():
        content = archive.read(name).decode("utf-8-sig", errors="replace")
        for secret in secrets:
            assert secret not in content, name
        assert "key_hash" not in content, name
        assert "secret_encrypted" not in content, name
