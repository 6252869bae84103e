"""Billing over the API, read-only: balance, ledger and orders of the key's workspace."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api_auth import request_workspace
from accounts.api_base import WorkspaceReadOnlyViewSet, read_scope_map
from billing import services
from billing.models import LedgerEntry, Order
from core.api import validated_query


class BalanceSerializer(serializers.Serializer[services.Balance]):
    available = serializers.IntegerField()
    reserved = serializers.IntegerField()


class BalanceView(APIView):
    scope_map = read_scope_map("billing")

    @extend_schema(responses=BalanceSerializer, summary="The workspace's credit balance")
    def get(self, request: Request) -> Response:
        balance = services.credits_balance(workspace=request_workspace(request))
        return Response(BalanceSerializer(balance).data)


class LedgerEntrySerializer(serializers.ModelSerializer[LedgerEntry]):
    class Meta:
        model = LedgerEntry
        fields = ["id", "kind", "amount", "reserved_delta", "reference", "reason", "created_at"]
        read_only_fields = fields


class LedgerQuerySerializer(serializers.Serializer[Any]):
    kind = serializers.ChoiceField(
        choices=LedgerEntry.Kind.choices, required=False, allow_blank=True
    )


@extend_schema(parameters=[LedgerQuerySerializer])
class LedgerEntryViewSet(WorkspaceReadOnlyViewSet):
    """Every credit change, newest first (`amount`: change to the credits held;
    `reserved_delta`: change to the reserved part)."""

    queryset = LedgerEntry.objects.all()
    serializer_class = LedgerEntrySerializer
    scope_map = read_scope_map("billing")
    lookup_field = "pk"
    ordering = ("-created_at", "-id")

    def safely_get_queryset(self, queryset: QuerySet[LedgerEntry]) -> QuerySet[LedgerEntry]:
        filters = validated_query(LedgerQuerySerializer, self.request.query_params)
        if "kind" in filters:
            queryset = queryset.filter(kind=filters["kind"])
        return queryset


class OrderSerializer(serializers.ModelSerializer[Order]):
    id = serializers.UUIDField(source="public_id", read_only=True)
    package = serializers.CharField(source="package.name")
    invoice_number = serializers.SerializerMethodField()

    class Meta:
        model = Order
        fields = [
            "id",
            "package",
            "method",
            "status",
            "credits",
            "validity_days",
            "amount",
            "currency",
            "payment_reference",
            "created_at",
            "confirmed_at",
            "invoice_number",
        ]
        read_only_fields = fields

    def get_invoice_number(self, order: Order) -> str | None:
        invoice = getattr(order, "invoice", None)
        return invoice.number if invoice else None


class OrderViewSet(WorkspaceReadOnlyViewSet):
    queryset = Order.objects.all()
    serializer_class = OrderSerializer
    scope_map = read_scope_map("billing")
    ordering = ("-created_at", "-id")

    def safely_get_queryset(self, queryset: QuerySet[Order]) -> QuerySet[Order]:
        return queryset.select_related("package", "invoice")
