"""Dashboard forms: input shape only. Rules and writes live in `automation.services`.

Every related field's choices are the request's workspace's own objects, so another
workspace's number, template or list is an "invalid choice" form error."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Workspace
from automation.models import AutomationRule, MatchKind
from automation.selectors import live_senders_of_workspace
from core.forms import BootstrapForm
from messaging.contacts.forms import WorkspaceListChoiceField
from messaging.contacts.selectors import contact_lists_of_workspace
from messaging.content.selectors import templates_of_workspace


class _NamedChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return str(obj)


class RuleForm(BootstrapForm):
    name = forms.CharField(label=_("Name"), max_length=120)
    sender = _NamedChoiceField(
        label=_("Number"),
        queryset=None,
        required=False,
        to_field_name="public_id",
        empty_label=_("Any number of this workspace"),
    )
    match_kind = forms.ChoiceField(label=_("Match"), choices=MatchKind.choices)
    keywords = forms.CharField(
        label=_("Keywords"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "Separate keywords with commas or new lines. Case, accents and punctuation are "
            "ignored: “qiymət” also matches “QIYMET!”."
        ),
    )
    pattern = forms.CharField(
        label=_("Pattern"),
        required=False,
        max_length=200,
        help_text=_("Only for “matches a pattern”: a regular expression, case ignored."),
    )
    reply_template = _NamedChoiceField(
        label=_("Reply with template"),
        queryset=None,
        required=False,
        to_field_name="public_id",
        empty_label=_("No reply"),
    )
    tags = forms.CharField(
        label=_("Add tags"), required=False, help_text=_("Separate tags with commas.")
    )
    contact_list = WorkspaceListChoiceField(
        label=_("Add to list"),
        queryset=None,
        required=False,
        to_field_name="public_id",
        empty_label=_("No list"),
    )
    priority = forms.IntegerField(
        label=_("Priority"),
        initial=0,
        min_value=-1000,
        max_value=1000,
        help_text=_("Rules with a higher priority are checked first."),
    )
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)
    stop_after_match = forms.BooleanField(
        label=_("Stop here when this rule matches"), required=False, initial=True
    )

    def __init__(self, *args: Any, workspace: Workspace, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["sender"].queryset = live_senders_of_workspace(workspace=workspace)  # type: ignore[attr-defined]
        self.fields["reply_template"].queryset = templates_of_workspace(workspace=workspace)  # type: ignore[attr-defined]
        self.fields["contact_list"].queryset = contact_lists_of_workspace(workspace=workspace)  # type: ignore[attr-defined]

    @staticmethod
    def initial_from(rule: AutomationRule) -> dict[str, Any]:
        return {
            "name": rule.name,
            "sender": rule.sender.public_id if rule.sender else None,
            "match_kind": rule.match_kind,
            "keywords": "\n".join(rule.keywords),
            "pattern": rule.pattern,
            "reply_template": rule.reply_template.public_id if rule.reply_template else None,
            "tags": ", ".join(rule.tags),
            "contact_list": rule.contact_list.public_id if rule.contact_list else None,
            "priority": rule.priority,
            "active": rule.active,
            "stop_after_match": rule.stop_after_match,
        }


class RuleTestForm(BootstrapForm):
    text = forms.CharField(
        label=_("Message"), max_length=4096, widget=forms.Textarea(attrs={"rows": 2})
    )
    sender = _NamedChoiceField(
        label=_("Received on"),
        queryset=None,
        required=False,
        to_field_name="public_id",
        empty_label=_("Any number"),
    )

    def __init__(self, *args: Any, workspace: Workspace, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["sender"].queryset = live_senders_of_workspace(workspace=workspace)  # type: ignore[attr-defined]
