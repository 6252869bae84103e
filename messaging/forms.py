"""Dashboard forms: input shape only. Rules and writes live in `messaging.services`."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Workspace
from messaging.models import ContactImport, MessageTemplate, WhatsAppStatus
from messaging.selectors import contact_lists_of_workspace
from messaging.services.contacts import BulkAction


class BootstrapForm(forms.Form):
    """Adds Bootstrap's classes to the widgets (the templates render fields as-is)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.style_fields()

    def style_fields(self) -> None:
        for bound in self.visible_fields():
            widget = bound.field.widget
            if isinstance(widget, forms.CheckboxInput | forms.CheckboxSelectMultiple):
                continue
            if isinstance(widget, forms.RadioSelect):
                continue
            css = "form-select" if isinstance(widget, forms.Select) else "form-control"
            widget.attrs.setdefault(
                "class",
                f"{css} form-control-sm" if css == "form-control" else f"{css} form-select-sm",
            )


class WorkspaceListChoiceField(forms.ModelChoiceField):
    """A list picker whose choices are the request's workspace's lists only (never .all())."""

    def label_from_instance(self, obj: Any) -> str:
        return obj.name


def _list_field(workspace: Workspace, *, required: bool = False) -> WorkspaceListChoiceField:
    return WorkspaceListChoiceField(
        queryset=contact_lists_of_workspace(workspace=workspace),
        required=required,
        to_field_name="public_id",
        label=_("List"),
    )


class ContactForm(BootstrapForm):
    phone = forms.CharField(label=_("Phone"), max_length=40)
    first_name = forms.CharField(label=_("First name"), max_length=100, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=100, required=False)
    language = forms.CharField(label=_("Language"), max_length=16, required=False)
    time_zone = forms.CharField(label=_("Time zone"), max_length=64, required=False)
    tags = forms.CharField(
        label=_("Tags"), required=False, help_text=_("Separate tags with commas.")
    )
    attributes = forms.CharField(
        label=_("Attributes"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One per line: name = value (e.g. city = Baku)."),
    )

    def clean_attributes(self) -> dict[str, str]:
        result: dict[str, str] = {}
        for line in self.cleaned_data["attributes"].splitlines():
            if not line.strip():
                continue
            name, sep, value = line.partition("=")
            if not sep:
                raise forms.ValidationError(_("Write each attribute as name = value."))
            result[name.strip()] = value.strip()
        return result


class ContactFilterForm(BootstrapForm):
    """The contacts page's query string; the keys are `selectors.contact_filter_q`'s."""

    search = forms.CharField(required=False, label=_("Search"))
    tags_any = forms.CharField(required=False, label=_("Tag"))
    list_id = forms.UUIDField(required=False, label=_("List"))
    attribute = forms.CharField(required=False, label=_("Attribute"))
    attribute_value = forms.CharField(required=False, label=_("Value"))
    opt_out = forms.ChoiceField(
        required=False,
        label=_("Subscription"),
        choices=[("", _("All")), ("subscribed", _("Subscribed")), ("opted_out", _("Opted out"))],
    )
    whatsapp_status = forms.ChoiceField(
        required=False,
        label=_("WhatsApp"),
        choices=[("", _("Any")), *WhatsAppStatus.choices],
    )

    def filters(self) -> dict[str, Any]:
        if not self.is_valid():
            return {}
        data = self.cleaned_data
        filters: dict[str, Any] = {
            key: data[key]
            for key in ("search", "tags_any", "list_id", "opt_out", "whatsapp_status")
            if data.get(key)
        }
        if data.get("attribute"):
            filters["attributes"] = {data["attribute"]: data.get("attribute_value") or ""}
        return filters


class BulkActionForm(BootstrapForm):
    action = forms.ChoiceField(
        choices=[
            (BulkAction.TAG, _("Add tag")),
            (BulkAction.UNTAG, _("Remove tag")),
            (BulkAction.ADD_TO_LIST, _("Add to list")),
            (BulkAction.OPT_OUT, _("Opt out")),
            (BulkAction.DELETE, _("Delete")),
        ]
    )
    contact_ids = forms.CharField(required=False)
    select_all = forms.BooleanField(required=False)
    tag = forms.CharField(required=False, max_length=64)

    def __init__(self, *args: Any, workspace: Workspace, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["contact_list"] = _list_field(workspace)
        self.style_fields()


class ContactListForm(BootstrapForm):
    name = forms.CharField(label=_("Name"), max_length=120)
    description = forms.CharField(label=_("Description"), max_length=255, required=False)


class SegmentForm(BootstrapForm):
    name = forms.CharField(label=_("Name"), max_length=120)
    tags_any = forms.CharField(label=_("Has any of these tags"), required=False)
    tags_all = forms.CharField(label=_("Has all of these tags"), required=False)
    tags_none = forms.CharField(label=_("Has none of these tags"), required=False)
    attribute = forms.CharField(label=_("Attribute"), required=False)
    attribute_value = forms.CharField(label=_("equals"), required=False)
    opt_out = forms.ChoiceField(
        label=_("Subscription"),
        required=False,
        choices=[("", _("All")), ("subscribed", _("Subscribed")), ("opted_out", _("Opted out"))],
    )
    whatsapp_status = forms.MultipleChoiceField(
        label=_("WhatsApp status"),
        required=False,
        choices=WhatsAppStatus.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    created_after = forms.DateField(
        label=_("Created on or after"), required=False, widget=forms.DateInput({"type": "date"})
    )
    created_before = forms.DateField(
        label=_("Created on or before"), required=False, widget=forms.DateInput({"type": "date"})
    )

    def filters(self) -> dict[str, Any]:
        data = self.cleaned_data
        filters: dict[str, Any] = {}
        for key in ("tags_any", "tags_all", "tags_none"):
            if data.get(key):
                filters[key] = [t.strip() for t in data[key].split(",") if t.strip()]
        if data.get("attribute"):
            filters["attributes"] = {data["attribute"].strip(): data.get("attribute_value") or ""}
        for key in ("opt_out", "whatsapp_status"):
            if data.get(key):
                filters[key] = data[key]
        for key in ("created_after", "created_before"):
            if data.get(key):
                filters[key] = data[key].isoformat()
        return filters

    @staticmethod
    def initial_from(name: str, filters: dict[str, Any]) -> dict[str, Any]:
        initial: dict[str, Any] = {"name": name}
        for key in ("tags_any", "tags_all", "tags_none"):
            initial[key] = ", ".join(filters.get(key, []))
        if filters.get("attributes"):
            key, value = next(iter(filters["attributes"].items()))
            initial.update(attribute=key, attribute_value=value)
        for key in ("opt_out", "whatsapp_status", "created_after", "created_before"):
            if filters.get(key):
                initial[key] = filters[key]
        return initial


class ImportUploadForm(BootstrapForm):
    file = forms.FileField(
        label=_("CSV or Excel (.xlsx) file"),
        help_text=_("The first sheet of a workbook is read. Up to 50 MB."),
    )


class ImportOptionsForm(BootstrapForm):
    """Column mapping and options. Mapping fields are built from the file's columns."""

    has_header = forms.BooleanField(label=_("The first row is a header"), required=False)
    default_country = forms.CharField(
        label=_("Country for numbers without a country code"), max_length=2
    )
    on_existing = forms.ChoiceField(
        label=_("Contacts already in the workspace"),
        choices=ContactImport.OnExisting.choices,
        widget=forms.RadioSelect,
    )
    tags = forms.CharField(label=_("Tag every imported contact with"), required=False)
    consent_source = forms.CharField(
        label=_("How did these contacts give consent?"),
        max_length=120,
        required=False,
        help_text=_("For example: website sign-up form, in-store registration."),
    )
    consent_confirmed = forms.BooleanField(
        label=_(
            "I confirm that these contacts were obtained lawfully and agreed to receive "
            "WhatsApp messages from us."
        ),
        required=True,
        error_messages={
            "required": _("Confirm that these contacts agreed to receive messages from you.")
        },
    )

    ROLES = (
        ("", _("Skip")),
        ("phone", _("Phone")),
        ("first_name", _("First name")),
        ("last_name", _("Last name")),
        ("language", _("Language")),
        ("tags", _("Tags")),
        ("opted_out", _("Opted out (yes/no)")),
        ("attribute", _("Attribute")),
    )

    def __init__(
        self, *args: Any, workspace: Workspace, contact_import: ContactImport, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        assert contact_import.workspace_id == workspace.pk
        self.contact_import = contact_import
        self.fields["contact_list"] = _list_field(workspace)
        self.fields["contact_list"].label = _("Add the contacts to a list")
        roles = self._initial_roles()
        for index, name in enumerate(contact_import.columns):
            self.fields[f"col_{index}"] = forms.ChoiceField(
                label=name, choices=self.ROLES, required=False, initial=roles.get(index, "")
            )
        self.style_fields()

    def _initial_roles(self) -> dict[int, str]:
        mapping = self.contact_import.mapping or {}
        roles: dict[int, str] = {}
        for role in ("phone", "first_name", "last_name", "language", "tags", "opted_out"):
            if isinstance(mapping.get(role), int):
                roles[mapping[role]] = role
        for index in (mapping.get("attributes") or {}).values():
            roles.setdefault(index, "attribute")
        return roles

    def column_fields(self) -> list[tuple[forms.BoundField, list[str]]]:
        samples = self.contact_import.preview_rows
        return [
            (
                self[f"col_{i}"],
                [row[i] if i < len(row) else "" for row in samples[:3]],
            )
            for i in range(len(self.contact_import.columns))
        ]

    def mapping(self) -> dict[str, Any]:
        """Roles per column -> the service's mapping; a role chosen twice keeps the first."""
        mapping: dict[str, Any] = {"attributes": {}}
        for index, name in enumerate(self.contact_import.columns):
            role = self.cleaned_data.get(f"col_{index}") or ""
            if role == "attribute":
                mapping["attributes"][name] = index
            elif role and role not in mapping:
                mapping[role] = index
        return mapping


class TemplateForm(BootstrapForm):
    name = forms.CharField(label=_("Name"), max_length=120)
    variant_texts = forms.CharField(
        label=_("Message"),
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_(
            "Variables: {{first_name}}, {{last_name}}, {{attr.city}} or {{city}}; a fallback: "
            "{{first_name|friend}}; alternatives: {Hi|Hello|Salam}. Separate variants (rotated "
            "across recipients) with a line holding only ---."
        ),
    )
    footer = forms.CharField(label=_("Footer"), max_length=60, required=False)
    media_type = forms.ChoiceField(
        label=_("Media"), choices=MessageTemplate.MediaType.choices, required=False
    )
    media_url = forms.URLField(
        label=_("Media URL (https)"), required=False, max_length=500, assume_scheme="https"
    )
    wa_template_name = forms.CharField(
        label=_("Approved Meta template name (Cloud API numbers)"), required=False
    )
    wa_language = forms.CharField(label=_("Meta template language"), required=False)
    wa_category = forms.ChoiceField(
        label=_("Meta template category"),
        choices=[("", "—"), *MessageTemplate.Category.choices],
        required=False,
    )
    wa_parameters = forms.CharField(
        label=_("Parameters {{1}}, {{2}}, ... (our variables, comma-separated)"),
        required=False,
        help_text=_("For example: first_name|friend, attr.city"),
    )
    wa_status = forms.ChoiceField(
        label=_("Approval status"), choices=MessageTemplate.ApprovalStatus.choices, required=False
    )

    def variants(self) -> list[str]:
        raw = (self.data.get("variant_texts") or "").replace("\r\n", "\n")
        parts = re.split(r"^\s*---\s*$", raw, flags=re.MULTILINE)
        return [part.strip() for part in parts if part.strip()]

    @staticmethod
    def initial_from(template: MessageTemplate) -> dict[str, Any]:
        return {
            "name": template.name,
            "variant_texts": "\n---\n".join(template.variants),
            "footer": template.footer,
            "media_type": template.media_type,
            "media_url": template.media_url,
            "wa_template_name": template.wa_template_name,
            "wa_language": template.wa_language,
            "wa_category": template.wa_category,
            "wa_parameters": ", ".join(template.wa_parameters),
            "wa_status": template.wa_status,
        }


class AnalyticsFilterForm(forms.Form):
    """The analytics scope: a date range in the workspace's time zone and optional filters.
    Choices are limited to the workspace, so another tenant's id is a form error."""

    date_from = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))
    sender = forms.ModelChoiceField(
        label=_("Number"), queryset=None, required=False, to_field_name="public_id"
    )
    campaign = forms.ModelChoiceField(
        label=_("Campaign"), queryset=None, required=False, to_field_name="public_id"
    )
    template = forms.ModelChoiceField(
        label=_("Template"), queryset=None, required=False, to_field_name="public_id"
    )

    def __init__(self, *args: Any, workspace: Workspace, **kwargs: Any) -> None:
        from messaging.models_engine import Campaign
        from messaging.models_senders import Sender

        super().__init__(*args, **kwargs)
        self.fields["sender"].queryset = Sender.objects.for_workspace(workspace).order_by("id")
        self.fields["campaign"].queryset = Campaign.objects.for_workspace(workspace).order_by(
            "-created_at"
        )
        self.fields["template"].queryset = MessageTemplate.objects.for_workspace(
            workspace
        ).order_by("name")
        for name in ("sender", "campaign", "template"):
            self.fields[name].empty_label = _("All")
            self.fields[name].widget.attrs["class"] = "form-select"
        for name in ("date_from", "date_to"):
            self.fields[name].widget.attrs["class"] = "form-control"

    def clean(self) -> dict[str, Any]:
        from messaging.selectors_stats import MAX_RANGE_DAYS

        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end:
            if start > end:
                self.add_error("date_to", _("The end date is before the start date."))
            elif (end - start).days >= MAX_RANGE_DAYS:
                self.add_error("date_to", _("Choose at most %(n)d days.") % {"n": MAX_RANGE_DAYS})
        return data
