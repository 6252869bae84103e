"""Import wizard forms: input shape only."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import Workspace
from core.countries import phone_country_choices
from core.forms import BootstrapForm
from messaging.contacts.forms import workspace_list_field
from messaging.contacts.selectors import contact_attribute_keys
from messaging.imports.headers import FIELD_ROLES, FULL_NAME_ROLES, split_full_name
from messaging.imports.models import ContactImport
from messaging.imports.services import import_attribute_key


class ImportUploadForm(BootstrapForm):
    file = forms.FileField(
        label=_("CSV or Excel (.xlsx) file"),
        help_text=_("The first sheet of a workbook is read. Up to 50 MB."),
    )


class ImportOptionsForm(BootstrapForm):
    """Column mapping and options. Mapping fields are built from the file's columns."""

    has_header = forms.BooleanField(label=_("The first row is a header"), required=False)
    default_country = forms.ChoiceField(
        label=_("Country for numbers without a country code"), choices=phone_country_choices
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
        ("full_name", _("Full name: first name, then surname")),
        ("full_name_surname_first", _("Full name: surname, then first name")),
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
        self.fields["contact_list"] = workspace_list_field(workspace, empty_label=_("No list"))
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
        for role in FIELD_ROLES:
            if isinstance(mapping.get(role), int):
                roles[mapping[role]] = role
        for index in (mapping.get("attributes") or {}).values():
            roles.setdefault(index, "attribute")
        return roles

    def column_fields(self) -> list[tuple[forms.BoundField, list[str], dict[str, str]]]:
        """Per column: its role field, its first values, and what the role chosen does with
        them (the page shows the hint of the role chosen): how the first value splits under
        each full-name role, and the template variable an attribute column becomes."""
        samples = self.contact_import.preview_rows
        known = contact_attribute_keys(workspace=self.contact_import.workspace, limit=1000)
        columns = []
        for i, name in enumerate(self.contact_import.columns):
            values = [row[i] if i < len(row) else "" for row in samples[:3]]
            hints = _split_examples(values)
            if key := import_attribute_key(str(name), known_keys=known):
                hints["attribute"] = gettext("In templates: %(variable)s") % {
                    "variable": "{{" + key + "}}"
                }
            columns.append((self[f"col_{i}"], values, hints))
        return columns

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


def _split_examples(values: list[str]) -> dict[str, str]:
    """How the column's first whole name (two words or more) splits, per full-name role."""
    sample = next((value for value in values if len(str(value).split()) > 1), "")
    if not sample:
        sample = next((value for value in values if str(value).strip()), "")
    if not sample:
        return {}
    examples = {}
    for role in FULL_NAME_ROLES:
        first, last = split_full_name(str(sample), surname_first=role != "full_name")
        examples[role] = gettext("“%(value)s” → first name “%(first)s”, last name “%(last)s”") % {
            "value": sample,
            "first": first,
            "last": last or "—",
        }
    return examples
