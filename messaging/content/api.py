"""Message templates over /api/v1/, with a render preview (thin: rules live in
`messaging.content.services`)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api_auth import request_workspace
from accounts.api_base import WorkspaceModelViewSet, write_scope_map
from core.api import Conflict, call_service
from core.queries import get_or_404
from messaging.contacts import selectors as contact_selectors
from messaging.content import selectors, services
from messaging.content.models import MessageTemplate, WhatsAppTemplate
from messaging.numbers.models import Sender


class TemplateSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    variants = serializers.ListField(child=serializers.CharField(), min_length=1, max_length=10)
    wa_parameters = serializers.ListField(child=serializers.CharField(), required=False)

    class Meta:
        model = MessageTemplate
        fields = [
            "id",
            "name",
            "variants",
            "media_type",
            "media_url",
            "footer",
            "wa_template_name",
            "wa_language",
            "wa_category",
            "wa_parameters",
            "wa_status",
            "wa_rejection_reason",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]


class RenderRequestSerializer(serializers.Serializer):
    contact = serializers.UUIDField(required=False, allow_null=True)


class RenderResultSerializer(serializers.Serializer):
    text = serializers.CharField()
    footer = serializers.CharField()
    variant = serializers.IntegerField()
    length = serializers.IntegerField()
    too_long = serializers.BooleanField()
    missing = serializers.ListField(child=serializers.CharField())


@extend_schema(tags=["templates"])
class TemplateViewSet(WorkspaceModelViewSet):
    """Message templates: variants, alternatives, fallbacks, media, Cloud API mapping."""

    queryset = MessageTemplate.objects.all()
    serializer_class = TemplateSerializer
    scope_map = write_scope_map("templates")

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        serializer.instance = call_service(
            services.template_create,
            workspace=self.workspace,
            data=serializer.validated_data,
            api_key=self.api_key,
        )

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        serializer.instance = call_service(
            services.template_update,
            workspace=self.workspace,
            template=serializer.instance,
            data=serializer.validated_data,
            api_key=self.api_key,
        )

    def perform_destroy(self, instance: MessageTemplate) -> None:
        try:
            services.template_delete(
                workspace=self.workspace, template=instance, api_key=self.api_key
            )
        except services.TemplateInUse as exc:
            raise Conflict(" ".join(exc.messages)) from exc

    @extend_schema(
        request=RenderRequestSerializer,
        responses=RenderResultSerializer,
        summary="Render the template for one contact (what they would receive)",
    )
    @action(detail=True, methods=["post"], url_path="render")
    def render(self, request: Request, public_id: str | None = None) -> Response:
        template = self.get_object()
        payload = RenderRequestSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        contact = None
        if payload.validated_data.get("contact"):
            contact = contact_selectors.contacts_by_public_ids(
                workspace=self.workspace, contact_ids=[payload.validated_data["contact"]]
            ).first()
            if contact is None:
                raise serializers.ValidationError({"contact": ["That contact does not exist."]})
        rendered = services.template_render_for_contact(
            workspace=self.workspace,
            variants=template.variants,
            contact=contact,
            footer=template.footer,
        )
        return Response(
            {
                "text": rendered.text,
                "footer": rendered.footer,
                "variant": rendered.variant,
                "length": rendered.length,
                "too_long": rendered.too_long,
                "missing": rendered.missing,
            }
        )


# --- WhatsApp (Meta) templates --------------------------------------------------------------


class WhatsAppTemplateSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    components = serializers.JSONField(
        help_text="Meta's component list, exactly as the Graph API's message_templates has it."
    )

    class Meta:
        model = WhatsAppTemplate
        fields = [
            "id",
            "name",
            "language",
            "status",
            "category",
            "components",
            "quality",
            "rejected_reason",
            "parameter_format",
            "waba_id",
            "meta_id",
            "synced_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class WhatsAppTemplateCreateSerializer(serializers.Serializer):
    number = serializers.UUIDField(help_text="The id of a Cloud API number of the WABA.")
    name = serializers.CharField(max_length=512)
    language = serializers.CharField(max_length=16, help_text="Meta's code, e.g. en, az, en_US.")
    category = serializers.ChoiceField(choices=WhatsAppTemplate.Category.choices)
    parameter_format = serializers.ChoiceField(
        choices=WhatsAppTemplate.ParameterFormat.choices,
        default=WhatsAppTemplate.ParameterFormat.POSITIONAL,
    )
    components = serializers.ListField(
        child=serializers.DictField(),
        min_length=1,
        help_text="Meta's components (HEADER, BODY, FOOTER, BUTTONS) with their examples.",
    )


class TemplateSyncResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    removed = serializers.IntegerField()
    total = serializers.IntegerField()


def _number_for_workspace(workspace: Any, number_id: Any) -> Sender:
    """A live number of this workspace, else 404 (another workspace's id is missing too)."""
    return get_or_404(
        selectors.template_numbers_of_workspace(workspace=workspace), public_id=number_id
    )


@extend_schema(tags=["whatsapp-templates"])
@extend_schema_view(
    list=extend_schema(
        summary="Meta WhatsApp templates",
        parameters=[
            OpenApiParameter("number", str, description="a number's id: only its WABA's templates"),
            OpenApiParameter("status", str, description="filter by Meta's status, e.g. APPROVED"),
        ],
    ),
    create=extend_schema(
        request=WhatsAppTemplateCreateSerializer,
        responses={201: WhatsAppTemplateSerializer},
        summary="Create a template and submit it to Meta for review",
        description=(
            "Meta's authoring rules are checked first (400 with field errors: name, language, "
            "category, header, body, footer, buttons); Meta's own refusal is a 400 under "
            "`components` with Meta's words. The template starts PENDING; its status follows "
            "Meta's webhooks."
        ),
    ),
    destroy=extend_schema(
        summary="Delete the template at Meta and here",
        description="400 while a campaign that is not finished uses it.",
    ),
)
class WhatsAppTemplateViewSet(WorkspaceModelViewSet):
    """Meta's message templates of the workspace's Cloud API numbers (per WABA)."""

    queryset = WhatsAppTemplate.objects.all()
    serializer_class = WhatsAppTemplateSerializer
    scope_map = write_scope_map("templates")
    http_method_names = ["get", "post", "delete", "head", "options"]

    def safely_get_queryset(
        self, queryset: QuerySet[WhatsAppTemplate]
    ) -> QuerySet[WhatsAppTemplate]:
        queryset = queryset.exclude(status=WhatsAppTemplate.Status.DELETED)
        if self.action == "list":
            number_id = self.request.query_params.get("number")
            if number_id:
                number = _number_for_workspace(self.workspace, number_id)
                queryset = queryset.filter(waba_id=number.waba_id)
            status = self.request.query_params.get("status")
            if status:
                queryset = queryset.filter(status=status.upper())
        return queryset.order_by("name", "language")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        payload = WhatsAppTemplateCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        try:
            number = _number_for_workspace(self.workspace, data["number"])
        except Http404 as exc:
            raise serializers.ValidationError(
                {"number": ["No Cloud API number with this id in this workspace."]}
            ) from exc
        template = call_service(
            services.whatsapp_template_create,
            workspace=self.workspace,
            sender=number,
            name=data["name"],
            language=data["language"],
            category=data["category"],
            parameter_format=data["parameter_format"],
            components=data["components"],
            api_key=self.api_key,
        )
        return Response(WhatsAppTemplateSerializer(template).data, status=201)

    def perform_destroy(self, instance: WhatsAppTemplate) -> None:
        call_service(
            services.whatsapp_template_delete,
            workspace=self.workspace,
            template=instance,
            api_key=self.api_key,
        )


class NumberTemplatesSyncView(APIView):
    """`POST /api/v1/numbers/{id}/sync-templates/`: pull the number's WABA templates now."""

    scope_map = write_scope_map("templates")

    @extend_schema(
        tags=["whatsapp-templates"],
        request=None,
        responses=TemplateSyncResultSerializer,
        summary="Sync a number's WhatsApp templates from Meta",
        description=(
            "Reads every page of Meta's message_templates for the number's WABA: new templates "
            "are added, changed ones updated, and ones Meta no longer has removed. 404 for a "
            "number of another workspace; 400 with Meta's words when Meta refuses."
        ),
    )
    def post(self, request: Request, number_id: str) -> Response:
        workspace = request_workspace(request)
        number = _number_for_workspace(workspace, number_id)
        result = call_service(services.whatsapp_templates_sync, workspace=workspace, sender=number)
        return Response(
            {
                "created": result.created,
                "updated": result.updated,
                "removed": result.removed,
                "total": result.total,
            }
        )
