"""Every API route under /api/v1/. Apps register their viewsets here."""

from django.urls import path
from rest_framework.routers import DefaultRouter

from accounts.api import AuditEventViewSet, WorkspaceDetailView
from billing.api import BalanceView, LedgerEntryViewSet, OrderViewSet

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("audit-events", AuditEventViewSet, basename="audit-event")
router.register("billing/ledger", LedgerEntryViewSet, basename="billing-ledger")
router.register("billing/orders", OrderViewSet, basename="billing-order")

urlpatterns = [
    path("workspace/", WorkspaceDetailView.as_view(), name="workspace"),
    path("billing/balance/", BalanceView.as_view(), name="billing-balance"),
    *router.urls,
]
