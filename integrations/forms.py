"""Dashboard forms for webhook endpoints (fields only; the rules live in services)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from integrations.models import ALL_EVENTS, EventType


class WebhookEndpointForm(forms.Form):
    url = forms.URLField(label=_("Endpoint URL"), max_length=500, assume_scheme="https")
    description = forms.CharField(label=_("Description"), max_length=200, required=False)
    all_events = forms.BooleanField(
        label=_("All events"),
        required=False,
        help_text=_("Including event types added later."),
    )
    event_types = forms.MultipleChoiceField(
        label=_("Event types"),
        choices=EventType.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    @classmethod
    def initial_for(cls, endpoint: Any) -> dict[str, Any]:
        return {
            "url": endpoint.url,
            "description": endpoint.description,
            "all_events": ALL_EVENTS in endpoint.event_types,
            "event_types": [t for t in endpoint.event_types if t != ALL_EVENTS],
        }

    def chosen_event_types(self) -> list[str]:
        if self.cleaned_data.get("all_events"):
            return [ALL_EVENTS]
        return list(self.cleaned_data.get("event_types") or [])
