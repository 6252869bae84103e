"""Analytics filter form: input shape only; the selectors apply it."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.models import Workspace
from core.forms import LocalDateInput
from core.queries import by_name
from messaging.analytics.selectors import MAX_RANGE_DAYS
from messaging.campaigns.models import Campaign
from messaging.content.models import MessageTemplate
from messaging.numbers.models import Sender


class AnalyticsFilterForm(forms.Form):
    """The analytics scope: a date range in the workspace's time zone and optional filters.
    Choices are limited to the workspace, so another tenant's id is a form error."""

    date_from = forms.DateField(label=pgettext_lazy("date range", "From"), widget=LocalDateInput())
    date_to = forms.DateField(label=pgettext_lazy("date range", "To"), widget=LocalDateInput())
    sender: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        label=_("Number"), queryset=None, required=False, to_field_name="public_id"
    )
    campaign: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        label=_("Campaign"), queryset=None, required=False, to_field_name="public_id"
    )
    template: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        label=_("Template"), queryset=None, required=False, to_field_name="public_id"
    )

    def __init__(self, *args: Any, workspace: Workspace, **kwargs: Any) -> None:

        super().__init__(*args, **kwargs)
        choices: dict[str, QuerySet[Any]] = {
            "sender": Sender.objects.for_workspace(workspace).order_by("id"),
            "campaign": Campaign.objects.for_workspace(workspace).order_by("-created_at"),
            "template": MessageTemplate.objects.for_workspace(workspace).order_by(by_name()),
        }
        for name, queryset in choices.items():
            field = self.fields[name]
            assert isinstance(field, forms.ModelChoiceField)
            field.queryset = queryset
            field.empty_label = _("All")
            field.widget.attrs["class"] = "form-select"
        for name in ("date_from", "date_to"):
            self.fields[name].widget.attrs["class"] = "form-control"

    def clean(self) -> dict[str, Any]:

        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end:
            if start > end:
                self.add_error("date_to", _("The end date is before the start date."))
            elif (end - start).days >= MAX_RANGE_DAYS:
                self.add_error("date_to", _("Choose at most %(n)d days.") % {"n": MAX_RANGE_DAYS})
        return data
