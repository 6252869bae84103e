"""Contacts, lists and segments over /api/v1/ (thin: every rule is in
`messaging.contacts.services`). The API key fixes the workspace; another workspace's id is a 404."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api_base import (
    RejectUnknownFieldsMixin,
    WorkspaceModelViewSet,
    unknown_fields_errors,
    write_scope_map,
)
from core.api import call_service, validated_query
from messaging.contacts import selectors, services
from messaging.contacts.models import Contact, ContactList, OptOutSource, Segment


class ContactSerializer(RejectUnknownFieldsMixin, serializers.ModelSerializer):
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
    # Blank while the contact is opted in: "" is one of the documented values.
    opt_out_source = serializers.ChoiceField(
        choices=OptOutSource.choices, allow_blank=True, read_only=True
    )

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


class BulkUpsertSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
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


class ContactQuerySerializer(serializers.Serializer):
    """The list's filters: a value outside the documented ones is a 400 naming it."""

    search = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="A name in any spelling (Azerbaijani letters and accents fold: "
        "'shirinova', 'şirinova' and 'sirinova' all find 'Şirinova'), a whole phone number "
        "in any shape, or phone digits",
    )
    tag = serializers.CharField(required=False, allow_blank=True, help_text="Has this tag")
    list = serializers.CharField(
        required=False, allow_blank=True, help_text="Member of this list (id)"
    )
    opt_out = serializers.ChoiceField(
        choices=["opted_out", "subscribed"], required=False, allow_blank=True
    )
    whatsapp_status = serializers.ChoiceField(
        choices=["unknown", "valid", "invalid"], required=False, allow_blank=True
    )


_CONTACT_FILTERS = [ContactQuerySerializer]


@extend_schema(tags=["contacts"])
class ContactViewSet(WorkspaceModelViewSet):
    """Contacts: CRUD, bulk upsert (up to 1,000 per call), opt-out and opt-in."""

    queryset = Contact.objects.all()
    serializer_class = ContactSerializer
    scope_map = write_scope_map("contacts")

    def safely_get_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        params = validated_query(ContactQuerySerializer, self.request.query_params)
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
        methods=["GET"],
        request=None,
        responses={200: inline_serializer("BulkLimits", {"max_items": serializers.IntegerField()})},
        summary="The bulk upsert's limits (how many contacts one call may carry)",
    )
    @extend_schema(
        methods=["POST"],
        request=BulkUpsertSerializer,
        responses={200: BulkUpsertResultSerializer(many=True)},
        summary="Create or update up to 1,000 contacts (all-or-nothing on validation)",
    )
    @action(detail=False, methods=["get", "post"], url_path="bulk", pagination_class=None)
    def bulk(self, request: Request) -> Response:
        """GET describes the limits; POST upserts. One invalid item is a 400 keyed by item
        index (`{"contacts": {"3": {"phone": [...]}}}`) and nothing is written."""
        if request.method == "GET":
            return Response({"max_items": services.MAX_BULK_UPSERT})
        payload = BulkUpsertSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        writable = {name for name, f in ContactSerializer().fields.items() if not f.read_only}
        if unknown := unknown_fields_errors(payload.validated_data["contacts"], writable):
            raise serializers.ValidationError({"contacts": unknown})
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


class ContactListSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    size = serializers.SerializerMethodField(help_text="How many contacts the list holds.")

    class Meta:
        model = ContactList
        fields = ["id", "name", "description", "size", "created_at"]
        read_only_fields = ["created_at"]

    def get_size(self, contact_list: ContactList) -> int:
        # Lists read through the viewset carry the count (annotated); one just created or
        # renamed by a service does not, and is counted here (one row: one query).
        size = getattr(contact_list, "size", None)
        if size is None:
            size = contact_list.contactlistmembership_set.count()
        return int(size)


class MembershipSerializer(serializers.Serializer):
    contacts = serializers.ListField(child=serializers.UUIDField(), max_length=10_000)


@extend_schema(tags=["contacts"])
class ContactListViewSet(WorkspaceModelViewSet):
    """Static lists and their membership."""

    queryset = ContactList.objects.all()
    serializer_class = ContactListSerializer
    scope_map = write_scope_map("contacts")

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
        assert instance is not None  # an update always has its object
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
        assert instance is not None  # an update always has its object
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
