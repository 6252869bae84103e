"""Accounts over the API: the key's workspace and its audit trail (read-only)."""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import api_schema  # noqa: F401  (registers the auth scheme with the schema)
from accounts.api_auth import request_workspace
from accounts.api_base import WorkspaceReadOnlyViewSet, read_scope_map
from accounts.models import AuditEvent, Workspace


class WorkspaceSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)

    class Meta:
        model = Workspace
        fields = ["id", "name", "slug", "time_zone", "default_country", "status", "created_at"]
        read_only_fields = fields


class WorkspaceDetailView(APIView):
    scope_map = read_scope_map("workspace")

    @extend_schema(responses=WorkspaceSerializer, summary="The API key's workspace")
    def get(self, request: Request) -> Response:
        return Response(WorkspaceSerializer(request_workspace(request)).data)


class AuditEventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor_label")

    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "action",
            "actor",
            "target_type",
            "target_id",
            "target_repr",
            "ip",
            "details",
            "created_at",
        ]
        read_only_fields = fields


class AuditEventViewSet(WorkspaceReadOnlyViewSet):
    """The workspace's audit trail: who did what, when and from where."""

    queryset = AuditEvent.objects.all()
    serializer_class = AuditEventSerializer
    scope_map = read_scope_map("workspace")
    lookup_field = "pk"
    ordering = ("-created_at", "-id")

    def safely_get_queryset(self, queryset: QuerySet[AuditEvent]) -> QuerySet[AuditEvent]:
        return queryset.select_related(None)
