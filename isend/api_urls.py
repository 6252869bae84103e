"""Every API route under /api/v1/. Apps register their viewsets here."""

from django.urls import path
from rest_framework.routers import DefaultRouter

from accounts.api import AuditEventViewSet, WorkspaceDetailView

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("audit-events", AuditEventViewSet, basename="audit-event")

urlpatterns = [
    path("workspace/", WorkspaceDetailView.as_view(), name="workspace"),
    *router.urls,
]
