"""Every API route under /api/v1/. Apps register their viewsets here."""

from django.urls import path
from rest_framework.routers import DefaultRouter

from accounts.api import AuditEventViewSet, WorkspaceDetailView
from automation.api import AutomationRuleViewSet
from billing.api import BalanceView, LedgerEntryViewSet, OrderViewSet
from integrations.api import WebhookDeliveryViewSet, WebhookEndpointViewSet
from messaging.analytics.api import StatsView
from messaging.campaigns.api import CampaignViewSet, MessageViewSet
from messaging.contacts.api import ContactListViewSet, ContactViewSet, SegmentViewSet
from messaging.content.api import (
    NumberTemplatesSyncView,
    TemplateViewSet,
    WhatsAppTemplateViewSet,
)
from messaging.imports.api import ContactImportViewSet
from messaging.inbox.api import ConversationViewSet
from messaging.numbers.api import NumberViewSet

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
# No `.json` suffix routes: the API speaks JSON only (`?format=` still works for the schema),
# and the suffix reached custom actions that do not take `format` (500s, issue 17 F7).
router.include_format_suffixes = False
router.register("audit-events", AuditEventViewSet, basename="audit-event")
router.register("contacts", ContactViewSet, basename="contact")
router.register("lists", ContactListViewSet, basename="contact-list")
router.register("segments", SegmentViewSet, basename="segment")
router.register("imports", ContactImportViewSet, basename="contact-import")
router.register("templates", TemplateViewSet, basename="template")
router.register("whatsapp-templates", WhatsAppTemplateViewSet, basename="whatsapp-template")
router.register("billing/ledger", LedgerEntryViewSet, basename="billing-ledger")
router.register("billing/orders", OrderViewSet, basename="billing-order")
router.register("campaigns", CampaignViewSet, basename="campaign")
router.register("messages", MessageViewSet, basename="message")
router.register("numbers", NumberViewSet, basename="number")
router.register("webhooks/endpoints", WebhookEndpointViewSet, basename="webhook-endpoint")
router.register("webhooks/deliveries", WebhookDeliveryViewSet, basename="webhook-delivery")
router.register("automation-rules", AutomationRuleViewSet, basename="automation-rule")
router.register("conversations", ConversationViewSet, basename="conversation")

urlpatterns = [
    path("workspace/", WorkspaceDetailView.as_view(), name="workspace"),
    path("billing/balance/", BalanceView.as_view(), name="billing-balance"),
    path("stats/", StatsView.as_view(), name="stats"),
    # Before the router: its numbers/ routes (if any) must not shadow this one.
    path(
        "numbers/<str:number_id>/sync-templates/",
        NumberTemplatesSyncView.as_view(),
        name="number-sync-templates",
    ),
    *router.urls,
]
