"""How messaging's records read to a business user (see `accounts.presenters`): its audit
actions as sentences, and the credit references it writes ("campaign:<uuid>",
"message:<uuid>") named in bulk for the activity log and the credit ledger."""

from __future__ import annotations

import uuid
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l
from django.utils.translation import ngettext_lazy as _n

from accounts.models import Workspace
from messaging.campaigns.models import Campaign, Message


def _uuids(keys: list[str]) -> list[uuid.UUID]:
    found = []
    for key in keys:
        try:
            found.append(uuid.UUID(key))
        except ValueError:
            continue
    return found


def _campaigns_named(workspace: Workspace | None, keys: list[str]) -> dict[str, str]:
    rows = Campaign.objects.filter(public_id__in=_uuids(keys))
    if workspace is not None:
        rows = rows.filter(workspace=workspace)
    return {
        str(public_id): _("Campaign “%(name)s”") % {"name": name}
        for public_id, name in rows.values_list("public_id", "name")
    }


def _messages_named(workspace: Workspace | None, keys: list[str]) -> dict[str, str]:
    rows = Message.objects.filter(public_id__in=_uuids(keys))
    if workspace is not None:
        rows = rows.filter(workspace=workspace)
    return {
        str(public_id): _("A single message to %(phone)s") % {"phone": phone}
        for public_id, phone in rows.values_list("public_id", "phone")
    }


REFERENCES = {"campaign": _campaigns_named, "message": _messages_named}

AUDIT_SENTENCES: dict[str, Any] = {
    "conversation.assign": _l("Conversation %(target)s assigned to %(assignee)s"),
    "conversation.unassign": _l("Conversation %(target)s unassigned"),
    "conversation.status": _l("Conversation %(target)s marked %(status)s"),
    "conversation.note": _l("Internal note added to conversation %(target)s"),
    "conversation.labels": _l("Labels of conversation %(target)s changed"),
    "membership.inbox_numbers": _l("Inbox numbers of %(target)s changed"),
    "canned_reply.create": _l("Canned reply “%(target)s” created"),
    "canned_reply.update": _l("Canned reply “%(target)s” changed"),
    "canned_reply.delete": _l("Canned reply “%(target)s” deleted"),
    "campaign.created": _l("Campaign “%(target)s” created"),
    "campaign.launched": _n(
        "Campaign “%(target)s” launched to %(recipients)s recipient",
        "Campaign “%(target)s” launched to %(recipients)s recipients",
        "recipients",
    ),
    "campaign.paused": _l("Campaign “%(target)s” paused"),
    "campaign.resumed": _l("Campaign “%(target)s” resumed"),
    "campaign.cancelled": _n(
        "Campaign “%(target)s” cancelled (%(cancelled_messages)s unsent message cancelled)",
        "Campaign “%(target)s” cancelled (%(cancelled_messages)s unsent messages cancelled)",
        "cancelled_messages",
    ),
    "campaign.duplicated": _l("Campaign “%(target)s” created as a copy"),
    "campaign.retry_failed": _n(
        "Campaign “%(target)s”: %(messages)s failed message sent again",
        "Campaign “%(target)s”: %(messages)s failed messages sent again",
        "messages",
    ),
    "campaign.test_sent": _l("Campaign “%(target)s”: a test message sent"),
    "contact.bulk_delete": _n("%(count)s contact deleted", "%(count)s contacts deleted", "count"),
    "contact.opt_in": _l("Contact “%(target)s” may receive messages again"),
    "contact_import.start": _l("Import of “%(target)s” started"),
    "contact_import.completed": _l("Import of “%(target)s” finished"),
    "contact_import.cancelled": _l("Import of “%(target)s” cancelled"),
    "message.sent_single": _l("A single message sent"),
    "number.connected": _l("Number “%(target)s” connected"),
    "number.removed": _l("Number “%(target)s” removed"),
    "number.settings_changed": _l("Settings of number “%(target)s” changed"),
    "number.active": _l("Number “%(target)s” is working again"),
    "number.pending": _l("Number “%(target)s” is waiting to be connected"),
    "number.restricted": _l("WhatsApp restricted number “%(target)s”"),
    "number.banned": _l("WhatsApp blocked number “%(target)s”: %(reason)s"),
    "number.disconnected": _l("Number “%(target)s” was disconnected: %(reason)s"),
    "number.throughput_raised": _l(
        "Meta raised the throughput of number “%(target)s”: now %(to)s messages a second"
    ),
    "number.warmup_started": _l(
        "Number “%(target)s” started a warm-up plan (%(first_cap)s messages on its first day)"
    ),
    "number.warmup_stopped": _l("The warm-up plan of number “%(target)s” was stopped"),
    "number.warmup_advanced": _l(
        "Number “%(target)s” had a healthy day: its warm-up cap is now %(cap)s a day"
    ),
    "number.warmup_fell_back": _l(
        "Number “%(target)s” had a bad day (%(why)s): its warm-up cap fell back to %(cap)s a day"
    ),
    "number.protection_slowed": _l(
        "Number “%(target)s” was slowed to %(per_second)s messages a second to protect it: "
        "%(reason)s"
    ),
    "number.protection_paused": _l(
        "%(campaigns)s campaign(s) of number “%(target)s” paused to protect it: %(reason)s"
    ),
    "number.protection_cleared": _l("Number “%(target)s” is no longer under protection"),
    "number.pace_raised": _l(
        "Number “%(target)s” is healthy again: its pace went up from %(from)s to "
        "%(per_second)s messages a second"
    ),
    "number.pace_restored": _l(
        "Number “%(target)s” is healthy again: its pace is back to %(per_second)s messages a second"
    ),
    "number.appeal_pack_exported": _l("Appeal pack of number “%(target)s” downloaded"),
    "number.replaced": _l(
        "Number “%(target)s” replaced “%(old)s” (%(campaigns)s campaign(s) moved to it)"
    ),
    "campaign.risk_slowed": _l("Campaign “%(target)s” slowed to lower its ban risk"),
    "campaign.risk_split": _l(
        "Campaign “%(target)s” split into %(parts)s campaigns over %(days)s days to lower its "
        "ban risk"
    ),
    "workspace.sending_policy_changed": _l("Sending safety settings changed"),
    "whatsapp_template.submitted": _l(
        "WhatsApp template “%(name)s” (%(language)s) submitted to Meta for review"
    ),
    "whatsapp_template.deleted": _l("WhatsApp template “%(name)s” (%(language)s) deleted"),
    "template.create": _l("Template “%(target)s” created"),
    "template.update": _l("Template “%(target)s” changed"),
    "template.delete": _l("Template “%(target)s” deleted"),
}
