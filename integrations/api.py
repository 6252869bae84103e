"""Outgoing webhooks over the API (thin): endpoints CRUD, secret rotation, test events, the
delivery log with filters, and replay. The signing secret appears only in the responses of
create and rotate-secret."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from drf_spectacular.utils import (
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api_base import WorkspaceModelViewSet, WorkspaceReadOnlyViewSet, write_scope_map
from core.api import validated_query
from integrations import services
from integrations.models import ALL_EVENTS, EventType, WebhookDelivery, WebhookEndpoint

EVENT_TYPE_CHOICES = [ALL_EVENTS, *EventType.values]


def _django_errors(exc: DjangoValidationError) -> ValidationError:
    return ValidationError(getattr(exc, "message_dict", None) or {"detail": exc.messages})


class WebhookEndpointSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    url = serializers.CharField(max_length=500)
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=EVENT_TYPE_CHOICES),
        help_text='Event types to receive; ["*"] for all of them, [] for none.',
    )
    is_active = serializers.BooleanField(required=False)
    health = serializers.CharField(read_only=True)

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "url",
            "description",
            "event_types",
            "is_active",
            "health",
            "disabled_at",
            "disabled_reason",
            "consecutive_failures",
            "last_success_at",
            "last_failure_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "disabled_at",
            "disabled_reason",
            "consecutive_failures",
            "last_success_at",
            "last_failure_at",
            "created_at",
            "updated_at",
        ]


class WebhookEndpointWithSecretSerializer(WebhookEndpointSerializer):
    secret = serializers.SerializerMethodField(
        help_text="The signing secret (whsec_...): returned only here, never again."
    )

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]

    def get_secret(self, obj: WebhookEndpoint) -> str:
        return str(self.context.get("secret", ""))


class WebhookDeliverySerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    endpoint: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="public_id", read_only=True
    )
    replay_of: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="public_id", read_only=True, allow_null=True
    )

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "endpoint",
            "event_id",
            "event_type",
            "payload",
            "status",
            "attempts",
            "next_attempt_at",
            "first_attempt_at",
            "last_attempt_at",
            "last_status_code",
            "last_response_ms",
            "last_error",
            "response_body",
            "replay_of",
            "created_at",
            "delivered_at",
        ]
        read_only_fields = fields


class WebhookEndpointViewSet(WorkspaceModelViewSet):
    """The workspace's webhook endpoints. Events are signed per Standard Webhooks."""

    queryset = WebhookEndpoint.objects.all()
    serializer_class = WebhookEndpointSerializer
    scope_map = write_scope_map("webhooks")

    def _actor(self) -> dict[str, Any]:
        return {"api_key": self.request.auth, "actor": None}

    @extend_schema(responses={201: WebhookEndpointWithSecretSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            endpoint, secret = services.webhook_endpoint_create(
                workspace=self.workspace,
                url=data["url"],
                description=data.get("description", ""),
                event_types=data["event_types"],
                **self._actor(),
            )
        except DjangoValidationError as exc:
            raise _django_errors(exc) from exc
        body = WebhookEndpointWithSecretSerializer(endpoint, context={"secret": secret}).data
        return Response(body, status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        endpoint = self.get_object()
        serializer = self.get_serializer(
            endpoint, data=request.data, partial=kwargs.get("partial", False)
        )
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            endpoint = services.webhook_endpoint_update(
                workspace=self.workspace,
                endpoint=endpoint,
                url=data.get("url"),
                description=data.get("description"),
                event_types=data.get("event_types"),
                **self._actor(),
            )
            if "is_active" in data:
                endpoint = services.webhook_endpoint_set_active(
                    workspace=self.workspace,
                    endpoint=endpoint,
                    active=data["is_active"],
                    **self._actor(),
                )
        except DjangoValidationError as exc:
            raise _django_errors(exc) from exc
        return Response(self.get_serializer(endpoint).data)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.webhook_endpoint_delete(
            workspace=self.workspace, endpoint=self.get_object(), **self._actor()
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses=WebhookEndpointWithSecretSerializer)
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request: Request, public_id: str | None = None) -> Response:
        """A new signing secret; the previous one keeps signing for 24 hours."""
        endpoint, secret = services.webhook_endpoint_rotate_secret(
            workspace=self.workspace, endpoint=self.get_object(), **self._actor()
        )
        return Response(
            WebhookEndpointWithSecretSerializer(endpoint, context={"secret": secret}).data
        )

    @extend_schema(request=None, responses={202: WebhookDeliverySerializer})
    @action(detail=True, methods=["post"])
    def test(self, request: Request, public_id: str | None = None) -> Response:
        """Queue a `webhook.test` event for this endpoint."""
        delivery = services.webhook_endpoint_send_test(
            workspace=self.workspace, endpoint=self.get_object()
        )
        return Response(WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)


class DeliveryQuerySerializer(serializers.Serializer):
    endpoint = serializers.UUIDField(required=False, help_text="An endpoint's id")
    status = serializers.ChoiceField(
        choices=WebhookDelivery.Status.choices, required=False, allow_blank=True
    )
    event_type = serializers.CharField(required=False, allow_blank=True)


@extend_schema_view(list=extend_schema(parameters=[DeliveryQuerySerializer]))
class WebhookDeliveryViewSet(WorkspaceReadOnlyViewSet):
    """Webhook deliveries, newest first; filter with `?endpoint=&status=&event_type=`."""

    queryset = WebhookDelivery.objects.all()
    serializer_class = WebhookDeliverySerializer
    scope_map = write_scope_map("webhooks")

    def safely_get_queryset(self, queryset: QuerySet[WebhookDelivery]) -> QuerySet[WebhookDelivery]:
        queryset = queryset.select_related("endpoint", "replay_of")
        if self.action != "list":
            return queryset
        filters = validated_query(DeliveryQuerySerializer, self.request.query_params)
        if "endpoint" in filters:
            queryset = queryset.filter(endpoint__public_id=filters["endpoint"])
        if "status" in filters:
            queryset = queryset.filter(status=filters["status"])
        if "event_type" in filters:
            queryset = queryset.filter(event_type=filters["event_type"])
        return queryset

    @extend_schema(
        request=None,
        responses={
            202: WebhookDeliverySerializer,
            404: inline_serializer("NotFound", {"detail": serializers.CharField()}),
        },
    )
    @action(detail=True, methods=["post"])
    def replay(self, request: Request, public_id: str | None = None) -> Response:
        """Send the event again (same event id and payload) as a new delivery."""
        delivery = services.webhook_delivery_replay(
            workspace=self.workspace, delivery=self.get_object()
        )
        return Response(WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)
