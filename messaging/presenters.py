"""How messaging's records read to a business user (see `accounts.presenters`): its audit
actions as sentences, and the credit references it writes ("campaign:<uuid>",
"message:<uuid>") named in bulk for the activity log and the credit ledger."""

from __future__ import annotations

import uuid
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext_lazy

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
    "conversation.assign": gettext_lazy("Conversation %(target)s assigned to %(assignee)s"),
    "conversation.unassign": gettext_lazy("Conversation %(target)s unassigned"),
    "conversation.status": gettext_lazy("Conversation %(target)s marked %(status)s"),
    "conversation.note": gettext_lazy("Internal note added to conversation %(target)s"),
    "conversation.labels": gettext_lazy("Labels of conversation %(target)s changed"),
    "membership.inbox_numbers": gettext_lazy("Inbox numbers of %(target)s changed"),
    "canned_reply.create": gettext_lazy("Canned reply “%(target)s” created"),
    "canned_reply.update": gettext_lazy("Canned reply “%(target)s” changed"),
    "canned_reply.delete": gettext_lazy("Canned reply “%(target)s” deleted"),
    "campaign.created": gettext_lazy("Campaign “%(target)s” created"),
    "campaign.launched": ngettext_lazy(
        "Campaign “%(target)s” launched to %(recipients)s recipient",
        "Campaign “%(target)s” launched to %(recipients)s recipients",
        "recipients",
    ),
    "campaign.paused": gettext_lazy("Campaign “%(target)s” paused"),
    "campaign.resumed": gettext_lazy("Campaign “%(target)s” resumed"),
    "campaign.cancelled": ngettext_lazy(
        "Campaign “%(target)s” cancelled (%(cancelled_messages)s unsent message cancelled)",
        "Campaign “%(target)s” cancelled (%(cancelled_messages)s unsent messages cancelled)",
        "cancelled_messages",
    ),
    "campaign.duplicated": gettext_lazy("Campaign “%(target)s” created as a copy"),
    "campaign.deleted": gettext_lazy("Draft campaign “%(target)s” deleted"),
    "campaign.edited": gettext_lazy("Draft campaign “%(target)s” edited"),
    "campaign.retry_failed": ngettext_lazy(
        "Campaign “%(target)s”: %(messages)s failed message sent again",
        "Campaign “%(target)s”: %(messages)s failed messages sent again",
        "messages",
    ),
    "campaign.test_sent": gettext_lazy("Campaign “%(target)s”: a test message sent"),
    "contact.bulk_delete": ngettext_lazy(
        "%(count)s contact deleted", "%(count)s contacts deleted", "count"
    ),
    "contact.opt_in": gettext_lazy("Contact “%(target)s” may receive messages again"),
    "contact_import.start": gettext_lazy("Import of “%(target)s” started"),
    "contact_import.completed": gettext_lazy("Import of “%(target)s” finished"),
    "contact_import.cancelled": gettext_lazy("Import of “%(target)s” cancelled"),
    "message.sent_single": gettext_lazy("A single message sent"),
    "number.connected": gettext_lazy("Number “%(target)s” connected"),
    "number.removed": gettext_lazy("Number “%(target)s” removed"),
    "number.settings_changed": gettext_lazy("Settings of number “%(target)s” changed"),
    "number.active": gettext_lazy("Number “%(target)s” is working again"),
    "number.pending": gettext_lazy("Number “%(target)s” is waiting to be connected"),
    "number.restricted": gettext_lazy("WhatsApp restricted number “%(target)s”"),
    "number.banned": gettext_lazy("WhatsApp blocked number “%(target)s”: %(reason)s"),
    "number.disconnected": gettext_lazy("Number “%(target)s” was disconnected: %(reason)s"),
    "number.throughput_raised": gettext_lazy(
        "Meta raised the throughput of number “%(target)s”: now %(to)s messages a second"
    ),
    "number.warmup_started": gettext_lazy(
        "Number “%(target)s” started a warm-up plan (%(first_cap)s messages on its first day)"
    ),
    "number.warmup_stopped": gettext_lazy("The warm-up plan of number “%(target)s” was stopped"),
    "number.warmup_advanced": gettext_lazy(
        "Number “%(target)s” had a healthy day: its warm-up cap is now %(cap)s a day"
    ),
    "number.warmup_fell_back": gettext_lazy(
        "Number “%(target)s” had a bad day (%(why)s): its warm-up cap fell back to %(cap)s a day"
    ),
    "number.protection_slowed": gettext_lazy(
        "Number “%(target)s” was slowed to %(per_second)s messages a second to protect it: "
        "%(reason)s"
    ),
    "number.protection_paused": gettext_lazy(
        "%(campaigns)s campaign(s) of number “%(target)s” paused to protect it: %(reason)s"
    ),
    "number.protection_cleared": gettext_lazy("Number “%(target)s” is no longer under protection"),
    "number.pace_raised": gettext_lazy(
        "Number “%(target)s” is healthy again: its pace went up from %(from)s to "
        "%(per_second)s messages a second"
    ),
    "number.pace_restored": gettext_lazy(
        "Number “%(target)s” is healthy again: its pace is back to %(per_second)s messages a second"
    ),
    "number.appeal_pack_exported": gettext_lazy("Appeal pack of number “%(target)s” downloaded"),
    "number.replaced": gettext_lazy(
        "Number “%(target)s” replaced “%(old)s” (%(campaigns)s campaign(s) moved to it)"
    ),
    "campaign.risk_slowed": gettext_lazy("Campaign “%(target)s” slowed to lower its ban risk"),
    "campaign.risk_split": gettext_lazy(
        "Campaign “%(target)s” split into %(parts)s campaigns over %(days)s days to lower its "
        "ban risk"
    ),
    "workspace.sending_policy_changed": gettext_lazy("Sending safety settings changed"),
    "whatsapp_template.submitted": gettext_lazy(
        "WhatsApp template “%(name)s” (%(language)s) submitted to Meta for review"
    ),
    "whatsapp_template.deleted": gettext_lazy(
        "WhatsApp template “%(name)s” (%(language)s) deleted"
    ),
    "template.create": gettext_lazy("Template “%(target)s” created"),
    "template.update": gettext_lazy("Template “%(target)s” changed"),
    "template.delete": gettext_lazy("Template “%(target)s” deleted"),
}
