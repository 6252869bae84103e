"""WhatsApp numbers over /api/v1/numbers/: list and read them (status, quality, messaging-limit
tier, daily cap and today's use), and connect a Cloud API number (checked by a call to Meta).
Secrets (access token, app secret) are write-only: never returned. Thin: the rules live in
`messaging.numbers.services`."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api_base import WorkspaceModelViewSet, write_scope_map
from accounts.services import client_ip
from core.api import call_service
from messaging.numbers import selectors, services
from messaging.numbers.models import TIER_LIMITS, Sender


class NumberSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    quality = serializers.CharField(
        read_only=True, help_text="Meta's quality rating: green, yellow, red or unknown."
    )
    messaging_limit_tier = serializers.CharField(
        read_only=True,
        help_text="Meta's messaging-limit tier (TIER_250, TIER_2K, ... TIER_UNLIMITED; empty "
        "when not known), shared by the numbers of one WhatsApp Business Account.",
    )
    messaging_limit = serializers.SerializerMethodField(
        help_text="The tier as unique recipients per rolling 24 h; null when unlimited or unknown."
    )
    today_used = serializers.SerializerMethodField(
        help_text="Messages this number sent today (the workspace's day), against daily_cap."
    )
    webhook_url = serializers.SerializerMethodField(
        help_text="The callback URL to set in Meta's app for this number."
    )
    protection = serializers.CharField(
        read_only=True,
        help_text="Automatic protection: empty (none), slowed (its pace was lowered), paused "
        "(its campaigns were paused) or restoring (healthy again, its pace climbing back).",
    )
    protection_reason = serializers.CharField(
        read_only=True, help_text="Why protection last tripped (empty when it never did)."
    )
    pace_restore_per_second = serializers.IntegerField(
        read_only=True,
        allow_null=True,
        help_text="The pace you had set before protection lowered it: restoration climbs back "
        "to it, never above. Null when throughput_per_second is your own.",
    )

    class Meta:
        model = Sender
        fields = [
            "id",
            "provider",
            "label",
            "phone_number",
            "phone_number_id",
            "waba_id",
            "status",
            "status_reason",
            "quality",
            "messaging_limit_tier",
            "messaging_limit",
            "throughput_per_second",
            "daily_cap",
            "today_used",
            "capped_until",
            "health_checked_at",
            "protection",
            "protection_reason",
            "protection_at",
            "pace_restore_per_second",
            "pace_restored_at",
            "webhook_url",
            "created_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_messaging_limit(self, sender: Sender) -> int | None:
        return TIER_LIMITS.get(sender.messaging_limit_tier)

    @extend_schema_field(serializers.IntegerField())
    def get_today_used(self, sender: Sender) -> int:
        used: dict[int, int] = self.context.get("today_used") or {}
        if sender.pk not in used:
            used = selectors.numbers_today_used(workspace=sender.workspace, senders=[sender])
        return used.get(sender.pk, 0)

    @extend_schema_field(serializers.URLField())
    def get_webhook_url(self, sender: Sender) -> str:
        return selectors.sender_webhook_url(sender)


class NumberConnectedSerializer(NumberSerializer):
    verify_token = serializers.CharField(
        read_only=True,
        help_text="The verify token to give Meta with the webhook URL (shown when connecting).",
    )

    class Meta(NumberSerializer.Meta):
        fields = [*NumberSerializer.Meta.fields, "verify_token"]
        read_only_fields = fields


class NumberConnectSerializer(serializers.Serializer):
    provider = serializers.ChoiceField(
        choices=[Sender.Provider.CLOUD_API.value],
        help_text="Only Cloud API numbers connect over the API (WhatsApp-Web numbers pair by "
        "QR code in the dashboard).",
    )
    label = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")  # type: ignore[assignment]  # the field is named "label"
    phone_number_id = serializers.CharField(max_length=64)
    waba_id = serializers.CharField(max_length=64)
    access_token = serializers.CharField(write_only=True, max_length=1000)
    app_secret = serializers.CharField(write_only=True, max_length=200)


@extend_schema(tags=["numbers"])
class NumberViewSet(WorkspaceModelViewSet):
    """The workspace's WhatsApp numbers. `POST` connects a Cloud API number: the credentials
    are checked by a call to Meta (a refusal is a 400 quoting Meta's reason), stored
    encrypted and never returned; the answer carries the webhook URL and verify token."""

    queryset = Sender.objects.all()
    serializer_class = NumberSerializer
    scope_map = write_scope_map("numbers")
    http_method_names = ["get", "post", "head", "options"]

    def safely_get_queryset(self, queryset: QuerySet[Sender]) -> QuerySet[Sender]:
        return queryset.filter(removed_at__isnull=True).select_related("workspace")

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        rows = list(page if page is not None else queryset)
        # Today's use for the whole page in two queries, not two per number.
        context = {
            **self.get_serializer_context(),
            "today_used": selectors.numbers_today_used(workspace=self.workspace, senders=rows),
        }
        data = NumberSerializer(rows, many=True, context=context).data
        return self.get_paginated_response(data) if page is not None else Response(data)

    @extend_schema(request=NumberConnectSerializer, responses={201: NumberConnectedSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = NumberConnectSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = {k: v for k, v in data.validated_data.items() if k != "provider"}
        sender = call_service(
            services.sender_connect_cloud_api,
            workspace=self.workspace,
            actor=None,
            api_key=self.api_key,
            ip=client_ip(request),
            **values,
        )
        return Response(NumberConnectedSerializer(sender).data, status=status.HTTP_201_CREATED)
