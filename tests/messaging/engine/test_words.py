"""Issue 16 item 7: words a business user reads. The activity log, the credit ledger and the
failure reasons are sentences naming the objects ("Campaign “Spring sale” used 29 credits",
"Not on WhatsApp (131026): remove or fix the number"), never codes; notification e-mails say
what happened in the subject; flash messages name the object."""

from __future__ import annotations

import ast
import html
import re
from pathlib import Path
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import AuditEvent
from accounts.presenters import audit_actions_known
from accounts.services import audit_record, notify
from messaging.campaigns import services as campaigns
from messaging.contacts.models import Contact
from messaging.failures import REASONS, failure_reason
from messaging.gateways.base import ERROR_RULES
from messaging.numbers.models import Sender

from .test_campaign_figures import finished  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[3]


def _text(response: Any) -> str:
    return html.unescape(re.sub(r"\s+", " ", response.content.decode()))


def _recorded_actions() -> set[str]:
    """Every action the code passes to audit_record (literals, both sides of a conditional,
    and number.<status> for every status a number can take)."""
    found: set[str] = {f"number.{status}" for status in Sender.Status.values}
    for path in ROOT.rglob("*.py"):
        if {"tests", "migrations", ".venv", "bench"} & set(path.parts):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", ""))
            keywords = {k.arg: k.value for k in node.keywords}
            value = keywords.get("action") if name == "audit_record" else None
            value = keywords.get("audit_action", value)
            candidates = [value.body, value.orelse] if isinstance(value, ast.IfExp) else [value]
            found.update(
                c.value for c in candidates if isinstance(c, ast.Constant) and c.value is not None
            )
    return found


def test_every_audit_action_in_the_code_has_a_sentence() -> None:
    missing = _recorded_actions() - audit_actions_known()
    assert missing == set()
    assert "billing.credits.consumed" in audit_actions_known()


def test_every_gateway_error_code_has_a_reason_and_an_action() -> None:
    assert set(ERROR_RULES) - set(REASONS) == set()
    assert failure_reason(code=131026) == "Not on WhatsApp (131026): remove or fix the number"
    # a code nobody described reads by its class, with that class's advice
    assert failure_reason(code=299) == (
        "The sending number lost its access (299): reconnect the number (its access expired "
        "or lacks a permission)"
    )


def test_activity_log_reads_as_sentences_with_one_query_per_page(
    member_client,
    workspace,
    finished,  # noqa: F811
) -> None:
    url = reverse("accounts:activity", args=[workspace.slug])

    page = _text(member_client.get(url))

    assert "Campaign “Spring sale” launched to 30 recipients" in page
    assert re.search(r"Campaign “Spring sale” used \d+ credits?", page)
    assert "Campaign “Spring sale”: 4 credits refunded for messages that failed" in page
    assert "campaign:" not in page
    assert "billing.credits" not in page

    # naming the objects costs the same whatever the number of rows
    with CaptureQueriesContext(connection) as before:
        member_client.get(url)
    for _ in range(20):
        audit_record(
            workspace=workspace,
            action="billing.credits.consumed",
            details={"credits": 1, "reference": finished.credit_reference},
        )
    with CaptureQueriesContext(connection) as after:
        member_client.get(url)
    assert len(after) == len(before)


def test_ledger_reads_as_sentences(member_client, workspace, finished) -> None:  # noqa: F811
    page = _text(member_client.get(reverse("billing:ledger", args=[workspace.slug])))

    assert re.search(r"Campaign “Spring sale” used \d+ credits?", page)
    assert "Campaign “Spring sale”: 30 credits set aside" in page
    assert "Campaign “Spring sale”: 4 credits refunded for messages that failed" in page
    assert "30 credits added by iSend staff: test credits" in page
    assert "campaign:" not in page


def test_failure_reasons_say_what_to_do(member_client, workspace, finished) -> None:  # noqa: F811
    log = _text(member_client.get(reverse("messaging_campaigns:messages", args=[workspace.slug])))
    detail = _text(
        member_client.get(
            reverse("messaging_campaigns:detail", args=[workspace.slug, finished.public_id])
        )
    )

    assert log.count("Not on WhatsApp (131026): remove or fix the number") == 4
    assert "Not on WhatsApp (131026): remove or fix the number" in detail
    assert "recipient_permanent" not in detail


def test_notification_email_says_what_happened_in_the_subject(
    workspace, owner, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        notify(
            workspace=workspace,
            kind="campaign.paused",
            text="Campaign “Spring sale” was paused: 12 messages failed. Check the failures, "
            "then resume it.",
        )

    assert mail.outbox[-1].subject.endswith("Campaign “Spring sale” was paused: 12 messages failed")
    assert "Notice from iSend" not in mail.outbox[-1].subject


def _flash(response: Any) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_flash_messages_name_the_object(
    member_client, workspace, owner, sandbox_number, contacts, credits, template
) -> None:
    contacts(2)
    credits(2)
    number = sandbox_number()
    campaign = campaigns.campaign_create(
        workspace=workspace,
        actor=owner,
        name="Spring sale",
        template=template,
        senders=[number],
        audience={},
    )
    launched = member_client.post(
        reverse("messaging_campaigns:action", args=[workspace.slug, campaign.public_id, "launch"]),
        {"expected_recipients": "2"},
    )
    assert "Campaign “Spring sale” launched: the messages are being queued." in _flash(launched)
    paused = member_client.post(
        reverse("messaging_campaigns:action", args=[workspace.slug, campaign.public_id, "pause"])
    )
    assert "Campaign “Spring sale” paused." in _flash(paused)

    aysel = Contact.objects.create(
        workspace=workspace, phone="+994501234567", first_name="Aysel", last_name="Məmmədova"
    )
    deleted = member_client.post(
        reverse("messaging:contact_delete", args=[workspace.slug, aysel.public_id])
    )
    assert "Contact “Aysel Məmmədova” deleted." in _flash(deleted)
    assert AuditEvent.objects.filter(action="campaign.launched").exists()
