"""Campaigns and messages over the API: create, pre-flight, launch, pause, resume, cancel;
list and read messages; send one message with an Idempotency-Key."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api_base import RejectUnknownFieldsMixin, WorkspaceModelViewSet, write_scope_map
from billing.services import InsufficientCredits
from core.api import scope_related, validated_query
from messaging.analytics.selectors import campaign_cap_waits
from messaging.campaigns import services as campaign_services
from messaging.campaigns.messages import IdempotencyKeyReused, message_send
from messaging.campaigns.models import Campaign, Message
from messaging.contacts.audience import audience_clean, audience_upgrade_legacy
from messaging.content.models import MessageTemplate, WhatsAppTemplate
from messaging.gateways import freeform
from messaging.numbers.models import Sender


def _django_errors(exc: DjangoValidationError) -> ValidationError:
    return ValidationError(getattr(exc, "message_dict", None) or {"detail": exc.messages})


class MessageSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    to = serializers.CharField(source="phone", read_only=True)
    campaign: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="public_id", read_only=True, allow_null=True
    )
    sender: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="public_id", read_only=True
    )

    class Meta:
        model = Message
        fields = [
            "id",
            "to",
            "campaign",
            "sender",
            "status",
            "body",
            "attempts",
            "error_kind",
            "error_code",
            "error_title",
            "provider_message_id",
            "created_at",
            "accepted_at",
            "delivered_at",
            "read_at",
            "status_changed_at",
        ]
        read_only_fields = fields


class MediaSerializer(serializers.Serializer):
    link = serializers.URLField(
        max_length=2000, help_text="A public http(s) link Meta downloads the file from."
    )
    caption = serializers.CharField(
        max_length=freeform.MAX_CAPTION, required=False, allow_blank=True, default=""
    )
    filename = serializers.CharField(
        max_length=freeform.MAX_FILENAME,
        required=False,
        allow_blank=True,
        default="",
        help_text="Documents only: the name the recipient sees.",
    )


class ReplyButtonSerializer(serializers.Serializer):
    id = serializers.CharField(
        max_length=freeform.MAX_BUTTON_ID, help_text="Returned in the reply's webhook."
    )
    title = serializers.CharField(max_length=freeform.MAX_BUTTON_TITLE)


class ButtonsSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=freeform.MAX_BUTTONS_BODY)
    header = serializers.CharField(
        max_length=freeform.MAX_HEADER_TEXT, required=False, allow_blank=True, default=""
    )
    footer = serializers.CharField(
        max_length=freeform.MAX_FOOTER, required=False, allow_blank=True, default=""
    )
    buttons = serializers.ListField(
        child=ReplyButtonSerializer(), min_length=1, max_length=freeform.MAX_BUTTONS
    )

    def validate_buttons(self, buttons: list[dict[str, str]]) -> list[dict[str, str]]:
        if len({b["title"] for b in buttons}) != len(buttons):
            raise ValidationError(_("Each button needs its own title."))
        if len({b["id"] for b in buttons}) != len(buttons):
            raise ValidationError(_("Each button needs its own id."))
        return buttons


class ListRowSerializer(serializers.Serializer):
    id = serializers.CharField(max_length=freeform.MAX_ROW_ID)
    title = serializers.CharField(max_length=freeform.MAX_ROW_TITLE)
    description = serializers.CharField(
        max_length=freeform.MAX_ROW_DESCRIPTION, required=False, allow_blank=True, default=""
    )


class ListSectionSerializer(serializers.Serializer):
    title = serializers.CharField(
        max_length=freeform.MAX_SECTION_TITLE, required=False, allow_blank=True, default=""
    )
    rows = serializers.ListField(
        child=ListRowSerializer(), min_length=1, max_length=freeform.MAX_ROWS
    )


class ListMessageSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=freeform.MAX_LIST_BODY)
    button = serializers.CharField(
        max_length=freeform.MAX_LIST_BUTTON, help_text="The label of the button that opens it."
    )
    header = serializers.CharField(
        max_length=freeform.MAX_HEADER_TEXT, required=False, allow_blank=True, default=""
    )
    footer = serializers.CharField(
        max_length=freeform.MAX_FOOTER, required=False, allow_blank=True, default=""
    )
    sections = serializers.ListField(
        child=ListSectionSerializer(), min_length=1, max_length=freeform.MAX_SECTIONS
    )

    def validate_sections(self, sections: list[dict[str, Any]]) -> list[dict[str, Any]]:
        rows = [row for section in sections for row in section["rows"]]
        if len(rows) > freeform.MAX_ROWS:
            raise ValidationError(_("At most 10 rows in all sections together."))
        if len({row["id"] for row in rows}) != len(rows):
            raise ValidationError(_("Each row needs its own id."))
        if len(sections) > 1 and not all(section["title"] for section in sections):
            raise ValidationError(_("With more than one section, every section needs a title."))
        return sections


class SendSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    """One free-form message: text, an image or document by link, reply buttons or a list.
    On a Cloud API number it is sent only inside the contact's 24-hour customer-service
    window (a 400 naming the window otherwise)."""

    to = serializers.CharField(max_length=32)
    type = serializers.ChoiceField(
        choices=["text", "image", "document", "buttons", "list"], default="text"
    )
    text = serializers.CharField(
        max_length=4096, required=False, allow_blank=True, help_text="Required for text."
    )
    image = MediaSerializer(required=False)
    document = MediaSerializer(required=False)
    buttons = ButtonsSerializer(required=False, help_text="Up to three reply buttons.")
    list = ListMessageSerializer(required=False, help_text="A menu of up to ten rows.")
    sender = serializers.UUIDField(
        required=False, help_text="A number's id; default: the fastest active one"
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        kind = attrs.get("type", "text")
        if kind == "text":
            if not (attrs.get("text") or "").strip():
                raise ValidationError({"text": [_("Write the message.")]})
            return attrs
        if not attrs.get(kind):
            raise ValidationError({kind: [_("Give the %(type)s message.") % {"type": kind}]})
        if kind == "image" and attrs["image"].get("filename"):
            raise ValidationError({"image": [_("Only documents have a file name.")]})
        return attrs

    def content(self) -> freeform.FreeFormContent | None:
        """The validated media or interactive message (None for text)."""
        data = self.validated_data
        kind = data.get("type", "text")
        return None if kind == "text" else freeform.from_json({"type": kind, **data[kind]})


class PreflightSampleSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    phone = serializers.CharField()
    name = serializers.CharField(allow_blank=True)


class RiskActionSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=["split", "slow"],
        help_text="`split`: POST the dashboard's split (parts over days); `slow`: the safe pace.",
    )
    parts = serializers.IntegerField(required=False)
    days = serializers.IntegerField(required=False)
    preset = serializers.CharField(required=False)


class RiskReasonSerializer(serializers.Serializer):
    code = serializers.ChoiceField(
        choices=[
            "audience_size",
            "new_contacts",
            "no_consent",
            "same_text",
            "pace",
            "opt_outs",
            "blocks",
            "failures",
            "quality",
            "provider",
        ]
    )
    points = serializers.IntegerField()
    text = serializers.CharField()
    suggestion = serializers.CharField(help_text="The change that lowers the score.")
    action = RiskActionSerializer(allow_null=True)


class RiskSerializer(serializers.Serializer):
    score = serializers.IntegerField(min_value=0, max_value=100)
    level = serializers.ChoiceField(choices=["low", "medium", "high"])
    reasons = RiskReasonSerializer(many=True)


class WarmupDaySerializer(serializers.Serializer):
    day = serializers.DateField()
    sends = serializers.IntegerField()


class PreflightSerializer(serializers.Serializer):
    """What launching would do (`campaign_preflight`): documents the answer of the action."""

    total = serializers.IntegerField()
    opted_out = serializers.IntegerField()
    invalid = serializers.IntegerField()
    reachable = serializers.IntegerField()
    blocking = serializers.ListField(child=serializers.CharField())
    can_launch = serializers.BooleanField()
    whatsapp_template = serializers.DictField(
        help_text="The WhatsApp template's languages and variables ({} without one)."
    )
    audience_error = serializers.CharField(allow_blank=True)
    audience_description = serializers.ListField(child=serializers.CharField())
    sample = PreflightSampleSerializer(many=True)
    credits_needed = serializers.IntegerField()
    credits_available = serializers.IntegerField()
    enough_credits = serializers.BooleanField()
    numbers_active = serializers.IntegerField()
    rate_per_second = serializers.FloatField()
    estimated_seconds = serializers.IntegerField()
    daily_cap_left = serializers.IntegerField()
    warnings = serializers.ListField(child=serializers.CharField())
    skipped_frequency_cap = serializers.IntegerField(
        help_text="Contacts the workspace's frequency cap leaves out (not queued, not charged)."
    )
    risk = RiskSerializer(help_text="The ban-risk score (0-100) with its reasons.")
    risk_needs_confirmation = serializers.BooleanField(
        help_text="Launch with `confirm_risk: true` (the score is high)."
    )
    risk_max = serializers.IntegerField(
        allow_null=True, help_text="The workspace's maximum score; launches above it are refused."
    )
    warmup_calendar = WarmupDaySerializer(
        many=True, help_text="Expected sends per day while a number warms up ([] otherwise)."
    )


# 402: the workspace's credits do not cover the send (the detail says how many are needed).
PAYMENT_REQUIRED = OpenApiResponse(
    response=inline_serializer("PaymentRequired", {"detail": serializers.CharField()}),
    description="Not enough credits: the detail says how many are needed and available.",
)


class MessageQuerySerializer(serializers.Serializer):
    campaign = serializers.UUIDField(required=False, help_text="Only this campaign's messages.")
    status = serializers.ChoiceField(
        choices=Message.Status.choices, required=False, allow_blank=True
    )


@extend_schema_view(list=extend_schema(parameters=[MessageQuerySerializer]))
class MessageViewSet(WorkspaceModelViewSet):
    """Messages of the workspace (filter with `?campaign=<id>&status=<status>`), and
    `POST` to send one message now, ahead of campaign traffic."""

    queryset = Message.objects.all()
    serializer_class = MessageSerializer
    scope_map = write_scope_map("campaigns")
    http_method_names = ["get", "post", "head", "options"]

    def safely_get_queryset(self, queryset: QuerySet[Message]) -> QuerySet[Message]:
        queryset = queryset.select_related("campaign", "sender")
        if self.action != "list":
            return queryset
        filters = validated_query(MessageQuerySerializer, self.request.query_params)
        if "campaign" in filters:
            queryset = queryset.filter(campaign__public_id=filters["campaign"])
        if "status" in filters:
            queryset = queryset.filter(status=filters["status"])
        return queryset

    @extend_schema(
        request=SendSerializer,
        responses={
            201: MessageSerializer,
            200: MessageSerializer,
            402: PAYMENT_REQUIRED,
            422: OpenApiResponse(description="The Idempotency-Key was used for another message."),
        },
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                str,
                OpenApiParameter.HEADER,
                description="The same key never sends twice: the same request again returns "
                "the first message (200); a different request under it is a 422.",
            )
        ],
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = SendSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        sender = None
        if data.validated_data.get("sender"):
            sender = (
                Sender.objects.for_workspace(self.workspace)
                .filter(public_id=data.validated_data["sender"])
                .first()
            )
            if sender is None:
                raise ValidationError({"sender": ["Unknown number."]})
        try:
            message, created = message_send(
                workspace=self.workspace,
                to=data.validated_data["to"],
                # Non-text messages carry their own words (caption, body).
                text=data.validated_data.get("text") or "" if data.content() is None else "",
                content=data.content(),
                sender=sender,
                idempotency_key=request.headers.get("Idempotency-Key") or None,
                api_key=self.api_key,
                refuse_changed_request=True,
            )
        except IdempotencyKeyReused:
            return Response(
                {
                    "detail": _(
                        "This Idempotency-Key was already used for a different message "
                        "(another recipient, number or content). Use a new key for a new message."
                    )
                },
                status=status.HTTP_422_UNPROCESSABLE_ENTITY,
            )
        except DjangoValidationError as exc:
            raise _django_errors(exc) from exc
        except InsufficientCredits as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_402_PAYMENT_REQUIRED)
        return Response(
            MessageSerializer(message).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class CampaignAudienceSerializer(serializers.Serializer):
    """The audience contract (`messaging.audience`): every filter given must hold; unknown
    keys and wrong types are field errors."""

    list_id = serializers.UUIDField(required=False, help_text="A contact list of the workspace.")
    segment_id = serializers.UUIDField(required=False, help_text="A segment of the workspace.")
    search = serializers.CharField(required=False, max_length=100)
    tags_any = serializers.ListField(child=serializers.CharField(), required=False)
    tags_all = serializers.ListField(child=serializers.CharField(), required=False)
    tags_none = serializers.ListField(child=serializers.CharField(), required=False)
    attributes = serializers.DictField(child=serializers.CharField(), required=False)
    opt_out = serializers.ChoiceField(choices=["opted_out", "subscribed"], required=False)
    whatsapp_status = serializers.ListField(child=serializers.CharField(), required=False)
    created_after = serializers.DateField(required=False)
    created_before = serializers.DateField(required=False)


class AudienceField(serializers.JSONField):
    """Validated by `audience_clean` with the request's workspace; stored in its names."""

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        workspace = self.context["workspace"]
        try:
            audience = audience_clean(workspace=workspace, data=data)
        except DjangoValidationError as exc:
            raise ValidationError(
                {
                    ("non_field_errors" if key == NON_FIELD_ERRORS else key): messages
                    for key, messages in exc.message_dict.items()
                }
            ) from exc
        return audience.as_json()


@extend_schema_field(CampaignAudienceSerializer)
class _DocumentedAudienceField(AudienceField):
    pass


class CapWaitSerializer(serializers.Serializer):
    sender = serializers.UUIDField(help_text="The number's id.")
    reason = serializers.CharField(help_text="e.g. daily limit of 1000 reached; resumes at 00:00")
    resumes_at = serializers.DateTimeField()


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": {
            "oneOf": [
                {"type": "string"},
                {
                    "type": "object",
                    "properties": {
                        "field": {"type": "string"},
                        "fallback": {"type": "string"},
                        "text": {"type": "string"},
                    },
                },
            ]
        },
        "example": {
            "1": "first_name",
            "2": {"field": "attributes.city", "fallback": "Baku"},
            "button.0": {"text": "spring"},
        },
        "description": "The template's variables: a body variable by its number or name "
        '("1", "first_name"), any slot by its key ("header.1", "body.2", "button.0" for a '
        'URL button\'s suffix); each a field name, {"field": ..., "fallback": ...} or '
        '{"text": ...}. Validated against the template\'s slots; every variable must be mapped. '
        "Shown in the stored form, keyed by slot.",
    }
)
class TemplateVariablesField(serializers.JSONField):
    pass


class CampaignSerializer(RejectUnknownFieldsMixin, serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    audience = _DocumentedAudienceField(required=False)
    template = serializers.SlugRelatedField(
        slug_field="public_id",
        queryset=MessageTemplate.objects.none(),
        required=False,
        allow_null=True,
        help_text="A message template (free text): WhatsApp-Web and sandbox numbers.",
    )
    whatsapp_template = serializers.SlugRelatedField(
        slug_field="public_id",
        queryset=WhatsAppTemplate.objects.none(),
        required=False,
        allow_null=True,
        help_text="A WhatsApp template's id (required on Cloud API numbers); its name is sent, "
        "each contact in its language's translation.",
    )
    template_variables = TemplateVariablesField(required=False)
    template_language = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=16,
        help_text="The default language (the template's own when empty).",
    )
    header_media_url = serializers.URLField(
        required=False,
        allow_blank=True,
        max_length=500,
        help_text="For a media header: the link Meta fetches (or upload the file with the "
        "dashboard's builder).",
    )
    pause_reason_text = serializers.SerializerMethodField(
        help_text="Why the campaign is paused, in words (with Meta's reason for a template)."
    )
    senders = serializers.SlugRelatedField(
        slug_field="public_id", many=True, queryset=Sender.objects.none()
    )
    waiting = serializers.SerializerMethodField(
        help_text="Numbers whose share waits for their daily cap: the number's id, the reason "
        "and when it resumes."
    )

    class Meta:
        model = Campaign
        fields = [
            "id",
            "name",
            "template",
            "whatsapp_template",
            "template_variables",
            "template_language",
            "header_media_url",
            "senders",
            "audience",
            "status",
            "pause_reason",
            "pause_detail",
            "pause_reason_text",
            "waiting",
            "scheduled_at",
            "expires_at",
            "send_window",
            "pacing",
            "recipients",
            "count_queued",
            "count_accepted",
            "count_sent",
            "count_delivered",
            "count_read",
            "count_failed",
            "count_skipped",
            "count_cancelled",
            "count_replied",
            "skipped_frequency_cap",
            "risk_score",
            "created_at",
            "launched_at",
            "finished_at",
        ]
        read_only_fields = [
            f
            for f in fields
            if f
            not in (
                "name",
                "template",
                "whatsapp_template",
                "template_variables",
                "template_language",
                "header_media_url",
                "senders",
                "audience",
                "scheduled_at",
                "expires_at",
                "send_window",
                "pacing",
            )
        ]

    @extend_schema_field(CapWaitSerializer(many=True))
    def get_waiting(self, campaign: Campaign) -> list[dict[str, Any]]:
        return [
            {
                "sender": wait["sender"].public_id,
                "reason": wait["reason"],
                "resumes_at": wait["resumes_at"],
            }
            for wait in campaign_cap_waits(campaign=campaign)
        ]

    def get_pause_reason_text(self, campaign: Campaign) -> str:
        if not campaign.pause_reason:
            return ""
        label = str(campaign.get_pause_reason_display())
        return f"{label}: {campaign.pause_detail}" if campaign.pause_detail else label

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        workspace = self.context.get("workspace")
        if workspace is not None:
            # Related ids resolve only inside the key's workspace: a foreign id is a 400.
            senders = self.fields["senders"]
            assert isinstance(senders, serializers.ManyRelatedField)
            scope_related(self.fields["template"], MessageTemplate.objects.for_workspace(workspace))
            scope_related(
                self.fields["whatsapp_template"],
                WhatsAppTemplate.objects.for_workspace(workspace),
            )
            scope_related(senders.child_relation, Sender.objects.for_workspace(workspace))


class LaunchSerializer(serializers.Serializer):
    expected_recipients = serializers.IntegerField(
        required=False,
        min_value=0,
        help_text="The pre-flight's `reachable` you confirmed: if the audience now has another "
        "count, the launch is refused (400) and nothing is reserved.",
    )
    confirm_risk = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Required (true) when the pre-flight's `risk.level` is `high`: you confirm "
        "the ban risk. Without it such a launch is refused (400). A score above the "
        "workspace's maximum (`risk_max`) is refused whatever this says.",
    )


class CampaignViewSet(WorkspaceModelViewSet):
    queryset = Campaign.objects.all()
    serializer_class = CampaignSerializer
    scope_map = write_scope_map("campaigns")
    http_method_names = ["get", "post", "patch", "head", "options"]

    def safely_get_queryset(self, queryset: QuerySet[Campaign]) -> QuerySet[Campaign]:
        return queryset.select_related("template", "whatsapp_template").prefetch_related("senders")

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "workspace": self.workspace}

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            campaign = campaign_services.campaign_create(
                workspace=self.workspace,
                actor=None,
                name=data["name"],
                template=data.get("template"),
                senders=list(data["senders"]),
                audience=data.get("audience") or {},
                scheduled_at=data.get("scheduled_at"),
                expires_at=data.get("expires_at"),
                send_window=data.get("send_window") or {},
                pacing=data.get("pacing") or {},
                whatsapp_template=data.get("whatsapp_template"),
                template_variables=data.get("template_variables") or {},
                template_language=data.get("template_language") or "",
                header_media_url=data.get("header_media_url") or "",
            )
        except DjangoValidationError as exc:
            raise _django_errors(exc) from exc
        return Response(self.get_serializer(campaign).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Edit a draft",
        description="Changes the fields given, checked as on creation; the others keep their "
        "values. Only a draft: a launched campaign is a 400 (duplicate it in the dashboard to "
        "send a changed copy). To switch between a message template and a WhatsApp template, "
        "give the new one and null for the other.",
    )
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        campaign = self.get_object()
        serializer = self.get_serializer(campaign, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data

        def given(name: str, current: Any) -> Any:
            return data.get(name, current)

        try:
            edited = campaign_services.campaign_draft_update(
                workspace=self.workspace,
                campaign=campaign,
                actor=None,
                name=given("name", campaign.name),
                template=given("template", campaign.template),
                senders=list(given("senders", campaign.senders.all())),
                audience=given("audience", audience_upgrade_legacy(campaign.audience or {})),
                scheduled_at=given("scheduled_at", campaign.scheduled_at),
                expires_at=given("expires_at", campaign.expires_at),
                send_window=given("send_window", campaign.send_window) or {},
                pacing=given("pacing", campaign.pacing) or {},
                whatsapp_template=given("whatsapp_template", campaign.whatsapp_template),
                template_variables=given("template_variables", campaign.template_variables) or {},
                template_language=given("template_language", campaign.template_language) or "",
                header_media_url=given("header_media_url", campaign.header_media_url) or "",
            )
        except DjangoValidationError as exc:
            raise _django_errors(exc) from exc
        return Response(self.get_serializer(edited).data)

    @extend_schema(responses=PreflightSerializer, summary="What launching would do")
    @action(detail=True, methods=["get"])
    def preflight(self, request: Request, public_id: str | None = None) -> Response:
        return Response(campaign_services.campaign_preflight(campaign=self.get_object()))

    def _control(self, verb: str, **options: Any) -> Response:
        handler = getattr(campaign_services, f"campaign_{verb}")
        try:
            campaign = handler(
                workspace=self.workspace, campaign=self.get_object(), actor=None, **options
            )
        except DjangoValidationError as exc:
            raise _django_errors(exc) from exc
        except InsufficientCredits as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_402_PAYMENT_REQUIRED)
        return Response(self.get_serializer(campaign).data)

    @extend_schema(
        request=LaunchSerializer, responses={200: CampaignSerializer, 402: PAYMENT_REQUIRED}
    )
    @action(detail=True, methods=["post"])
    def launch(self, request: Request, public_id: str | None = None) -> Response:
        options = LaunchSerializer(data=request.data)
        options.is_valid(raise_exception=True)
        return self._control(
            "launch",
            expected_recipients=options.validated_data.get("expected_recipients"),
            risk_confirmed=options.validated_data["confirm_risk"],
        )

    @extend_schema(request=None)
    @action(detail=True, methods=["post"])
    def pause(self, request: Request, public_id: str | None = None) -> Response:
        return self._control("pause")

    @extend_schema(request=None, responses={200: CampaignSerializer, 402: PAYMENT_REQUIRED})
    @action(detail=True, methods=["post"])
    def resume(self, request: Request, public_id: str | None = None) -> Response:
        return self._control("resume")

    @extend_schema(request=None)
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, public_id: str | None = None) -> Response:
        return self._control("cancel")
