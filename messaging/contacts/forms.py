"""Contact, list and segment forms: input shape only. Rules and writes live in
`messaging.contacts.services`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Workspace
from core.forms import BootstrapForm, LocalDateInput
from messaging.contacts.models import WhatsAppStatus
from messaging.contacts.selectors import contact_lists_of_workspace
from messaging.contacts.services import BulkAction

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


class WorkspaceListChoiceField(forms.ModelChoiceField):
    """A list picker whose choices are the request's workspace's lists only (never .all())."""

    def label_from_instance(self, obj: Any) -> str:
        return obj.name


def workspace_list_field(
    workspace: Workspace, *, empty_label: StrOrPromise, required: bool = False
) -> WorkspaceListChoiceField:
    """`empty_label` says what choosing no list means here (never Django's "---------")."""
    return WorkspaceListChoiceField(
        queryset=contact_lists_of_workspace(workspace=workspace),
        required=required,
        to_field_name="public_id",
        label=_("List"),
        empty_label=empty_label,
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
        self.fields["contact_list"] = workspace_list_field(
            workspace, empty_label=_("Choose a list")
        )
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
        label=_("Created on or after"), required=False, widget=LocalDateInput()
    )
    created_before = forms.DateField(
        label=_("Created on or before"), required=False, widget=LocalDateInput()
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
