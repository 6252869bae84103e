"""Support desk forms: input shape only. Rules (sizes, types, statuses) live in
`support.services`."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from core.forms import BootstrapForm
from privacy.models import DataRequest
from support.models import MAX_MESSAGE_CHARS, Ticket
from support.services import ACCEPTED_TYPES_TEXT, MAX_ATTACHMENTS_PER_MESSAGE


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input (Django's documented recipe); an empty list when none."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> Any:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(d, initial) for d in data if d]
        return [single(data, initial)] if data else []


def _attachments_field() -> MultipleFileField:
    return MultipleFileField(
        label=_("Attachments"),
        help_text=_("Up to %(n)s files: %(types)s.")
        % {"n": MAX_ATTACHMENTS_PER_MESSAGE, "types": ACCEPTED_TYPES_TEXT},
    )


class TicketForm(BootstrapForm):
    subject = forms.CharField(label=_("Subject"), max_length=200)
    category = forms.ChoiceField(label=_("Category"), choices=Ticket.Category.choices)
    body = forms.CharField(
        label=_("Message"),
        max_length=MAX_MESSAGE_CHARS,
        widget=forms.Textarea(attrs={"rows": 6}),
    )
    attachments = _attachments_field()


class ReplyForm(BootstrapForm):
    body = forms.CharField(
        label=_("Your reply"),
        max_length=MAX_MESSAGE_CHARS,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    attachments = _attachments_field()


class StaffReplyForm(BootstrapForm):
    body = forms.CharField(
        label=_("Message"),
        max_length=MAX_MESSAGE_CHARS,
        widget=forms.Textarea(attrs={"rows": 5}),
    )
    internal = forms.BooleanField(
        label=_("Internal note (staff only; the customer is not told)"), required=False
    )
    attachments = _attachments_field()


class StaffUpdateForm(BootstrapForm):
    status = forms.ChoiceField(label=_("Status"), choices=Ticket.Status.choices)
    assignee: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        label=_("Assignee"), queryset=None, required=False, empty_label=_("Nobody")
    )

    def __init__(self, *args: Any, assignees: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = assignees  # type: ignore[attr-defined]


class DataRequestForm(BootstrapForm):
    kind = forms.ChoiceField(
        label=_("Kind of request"), choices=DataRequest.Kind.choices, initial="access"
    )
