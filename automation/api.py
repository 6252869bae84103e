"""Keyword automation rules over /api/v1/automation-rules/ (thin: every rule is in
`automation.services`), and each rule's runs (read-only). The API key fixes the workspace;
another workspace's rule is a 404, and another workspace's number, template or list in a body
is a 400 on that field."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api_base import WorkspaceModelViewSet, write_scope_map
from automation import selectors, services
from automation.models import AutomationRule, AutomationRun
from core.api import scope_related
from messaging.contacts.models import ContactList
from messaging.content.models import MessageTemplate
from messaging.numbers.models import Sender

T = TypeVar("T")


def call_service(fn: Callable[..., T], /, **kwargs: Any) -> T:
    """Run a service; its ValidationError becomes DRF's 400 with a message per field."""
    try:
        return fn(**kwargs)
    except DjangoValidationError as exc:
        if hasattr(exc, "error_dict"):
            detail = {
                ("non_field_errors" if key == "__all__" else key): value
                for key, value in exc.message_dict.items()
            }
        else:
            detail = {"non_field_errors": exc.messages}
        raise serializers.ValidationError(detail) from exc


def _related(model: Any, help_text: str) -> serializers.SlugRelatedField:
    return serializers.SlugRelatedField(
        slug_field="public_id",
        queryset=model.objects.none(),
        required=False,
        allow_null=True,
        help_text=help_text,
    )


class AutomationRuleSerializer(serializers.ModelSerializer):
    # Loose shapes: the service validates every field at once and answers with all messages.
    id = serializers.UUIDField(source="public_id", read_only=True)
    sender = _related(Sender, "A number's id; null: any number of the workspace")
    reply_template = _related(MessageTemplate, "Reply with this template's text")
    contact_list = _related(ContactList, "Add the contact to this list")
    keywords = serializers.ListField(
        child=serializers.CharField(max_length=200, allow_blank=True),
        required=False,
        help_text="For exact and contains: case, accents and punctuation are ignored",
    )
    pattern = serializers.CharField(
        max_length=500,
        required=False,
        allow_blank=True,
        help_text="For regex: a regular expression (case ignored), at most 200 characters",
    )
    tags = serializers.ListField(
        child=serializers.CharField(max_length=64), required=False, help_text="Tags to add"
    )

    class Meta:
        model = AutomationRule
        fields = [
            "id",
            *services.RULE_FIELDS,
            "times_fired",
            "last_fired_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["times_fired", "last_fired_at", "created_at", "updated_at"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        workspace = self.context.get("workspace")
        if workspace is not None:
            # Related ids resolve only inside the key's workspace: a foreign id is a 400.
            scoped: dict[str, QuerySet[Any]] = {
                "sender": Sender.objects.for_workspace(workspace),
                "reply_template": MessageTemplate.objects.for_workspace(workspace),
                "contact_list": ContactList.objects.for_workspace(workspace),
            }
            for name, queryset in scoped.items():
                scope_related(self.fields[name], queryset)


class AutomationRunSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    phone = serializers.CharField(source="inbound.phone", read_only=True)
    text = serializers.CharField(source="inbound.text", read_only=True)
    received_at = serializers.DateTimeField(source="inbound.received_at", read_only=True)
    contact: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="public_id", read_only=True
    )
    reply_message: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="public_id", read_only=True
    )

    class Meta:
        model = AutomationRun
        fields = [
            "id",
            "phone",
            "text",
            "received_at",
            "contact",
            "outcome",
            "detail",
            "actions",
            "reply_message",
            "created_at",
        ]
        read_only_fields = fields


@extend_schema(tags=["automation"])
class AutomationRuleViewSet(WorkspaceModelViewSet):
    """Keyword automation: when an inbound message matches, reply with a template, add tags or
    add the contact to a list. Opt-out replies (STOP...) never fire a rule."""

    queryset = AutomationRule.objects.all()
    serializer_class = AutomationRuleSerializer
    scope_map = write_scope_map("automation")

    def safely_get_queryset(self, queryset: QuerySet[AutomationRule]) -> QuerySet[AutomationRule]:
        return queryset.select_related("sender", "reply_template", "contact_list")

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "workspace": self.workspace}

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        serializer.instance = call_service(
            services.rule_create,
            workspace=self.workspace,
            data=serializer.validated_data,
            api_key=self.api_key,
        )

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        serializer.instance = call_service(
            services.rule_update,
            workspace=self.workspace,
            rule=serializer.instance,
            data=serializer.validated_data,
            api_key=self.api_key,
        )

    def perform_destroy(self, instance: AutomationRule) -> None:
        services.rule_delete(workspace=self.workspace, rule=instance, api_key=self.api_key)

    @extend_schema(
        responses=AutomationRunSerializer(many=True),
        summary="The rule's runs: one per inbound message it matched, newest first",
    )
    @action(detail=True, methods=["get"])
    def runs(self, request: Request, public_id: str | None = None) -> Response:
        rule = self.get_object()
        page = self.paginate_queryset(selectors.runs_of_rule(workspace=self.workspace, rule=rule))
        return self.get_paginated_response(AutomationRunSerializer(page, many=True).data)
