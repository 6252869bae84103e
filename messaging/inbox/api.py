"""The team inbox over /api/v1/conversations/ (thin: every rule is in `inbox.services`):
list and read conversations, their messages (newest page first), reply, assign and close.
The API key fixes the workspace; another workspace's conversation is a 404."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api_base import WorkspaceReadOnlyViewSet, write_scope_map
from accounts.models import User
from billing.services import InsufficientCredits
from messaging.campaigns.api import PAYMENT_REQUIRED, MessageSerializer
from messaging.inbox import selectors, services
from messaging.inbox.models import Conversation


def _django_errors(exc: DjangoValidationError) -> ValidationError:
    return ValidationError(getattr(exc, "message_dict", None) or {"detail": exc.messages})


class ConversationSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    number = serializers.UUIDField(source="sender.public_id", read_only=True)
    contact: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="public_id", read_only=True, allow_null=True
    )
    assignee: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="email", read_only=True, allow_null=True, help_text="null: unassigned"
    )
    last_kind = serializers.ChoiceField(
        choices=Conversation.LastKind.choices,
        allow_blank=True,
        read_only=True,
        help_text="What the last line was; empty before any message",
    )

    class Meta:
        model = Conversation
        fields = [
            "id",
            "number",
            "phone",
            "contact",
            "status",
            "assignee",
            "labels",
            "last_message_at",
            "last_kind",
            "last_preview",
            "last_inbound_at",
            "unread_count",
            "created_at",
        ]
        read_only_fields = fields


class ThreadItemSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["out", "in", "note"])
    at = serializers.DateTimeField()
    text = serializers.CharField()
    status = serializers.CharField(help_text="Outgoing: the message's status")
    detail = serializers.CharField(help_text="Outgoing: the error; inbound: its kind")
    content = serializers.JSONField()
    campaign = serializers.CharField()
    author = serializers.CharField(help_text="Notes: who wrote it")


class ThreadSerializer(serializers.Serializer):
    items = ThreadItemSerializer(many=True)
    earlier = serializers.CharField(help_text="Pass as ?before= for the older page; empty: none")


class ConversationQuerySerializer(serializers.Serializer):
    view = serializers.ChoiceField(choices=selectors.VIEWS, required=False)
    state = serializers.ChoiceField(choices=selectors.STATES, required=False)
    number = serializers.UUIDField(required=False)
    label = serializers.CharField(required=False, max_length=40)  # type: ignore[assignment]
    search = serializers.CharField(required=False, max_length=100)


class ReplySerializer(serializers.Serializer):
    text = serializers.CharField(max_length=4096)
    buttons = serializers.ListField(
        child=serializers.CharField(max_length=20), required=False, max_length=3
    )


class AssignSerializer(serializers.Serializer):
    assignee = serializers.EmailField(allow_null=True, help_text="A member's e-mail; null: nobody")


WINDOW_CLOSED = OpenApiResponse(
    description="Field errors; `window_closed`: the 24-hour window is closed (send a template)."
)


@extend_schema(tags=["inbox"])
class ConversationViewSet(WorkspaceReadOnlyViewSet):
    """Team-inbox conversations: one per (number, phone), newest activity first."""

    queryset = Conversation.objects.all()
    serializer_class = ConversationSerializer
    scope_map = write_scope_map("inbox")

    def safely_get_queryset(self, queryset: QuerySet[Conversation]) -> QuerySet[Conversation]:
        queryset = queryset.select_related("sender", "contact", "assignee").order_by(
            "-last_message_at", "-id"
        )
        if self.action != "list":
            return queryset
        data = ConversationQuerySerializer(data=self.request.query_params)
        data.is_valid(raise_exception=True)
        filters = data.validated_data
        return selectors.conversations_matching(
            workspace=self.workspace,
            view=filters.get("view", "all"),
            state=filters.get("state", "all"),
            number=str(filters.get("number") or ""),
            label=filters.get("label", ""),
            search=filters.get("search", ""),
        )

    @extend_schema(
        summary="The conversation's messages and notes, the newest page (oldest first)",
        parameters=[
            inline_serializer("ThreadQuery", {"before": serializers.DateTimeField(required=False)})
        ],
        responses={200: ThreadSerializer},
    )
    @action(detail=True, methods=["get"])
    def messages(self, request: Request, public_id: str | None = None) -> Response:
        conversation = self.get_object()
        before = None
        if request.query_params.get("before"):
            try:
                before = serializers.DateTimeField().to_internal_value(
                    request.query_params["before"]
                )
            except serializers.ValidationError as exc:  # keyed by the parameter, like others
                raise serializers.ValidationError({"before": exc.detail}) from exc
        page = selectors.thread_page(conversation=conversation, before=before)
        return Response(ThreadSerializer({"items": page.items, "earlier": page.earlier}).data)

    @extend_schema(
        summary="Reply from the conversation's number (free-form: inside the 24-hour window)",
        request=ReplySerializer,
        responses={201: MessageSerializer, 400: WINDOW_CLOSED, 402: PAYMENT_REQUIRED},
    )
    @action(detail=True, methods=["post"])
    def reply(self, request: Request, public_id: str | None = None) -> Response:
        conversation = self.get_object()
        data = ReplySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            message = services.conversation_reply(
                workspace=self.workspace,
                conversation=conversation,
                text=data.validated_data["text"],
                buttons=data.validated_data.get("buttons", []),
                api_key=self.api_key,
                idempotency_key=request.headers.get("Idempotency-Key") or None,
            )
        except DjangoValidationError as exc:
            raise _django_errors(exc) from exc
        except InsufficientCredits as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_402_PAYMENT_REQUIRED)
        return Response(MessageSerializer(message).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Assign the conversation to a member (null: unassign)",
        request=AssignSerializer,
        responses={200: ConversationSerializer},
    )
    @action(detail=True, methods=["post"])
    def assign(self, request: Request, public_id: str | None = None) -> Response:
        conversation = self.get_object()
        data = AssignSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        email = data.validated_data["assignee"]
        assignee = None
        if email:
            assignee = User.objects.filter(
                memberships__workspace=self.workspace, email__iexact=email
            ).first()
            if assignee is None:
                raise ValidationError({"assignee": [_("Not a member of this workspace.")]})
        try:
            conversation = services.conversation_assign(
                workspace=self.workspace,
                conversation=conversation,
                assignee=assignee,
                api_key=self.api_key,
            )
        except DjangoValidationError as exc:
            raise _django_errors(exc) from exc
        return Response(ConversationSerializer(conversation).data)

    @extend_schema(
        summary="Close the conversation (a new reply reopens it)",
        request=None,
        responses={200: ConversationSerializer},
    )
    @action(detail=True, methods=["post"])
    def close(self, request: Request, public_id: str | None = None) -> Response:
        conversation = services.conversation_status_set(
            workspace=self.workspace,
            conversation=self.get_object(),
            status=Conversation.Status.CLOSED,
            api_key=self.api_key,
        )
        return Response(ConversationSerializer(conversation).data)
