"""Contact imports over /api/v1/: upload, poll, stop, rejections (thin: rules live in
`messaging.imports.services`)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api_base import WorkspaceViewSetMixin, write_scope_map
from core.api import call_service
from messaging.contacts import selectors as contacts_selectors
from messaging.imports import selectors as imports_selectors
from messaging.imports import services
from messaging.imports.models import ContactImport


class ContactImportSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    progress = serializers.IntegerField(source="progress_percent", read_only=True)
    report = serializers.SerializerMethodField()
    # The list the rows are added to, or null (none chosen): always present in the answer.
    contact_list: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="public_id", read_only=True, allow_null=True
    )

    class Meta:
        model = ContactImport
        fields = [
            "id",
            "status",
            "original_name",
            "file_format",
            "encoding",
            "delimiter",
            "has_header",
            "columns",
            "preview_rows",
            "mapping",
            "default_country",
            "on_existing",
            "contact_list",
            "tags",
            "consent_source",
            "progress",
            "total_rows",
            "report",
            "error",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields

    def get_report(self, obj: ContactImport) -> dict[str, int]:
        return services.contact_import_summary(obj)


class ContactImportCreateSerializer(serializers.Serializer):
    file = serializers.FileField()
    mapping = serializers.JSONField(
        required=False,
        help_text='Column indexes: {"phone": 0, "first_name": 1, "attributes": {"city": 3}}. '
        'A whole name is split: "full_name" (first name, then surname) or '
        '"full_name_surname_first" (as Russian ФИО). Omitted: the guess from the header is used.',
    )
    consent_confirmed = serializers.BooleanField(
        help_text="Required: the contacts were obtained lawfully and agreed to receive messages."
    )
    consent_source = serializers.CharField(max_length=120, required=False, allow_blank=True)
    has_header = serializers.BooleanField(required=False, allow_null=True, default=None)
    default_country = serializers.CharField(max_length=2, required=False, allow_blank=True)
    on_existing = serializers.ChoiceField(
        choices=ContactImport.OnExisting.choices, default=ContactImport.OnExisting.UPDATE
    )
    contact_list = serializers.UUIDField(required=False, allow_null=True)
    tags = serializers.ListField(child=serializers.CharField(max_length=64), required=False)


class RejectionSerializer(serializers.Serializer):
    line = serializers.IntegerField()
    reason = serializers.CharField()
    message = serializers.CharField(
        source="text", help_text="Why, in the request's language (`reason` is the stable code)."
    )
    row = serializers.ListField(child=serializers.CharField(allow_blank=True))


@extend_schema(tags=["contacts"])
class ContactImportViewSet(
    WorkspaceViewSetMixin,
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Upload a CSV/XLSX file with its mapping and options; poll progress and the report."""

    queryset = ContactImport.objects.all()
    serializer_class = ContactImportSerializer
    scope_map = write_scope_map("contacts")
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    @extend_schema(request=ContactImportCreateSerializer, responses={201: ContactImportSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        from django.db import transaction

        payload = ContactImportCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        contact_list = None
        if data.get("contact_list"):
            try:
                contact_list = contacts_selectors.get_contact_list_for_workspace(
                    workspace=self.workspace, list_id=data["contact_list"]
                )
            except Exception as exc:  # Http404: a foreign or unknown list is a field error
                raise serializers.ValidationError(
                    {"contact_list": ["That list does not exist."]}
                ) from exc
        with transaction.atomic():  # upload and options stand or fall together
            contact_import = call_service(
                services.contact_import_create, workspace=self.workspace, uploaded=data["file"]
            )
            contact_import = call_service(
                services.contact_import_configure,
                workspace=self.workspace,
                contact_import=contact_import,
                api_key=request.auth,
                options=services.ImportOptions(
                    mapping=data.get("mapping") or contact_import.mapping,
                    consent_confirmed=data["consent_confirmed"],
                    consent_source=data.get("consent_source", ""),
                    has_header=data.get("has_header"),
                    default_country=data.get("default_country", ""),
                    on_existing=data["on_existing"],
                    contact_list=contact_list,
                    tags=data.get("tags", []),
                ),
            )
        return Response(
            ContactImportSerializer(contact_import).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(request=None, summary="Stop the import (rows already written stay)")
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, public_id: str | None = None) -> Response:
        contact_import = call_service(
            services.contact_import_cancel,
            workspace=self.workspace,
            contact_import=self.get_object(),
            actor=None,
        )
        return Response(self.get_serializer(contact_import).data)

    # Documented on the action itself (it was once stacked on `cancel` above by mistake, so
    # both were documented wrong).
    @extend_schema(
        responses=inline_serializer(
            "Rejections",
            {"count": serializers.IntegerField(), "results": RejectionSerializer(many=True)},
        ),
        summary="Rows not imported, by line (the first 1,000; the dashboard offers all as CSV)",
    )
    @action(detail=True, methods=["get"], url_path="rejections", pagination_class=None)
    def rejections(self, request: Request, public_id: str | None = None) -> Response:
        contact_import = self.get_object()
        rows = imports_selectors.contact_import_rejections(
            workspace=self.workspace, contact_import=contact_import
        )
        return Response(
            {
                "count": rows.count(),
                "results": RejectionSerializer(rows[:1000], many=True).data,
            }
        )
