"""The messaging app's models module, for Django: it gathers the models each sub-domain defines.
Code imports a model from its own sub-domain (`messaging.contacts.models` ...), not from here."""

from messaging.analytics.models import MessageStat
from messaging.campaigns.models import (
    Campaign,
    CampaignMedia,
    InboundMessage,
    Message,
    SendingPolicy,
)
from messaging.contacts.models import (
    Contact,
    ContactList,
    ContactListMembership,
    ContactVocabulary,
    CreatedVia,
    OptOutSource,
    Segment,
    WhatsAppStatus,
)
from messaging.contacts.suppression import SuppressedPhone
from messaging.content.models import MessageTemplate, WhatsAppTemplate
from messaging.imports.models import ContactImport, ContactImportRejection
from messaging.inbox.models import CannedReply, Conversation, ConversationNote
from messaging.numbers.models import (
    CustomerWindow,
    NumberHealthChange,
    NumberPaceChange,
    Sender,
    WarmupPlan,
    WebhookEvent,
)

__all__ = [
    "Campaign",
    "CannedReply",
    "CampaignMedia",
    "Contact",
    "ContactImport",
    "ContactImportRejection",
    "ContactList",
    "ContactListMembership",
    "ContactVocabulary",
    "Conversation",
    "ConversationNote",
    "CreatedVia",
    "CustomerWindow",
    "InboundMessage",
    "Message",
    "MessageStat",
    "MessageTemplate",
    "NumberHealthChange",
    "NumberPaceChange",
    "OptOutSource",
    "Segment",
    "SendingPolicy",
    "Sender",
    "SuppressedPhone",
    "WarmupPlan",
    "WebhookEvent",
    "WhatsAppStatus",
    "WhatsAppTemplate",
]
