"""Contacts, lists, segments, imports and templates over /api/v1/ (thin: every rule is in
`messaging.services`). The API key fixes the workspace; another workspace's id is a 404.

Service `ValidationError`s become 400s with a message per field, and services validate before
writing, so a rejected request writes nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api_base import WorkspaceModelViewSet, WorkspaceViewSetMixin, write_scope_map
from messaging import selectors, services
from messaging.models import (
    Contact,
    ContactImport,
    ContactList,
    MessageTemplate,
    OptOutSource,
    Segment,
)

T = TypeVar("T")


def call_service(fn: Callable[..., T], /, **kwargs: Any) -> T:
    """Run a service; its ValidationError becomes DRF's 400 with field messages."""
    try:
        return fn(**kwargs)
    except DjangoValidationError as exc:
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        raise serializers.ValidationError(detail) from exc


# --- contacts ----------------------------------------------------------------------------------


class ContactSerializer(serializers.ModelSerializer):
    # Loose shapes here: the service validates every field at once and answers with all of
    # the messages (a serializer would stop at the first failing field's own rules).
    id = serializers.UUIDField(source="public_id", read_only=True)
    phone = serializers.CharField(max_length=40)
    first_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    last_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    language = serializers.CharField(max_length=100, required=False, allow_blank=True)
    country = serializers.CharField(max_length=100, required=False, allow_blank=True)
    time_zone = serializers.CharField(max_length=100, required=False, allow_blank=True)
    tags = serializers.ListField(child=serializers.CharField(max_length=64), required=False)
    attributes = serializers.DictField(required=False)

    class Meta:
        model = Contact
        fields = [
            "id",
            "phone",
            "first_name",
            "last_name",
            "language",
            "country",
            "time_zone",
            "attributes",
            "tags",
            "consent_source",
            "consent_at",
            "opted_out_at",
            "opt_out_source",
            "opt_out_reason",
            "whatsapp_status",
            "whatsapp_error",
            "created_via",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "consent_at",
            "opted_out_at",
            "opt_out_source",
            "opt_out_reason",
            "whatsapp_status",
            "whatsapp_error",
            "created_via",
            "created_at",
            "updated_at",
        ]


class BulkUpsertSerializer(serializers.Serializer):
    contacts = serializers.ListField(
        child=serializers.DictField(), max_length=services.MAX_BULK_UPSERT, allow_empty=False
    )
    consent_source = serializers.CharField(max_length=120, required=False, allow_blank=True)


class BulkUpsertResultSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    phone = serializers.CharField()
    status = serializers.ChoiceField(choices=["created", "updated", "unchanged", "merged"])
    id = serializers.UUIDField(source="public_id")


class OptOutSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=255, required=False, allow_blank=True)


class OptInSerializer(serializers.Serializer):
    consent_source = serializers.CharField(max_length=120)


_CONTACT_FILTERS = [
    OpenApiParameter(
        "search", str, description="A name, a whole phone number in any shape, or phone digits"
    ),
    OpenApiParameter("tag", str, description="Has this tag"),
    OpenApiParameter("list", str, description="Member of this list (id)"),
    OpenApiParameter("opt_out", str, enum=["opted_out", "subscribed"]),
    OpenApiParameter("whatsapp_status", str, enum=["unknown", "valid", "invalid"]),
]


@extend_schema(tags=["contacts"])
class ContactViewSet(WorkspaceModelViewSet):
    """Contacts: CRUD, bulk upsert (up to 1,000 per call), opt-out and opt-in."""

    queryset = Contact.objects.all()
    serializer_class = ContactSerializer
    scope_map = write_scope_map("contacts")

    def safely_get_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        params = self.request.query_params
        filters: dict[str, Any] = {
            "search": params.get("search", ""),
            "tags_any": [params["tag"]] if params.get("tag") else [],
            "list_id": params.get("list") or None,
            "opt_out": params.get("opt_out", ""),
            "whatsapp_status": [params["whatsapp_status"]] if params.get("whatsapp_status") else [],
        }
        try:
            return queryset.filter(
                selectors.contact_filter_q(filters, default_country=self.workspace.default_country)
            )
        except DjangoValidationError as exc:
            raise serializers.ValidationError({"list": exc.messages}) from exc

    @extend_schema(parameters=_CONTACT_FILTERS)
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        serializer.instance = call_service(
            services.contact_create,
            workspace=self.workspace,
            data=serializer.validated_data,
            created_via="api",
            consent_source=serializer.validated_data.pop("consent_source", ""),
        )

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        data = dict(serializer.validated_data)
        data.pop("consent_source", None)
        serializer.instance = call_service(
            services.contact_update,
            workspace=self.workspace,
            contact=serializer.instance,
            data=data,
        )

    def perform_destroy(self, instance: Contact) -> None:
        services.contact_delete(workspace=self.workspace, contact=instance)

    @extend_schema(
        request=BulkUpsertSerializer,
        responses={200: BulkUpsertResultSerializer(many=True)},
        summary="Create or update up to 1,000 contacts (all-or-nothing on validation)",
    )
    @action(detail=False, methods=["get", "post"], url_path="bulk")
    def bulk(self, request: Request) -> Response:
        """GET describes the limits; POST upserts. One invalid item is a 400 keyed by item
        index (`{"contacts": {"3": {"phone": [...]}}}`) and nothing is written."""
        if request.method == "GET":
            return Response({"max_items": services.MAX_BULK_UPSERT})
        payload = BulkUpsertSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            results = call_service(
                services.contacts_bulk_upsert,
                workspace=self.workspace,
                items=payload.validated_data["contacts"],
                consent_source=payload.validated_data.get("consent_source", ""),
            )
        except services.BulkItemsInvalid as exc:
            raise serializers.ValidationError({"contacts": exc.errors}) from exc
        return Response(BulkUpsertResultSerializer(results, many=True).data)

    @extend_schema(request=OptOutSerializer, responses=ContactSerializer)
    @action(detail=True, methods=["post"], url_path="opt-out")
    def opt_out(self, request: Request, public_id: str | None = None) -> Response:
        contact = self.get_object()
        payload = OptOutSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        contact = services.contact_opt_out(
            workspace=self.workspace,
            contact=contact,
            source=OptOutSource.API,
            reason=payload.validated_data.get("reason", ""),
        )
        return Response(ContactSerializer(contact).data)

    @extend_schema(request=OptInSerializer, responses=ContactSerializer)
    @action(detail=True, methods=["post"], url_path="opt-in")
    def opt_in(self, request: Request, public_id: str | None = None) -> Response:
        contact = self.get_object()
        payload = OptInSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        contact = call_service(
            services.contact_opt_in,
            workspace=self.workspace,
            contact=contact,
            consent_source=payload.validated_data["consent_source"],
            api_key=request.auth,
        )
        return Response(ContactSerializer(contact).data)


# --- lists -------------------------------------------------------------------------------------


class ContactListSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    size = serializers.IntegerField(read_only=True, default=None)

    class Meta:
        model = ContactList
        fields = ["id", "name", "description", "size", "created_at"]
        read_only_fields = ["created_at"]


class MembershipSerializer(serializers.Serializer):
    contacts = serializers.ListField(child=serializers.UUIDField(), max_length=10_000)


@extend_schema(tags=["contacts"])
class ContactListViewSet(WorkspaceModelViewSet):
    """Static lists and their membership."""

    queryset = ContactList.objects.all()
    serializer_class = ContactListSerializer
    scope_map = write_scope_map("contacts")
    cursor_ordering = ("-created_at", "-id")

    def safely_get_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        from django.db.models import Count

        return queryset.annotate(size=Count("contactlistmembership"))

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        serializer.instance = call_service(
            services.contact_list_create, workspace=self.workspace, **serializer.validated_data
        )

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        data = serializer.validated_data
        instance = serializer.instance
        serializer.instance = call_service(
            services.contact_list_update,
            workspace=self.workspace,
            contact_list=instance,
            name=data.get("name", instance.name),
            description=data.get("description", instance.description),
        )

    def perform_destroy(self, instance: ContactList) -> None:
        services.contact_list_delete(workspace=self.workspace, contact_list=instance)

    @extend_schema(
        request=MembershipSerializer,
        responses=inline_serializer("MembershipChange", {"changed": serializers.IntegerField()}),
        summary="Add (POST) or remove (DELETE) contacts; unknown or foreign ids are ignored",
    )
    @action(detail=True, methods=["post", "delete"], url_path="contacts")
    def contacts(self, request: Request, public_id: str | None = None) -> Response:
        contact_list = self.get_object()
        payload = MembershipSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        selection = selectors.contacts_by_public_ids(
            workspace=self.workspace, contact_ids=payload.validated_data["contacts"]
        )
        service = (
            services.contact_list_add_contacts
            if request.method == "POST"
            else services.contact_list_remove_contacts
        )
        changed = service(workspace=self.workspace, contact_list=contact_list, contacts=selection)
        return Response({"changed": changed})


# --- segments ----------------------------------------------------------------------------------


class SegmentSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    filters = serializers.DictField(required=False)

    class Meta:
        model = Segment
        fields = ["id", "name", "filters", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]


class AudienceSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    opted_out = serializers.IntegerField()
    invalid = serializers.IntegerField()
    reachable = serializers.IntegerField()


@extend_schema(tags=["contacts"])
class SegmentViewSet(WorkspaceModelViewSet):
    """Saved filters over tags, attributes, opt-out, WhatsApp status and dates."""

    queryset = Segment.objects.all()
    serializer_class = SegmentSerializer
    scope_map = write_scope_map("contacts")

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        data = serializer.validated_data
        serializer.instance = call_service(
            services.segment_create,
            workspace=self.workspace,
            name=data["name"],
            filters=data.get("filters", {}),
        )

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        data = serializer.validated_data
        instance = serializer.instance
        serializer.instance = call_service(
            services.segment_update,
            workspace=self.workspace,
            segment=instance,
            name=data.get("name", instance.name),
            filters=data.get("filters", instance.filters),
        )

    def perform_destroy(self, instance: Segment) -> None:
        services.segment_delete(workspace=self.workspace, segment=instance)

    @extend_schema(responses=AudienceSerializer, summary="Who the segment reaches now")
    @action(detail=True, methods=["get"], url_path="audience")
    def audience(self, request: Request, public_id: str | None = None) -> Response:
        segment = self.get_object()
        counts = selectors.audience_preview(workspace=self.workspace, filters=segment.filters)
        return Response(AudienceSerializer(counts).data)


# --- imports -----------------------------------------------------------------------------------


class ContactImportSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    progress = serializers.IntegerField(source="progress_percent", read_only=True)
    report = serializers.SerializerMethodField()
    contact_list = serializers.UUIDField(source="contact_list.public_id", read_only=True)

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
        "Omitted: the guess from the header is used.",
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
    message = serializers.CharField()
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
                contact_list = selectors.get_contact_list_for_workspace(
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

    @extend_schema(
        responses=inline_serializer(
            "Rejections",
            {"count": serializers.IntegerField(), "results": RejectionSerializer(many=True)},
        ),
        summary="Rows not imported, by line (the first 1,000; the dashboard offers all as CSV)",
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

    @action(detail=True, methods=["get"], url_path="rejections", pagination_class=None)
    def rejections(self, request: Request, public_id: str | None = None) -> Response:
        contact_import = self.get_object()
        rows = selectors.contact_import_rejections(
            workspace=self.workspace, contact_import=contact_import
        )
        return Response(
            {
                "count": rows.count(),
                "results": RejectionSerializer(rows[:1000], many=True).data,
            }
        )


# --- templates ---------------------------------------------------------------------------------


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
            api_key=self.request.auth,
        )

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        serializer.instance = call_service(
            services.template_update,
            workspace=self.workspace,
            template=serializer.instance,
            data=serializer.validated_data,
            api_key=self.request.auth,
        )

    def perform_destroy(self, instance: MessageTemplate) -> None:
        services.template_delete(
            workspace=self.workspace, template=instance, api_key=self.request.auth
        )

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
