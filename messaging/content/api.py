"""Message templates over /api/v1/, with a render preview (thin: rules live in
`messaging.content.services`)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api_base import WorkspaceModelViewSet, write_scope_map
from core.api import call_service
from messaging.contacts import selectors
from messaging.content import services
from messaging.content.models import MessageTemplate


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
        services.template_delete(workspace=self.workspace, template=instance, api_key=self.api_key)

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
            contact = selectors.contacts_by_public_ids(
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
